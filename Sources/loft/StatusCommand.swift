import ArgumentParser
import Foundation
import LoftConfig
import MailCore
import RPCProtocol
import SwiftASN1
import X509

/// `loft status`: what runs, how big the store and the queue are, and what needs the
/// administrator, from three sources: `loft serve`'s `serve-status.json` (its children and
/// their restarts), the back-end's `server.status`, and a connection to every configured
/// listener. Exit status 1 when anything needs attention, so a monitor can run it.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Say what is running, the store's and the queue's size, and any problem.",
        discussion: """
            Exits with status 1 when something needs attention: a gateway stopped or
            restarting, a listener nobody answers on, the back-end unreachable, disk space
            running low, a TLS certificate expired or expiring within 14 days.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let config = try global.load()
        let dir = config.dataDirectory
        let serve = ServeStatus.read(dataDirectory: dir)
        var backend: ServerStatusResult?
        var backendError: String?
        do {
            backend = try await AdminConnection(global).call(Methods.serverStatus, Empty())
        } catch {
            backendError = "\(error)"
        }
        let listeners = StatusReport.listeners(config).map { listener in
            var probed = listener
            probed.listening = PortProbe.accepts(host: listener.address, port: listener.port)
            return probed
        }
        let files = (config.tls.certificate.isEmpty && config.tls.key.isEmpty) ? dir + "/tls/cert.pem" : config.tls.certificate
        let report = StatusReport(
            serve: serve, serveRunning: serve?.isAlive ?? false, backend: backend, backendError: backendError,
            listeners: listeners, certificate: CertificateStatus.read(path: files), now: Date())
        if output.json { try printJSON(report) } else { print(report.text(now: Date()), terminator: "") }
        if !report.ok { throw ExitCode(1) }
    }
}

/// The report, put together without touching the system (tested as a table).
struct StatusReport: Encodable {
    var ok: Bool
    var problems: [String]
    /// `loft serve` and its children; nil when it is not running.
    var serve: ServeStatus?
    var backend: ServerStatusResult?
    var listeners: [ListenerStatus]
    var certificate: CertificateStatus?

    /// A certificate closer than this to its end is a problem (renewal failed, most likely).
    static let certificateWarningDays = 14

    init(
        serve: ServeStatus?, serveRunning: Bool, backend: ServerStatusResult?, backendError: String?,
        listeners: [ListenerStatus], certificate: CertificateStatus?, now: Date
    ) {
        let running = serveRunning ? serve : nil
        var problems: [String] = []
        if let serve, !serveRunning {
            problems.append("loft serve (pid \(serve.pid)) is gone without stopping its children: it was killed or crashed")
        } else if serve == nil && backend == nil {
            problems.append("loft serve is not running")
        }
        if backend == nil {
            problems.append("the back-end cannot be reached: \(backendError ?? "no answer")")
        }
        for child in running?.children ?? [] {
            let exit = child.lastExit.map { " (last exit: \($0))" } ?? ""
            switch child.state {
            case .running: break
            case .restarting: problems.append("\(child.name) exited\(exit) and is being restarted")
            case .stopped: problems.append("\(child.name) is stopped\(exit): loft serve gave up on it; its log says why")
            }
        }
        // A listener is expected to answer only while something runs that should serve it.
        if running != nil || backend != nil {
            for l in listeners where l.listening == false {
                problems.append("\(l.gateway): nothing answers on \(l.address):\(l.port)")
            }
        }
        // Before the first start there is no certificate yet; that is not a problem of its own.
        if let certificate, certificate.error == nil || running != nil || backend != nil {
            let days = certificate.daysLeft(now: now)
            if let error = certificate.error {
                problems.append("TLS certificate \(certificate.path): \(error)")
            } else if days < 0 {
                problems.append("TLS certificate \(certificate.path) expired \(-days) days ago")
            } else if days < Self.certificateWarningDays {
                problems.append("TLS certificate \(certificate.path) expires in \(days) days")
            }
        }
        problems += backend?.problems ?? []
        self.ok = problems.isEmpty
        self.problems = problems
        self.serve = running
        self.backend = backend
        self.listeners = listeners
        self.certificate = certificate
    }

    /// Every listener of the gateways `loft serve` is configured to start.
    static func listeners(_ config: LoftConfig) -> [ListenerStatus] {
        config.serve.gateways.flatMap { gateway -> [ListenerStatus] in
            switch gateway {
            case "smtp":
                config.smtp.listeners.map {
                    ListenerStatus(gateway: gateway, address: $0.address, port: $0.port, tls: $0.tls, mode: $0.mode)
                }
            case "pop3": config.pop3.listeners.map { ListenerStatus(gateway: gateway, address: $0.address, port: $0.port, tls: $0.tls) }
            case "imap": config.imap.listeners.map { ListenerStatus(gateway: gateway, address: $0.address, port: $0.port, tls: $0.tls) }
            case "ldap": config.ldap.listeners.map { ListenerStatus(gateway: gateway, address: $0.address, port: $0.port, tls: $0.tls) }
            default: []
            }
        }
    }

    func text(now: Date) -> String {
        var out = ok ? "Loft: all is well\n" : "Loft: \(problems.count) problem\(problems.count == 1 ? "" : "s")\n"
        for problem in problems { out += "  ! \(problem)\n" }
        let seconds = Int64(now.timeIntervalSince1970)
        if let serve {
            out += "\nloft serve   pid \(serve.pid), up \(Self.span(seconds - serve.startedAt))\n"
            for child in serve.children {
                var line = "  \(child.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(child.state.rawValue)"
                if let pid = child.pid { line += ", pid \(pid), up \(Self.span(seconds - child.startedAt))" }
                line += ", \(child.restarts) restart\(child.restarts == 1 ? "" : "s")"
                if let exit = child.lastExit, let at = child.lastExitAt { line += " (last exit: \(exit), \(Self.span(seconds - at)) ago)" }
                out += line + "\n"
                for l in listeners where l.gateway == child.name {
                    let mode = l.mode.map { " \($0)" } ?? ""
                    out += "               \(l.address):\(l.port) \(l.tls)\(mode)  \(l.listening == true ? "listening" : "NOT LISTENING")\n"
                }
            }
        }
        if let b = backend {
            out += "\nback-end     pid \(b.pid), up \(Self.span(seconds - b.startedAt))\n"
            out += "store        \(b.domains) domains, \(b.accounts) accounts, \(b.messages) messages "
            out += "(\(ByteSize.approximate(b.messageBytes)) charged to accounts)\n"
            out += "             \(b.bodies) bodies, \(ByteSize.approximate(b.bodyBytes)) (\(b.fileBodies) as files, "
            out += "\(ByteSize.approximate(b.fileBodyBytes))); database \(ByteSize.approximate(b.databaseBytes))\n"
            if let free = b.freeBytes {
                out +=
                    "disk         \(ByteSize.approximate(free)) free (new mail is refused below \(ByteSize.approximate(b.minFreeBytes)))\n"
            }
            out += "max message  \(ByteSize.format(b.maxMessageBytes))\n"
            let q = b.queue
            out += "queue        \(q.messages) message\(q.messages == 1 ? "" : "s"), \(q.recipients) recipients waiting"
            out += " (\(q.deferred) deferred, \(q.leased) being delivered)"
            if let oldest = q.oldestAt { out += ", oldest from \(Self.span(seconds - oldest)) ago" }
            if let next = q.nextDueAt { out += ", next attempt \(next <= seconds ? "now" : "in \(Self.span(next - seconds))")" }
            out += "\n"
        }
        if let c = certificate, c.error == nil {
            let kind = c.selfSigned ? "self-signed, " : ""
            out += "certificate  \(c.path): \(kind)\(c.subject), valid \(c.daysLeft(now: now)) more days\n"
        }
        return out
    }

    /// 0 → "0s", 3720 → "1h 2m", 200000 → "2d 7h".
    static func span(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        switch s {
        case ..<60: return "\(s)s"
        case ..<3600: return "\(s / 60)m"
        case ..<86_400: return "\(s / 3600)h \(s % 3600 / 60)m"
        default: return "\(s / 86_400)d \(s % 86_400 / 3600)h"
        }
    }
}

struct ListenerStatus: Codable, Equatable {
    var gateway: String
    var address: String
    var port: Int
    var tls: String
    /// SMTP's `mx` or `submission`.
    var mode: String?
    /// nil until probed.
    var listening: Bool?
}

/// The certificate the TLS listeners serve: the first in its PEM file.
struct CertificateStatus: Codable, Equatable {
    var path: String
    var subject: String = ""
    var selfSigned = false
    /// Seconds since 1970.
    var notAfter: Int64 = 0
    /// Why it could not be read.
    var error: String?

    func daysLeft(now: Date) -> Int {
        Int(((Double(notAfter) - now.timeIntervalSince1970) / 86_400).rounded(.down))
    }

    static func read(path: String) -> CertificateStatus {
        guard let data = FileManager.default.contents(atPath: path) else {
            return CertificateStatus(path: path, error: "cannot be read")
        }
        do {
            // A chain file (fullchain.pem) holds several: the leaf comes first.
            let documents = try PEMDocument.parseMultiple(pemString: String(decoding: data, as: UTF8.self))
            guard let leaf = documents.first(where: { $0.discriminator == "CERTIFICATE" }) else {
                return CertificateStatus(path: path, error: "no certificate in the file")
            }
            let certificate = try Certificate(pemDocument: leaf)
            return CertificateStatus(
                path: path, subject: certificate.subject.description, selfSigned: certificate.subject == certificate.issuer,
                notAfter: Int64(certificate.notValidAfter.timeIntervalSince1970))
        } catch {
            return CertificateStatus(path: path, error: "not a PEM certificate (\(error))")
        }
    }
}

/// Whether something accepts a TCP connection: what `loft status` asks of each listener. A
/// wildcard address is tried on loopback. Written with the socket calls because it only
/// connects and closes (nothing is sent), within `timeoutMs`.
enum PortProbe {
    static func accepts(host: String, port: Int, timeoutMs: Int32 = 1000) -> Bool {
        let target = host.isEmpty || host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target, String(port), &hints, &list) == 0 else { return false }
        defer { freeaddrinfo(list) }
        var next = list
        while let entry = next {
            next = entry.pointee.ai_next
            let fd = socket(entry.pointee.ai_family, entry.pointee.ai_socktype, entry.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if connect(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0 { return true }
            guard errno == EINPROGRESS else { continue }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&p, 1, timeoutMs) == 1 else { continue }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0 { return true }
        }
        return false
    }
}
