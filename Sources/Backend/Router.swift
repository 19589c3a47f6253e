import MailCore
import Storage

/// Where one envelope recipient's mail ends up after aliases, groups and forwarding are
/// followed. Pure logic over a lookup function, so the rules are testable without a database.
struct Route: Equatable, Sendable {
    /// Local accounts to store a copy for (each at most once).
    var accounts: [AccountRecord] = []
    /// Remote addresses to queue a copy for (each at most once).
    var remote: [String] = []
    /// Why nothing was found, when both lists are empty.
    var failure: Failure?

    enum Failure: Equatable, Sendable {
        case noSuchUser
        case disabled
        case loop
        case relayDenied
    }

    var isEmpty: Bool { accounts.isEmpty && remote.isEmpty }
}

/// The routing rules, in order:
/// 1. A recipient in a remote domain is queued — if the sender may relay.
/// 2. An account gets the mail, unless it forwards without keeping a copy; a forwarding
///    address is followed like a recipient of its own.
/// 3. An alias delivers to each of its targets; a group to each of its members.
/// 4. An unknown `user+tag@domain` falls back to `user@domain` (sub-addressing).
/// Expansion stops at `maxDepth` levels; an address already on the current path is a loop and
/// is skipped. Duplicates across the whole expansion collapse to one copy.
struct Router {
    static let maxDepth = 10
    /// Addresses one recipient may expand to, at most (a group of groups cannot explode).
    static let maxExpansion = 10_000

    let isLocalDomain: (String) throws -> Bool
    let lookup: (String) throws -> LocalAddress
    /// The original sender of an SRS address this server wrote (`SRS`), or nil: a bounce to
    /// one goes back to that sender.
    var reverseSRS: (String) -> String? = { _ in nil }

    func route(_ recipient: String, mayRelay: Bool) throws -> Route {
        var route = Route()
        var seenAccounts = Set<Int64>()
        var seenRemote = Set<String>()
        var sawLoop = false
        var sawDisabled = false
        var expanded = 0

        func visit(_ address: String, path: [String], external: Bool) throws {
            expanded += 1
            guard expanded <= Self.maxExpansion else { return }
            guard let parsed = EmailAddress(address) else { return }
            let canonical = parsed.canonical
            if path.contains(canonical) || path.count >= Self.maxDepth {
                sawLoop = true
                return
            }
            guard try isLocalDomain(parsed.domain.name) else {
                // Forwarding and alias targets are the operator's choices, so they may go out
                // whatever the sender's rights; a bare remote recipient needs them.
                if !external || mayRelay {
                    if seenRemote.insert(canonical).inserted { route.remote.append(parsed.description) }
                } else {
                    route.failure = .relayDenied
                }
                return
            }
            if parsed.localPart.count > 5, parsed.localPart.prefix(5).uppercased() == "SRS0=", let original = reverseSRS(address) {
                // Mail to an address SRS made for forwarded mail (a bounce): the system sends
                // it on to the original sender, whatever the client's rights.
                if let back = EmailAddress(original), seenRemote.insert(back.canonical).inserted {
                    if try isLocalDomain(back.domain.name) {
                        try visit(back.description, path: path + [canonical], external: false)
                    } else {
                        route.remote.append(back.description)
                    }
                }
                return
            }
            var found = try lookup(canonical)
            if case .none = found, let plus = parsed.localPart.firstIndex(of: "+"), plus != parsed.localPart.startIndex {
                found = try lookup("\(parsed.localPart[..<plus].lowercased())@\(parsed.domain.name)")
            }
            let next = path + [canonical]
            switch found {
            case .account(let account):
                guard account.enabled else {
                    sawDisabled = true
                    return
                }
                let forward = account.forwardTo.flatMap { $0.isEmpty ? nil : $0 }
                if forward == nil || account.forwardKeepCopy {
                    if seenAccounts.insert(account.id).inserted { route.accounts.append(account) }
                }
                if let forward { try visit(forward, path: next, external: false) }
            case .alias(let targets):
                for t in targets { try visit(t, path: next, external: false) }
            case .group(let members):
                for m in members { try visit(m, path: next, external: false) }
            case .none:
                if path.isEmpty { route.failure = .noSuchUser }
            }
        }

        try visit(recipient, path: [], external: true)
        if route.isEmpty && route.failure == nil {
            route.failure = sawLoop ? .loop : (sawDisabled ? .disabled : .noSuchUser)
        }
        return route
    }
}
