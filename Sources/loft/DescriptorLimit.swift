#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Every connection is a descriptor: a gateway holding 10,000 idle IMAP sessions needs more
/// than the 1,024 many systems give a process by default. A process may raise its own soft
/// limit up to the hard limit the administrator (or systemd's LimitNOFILE) allows, as nginx's
/// `worker_rlimit_nofile` and Dovecot's master do; Loft does so at start, once.
enum DescriptorLimit {
    /// Raises the soft limit to the hard one and returns the limit now in force.
    @discardableResult
    static func raise() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            // Darwin refuses RLIM_INFINITY for descriptors: at most OPEN_MAX there.
            #if canImport(Darwin)
                raised.rlim_cur = min(limit.rlim_max, rlim_t(OPEN_MAX))
            #else
                raised.rlim_cur = limit.rlim_max
            #endif
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }
}
