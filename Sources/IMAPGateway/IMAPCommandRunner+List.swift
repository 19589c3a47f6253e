import IMAPCodec
import MailCore
import RPCProtocol

/// LIST (RFC 3501 §6.3.8) with RFC 5258's extensions (selection and return options, several
/// patterns, `\NonExistent`, `\Subscribed`, CHILDINFO), RFC 5819's STATUS return option and
/// RFC 6154's special uses; and LSUB (§6.3.9). One `mailbox.list` call answers each, counters
/// included when STATUS is asked for.
extension IMAPCommandRunner {
    func list(_ command: IMAPListCommand, into out: inout ResponseWriter) async throws -> IMAPCompletion {
        guard let reference = naming.decode(command.reference) else {
            throw IMAPCommandError(.bad, "invalid mailbox name encoding in the reference")
        }
        var patterns: [String] = []
        for raw in command.patterns {
            guard let pattern = naming.decode(raw) else { throw IMAPCommandError(.bad, "invalid mailbox name encoding") }
            patterns.append(pattern)
        }
        if !command.extended, patterns == [""] {
            // §6.3.8: the hierarchy delimiter and the root of the reference. RFC 5258 §3: an
            // extended LIST treats "" as a pattern that matches nothing.
            let root = reference.hasPrefix("/") ? "/" : ""
            out.line("* LIST (\\Noselect) \"/\" \(quotedMailbox(root))")
            return IMAPCompletion(.ok, "LIST completed")
        }
        let matchers = patterns.filter { !$0.isEmpty }.map { MailboxPattern(Self.canonical(reference: reference, pattern: $0)) }
        let selection = command.selection
        let returns = command.returns
        let mailboxes = try await client.call(
            Methods.mailboxList,
            MailboxListParams(
                session: token, status: returns.status == nil ? nil : true,
                deleted: returns.status.map(Self.needsDeleted) == true ? true : nil)
        ).mailboxes
        var subscribed = Set<String>()
        if returns.subscribed {
            subscribed = Set(try await client.call(Methods.mailboxSubscriptions, SessionParams(session: token)).names)
        }
        let tree = MailboxTree(mailboxes, subscribed: subscribed)
        func selected(_ name: String) -> Bool {
            if selection.contains(.subscribed), !subscribed.contains(name) { return false }
            if selection.contains(.specialUse), tree.existing[name]?.specialUse == nil { return false }
            return selection.contains(.subscribed) || tree.existing[name] != nil
        }
        let recursive = selection.contains(.recursiveMatch)
        var candidates = selection.contains(.subscribed) ? subscribed : Set(tree.existing.keys)
        let chosen = MailboxTree.Names(candidates.filter(selected))
        if recursive {
            // §3.5: a parent is listed for a selected descendant that the patterns miss.
            for name in chosen.sorted { candidates.formUnion(MailboxTree.ancestors(of: name)) }
        }
        for name in candidates.sorted(by: MailboxTree.precedes) where matchers.contains(where: { $0.matches(name) }) {
            let isSelected = selected(name)
            let selectedBelow = recursive ? chosen.descendants(of: name) : []
            if !isSelected {
                // §3.3 rule 2B, and §3.5: only for a descendant this LIST does not show anyway.
                guard selectedBelow.contains(where: { descendant in !matchers.contains { $0.matches(descendant) } }) else { continue }
            }
            var line = "* LIST (\(tree.attributes(of: name, subscribedReturned: returns.subscribed).joined(separator: " "))) \"/\" "
            line += quotedMailbox(name)
            if !selectedBelow.isEmpty { line += " (\"CHILDINFO\" (\"SUBSCRIBED\"))" }
            out.line(line)
            if let items = returns.status, let status = tree.existing[name]?.status {
                out.line(statusLine(name, status, items))
            }
            await emit(&out)
        }
        return IMAPCompletion(.ok, "LIST completed")
    }

    /// §6.3.8: the pattern is interpreted relative to the reference, unless it is absolute.
    static func canonical(reference: String, pattern: String) -> String {
        if reference.isEmpty || pattern.hasPrefix("/") { return pattern }
        return reference.hasSuffix("/") ? reference + pattern : reference + "/" + pattern
    }

    func lsub(reference: [UInt8], pattern: [UInt8], into out: inout ResponseWriter) async throws -> IMAPCompletion {
        guard let reference = naming.decode(reference), let pattern = naming.decode(pattern) else {
            throw IMAPCommandError(.bad, "invalid mailbox name encoding")
        }
        let matcher = MailboxPattern(Self.canonical(reference: reference, pattern: pattern))
        let names = Set(try await client.call(Methods.mailboxList, MailboxListParams(session: token)).mailboxes.map(\.name))
        let subscribed = try await client.call(Methods.mailboxSubscriptions, SessionParams(session: token)).names
        var shown = Set<String>()
        for name in subscribed.sorted() {
            if matcher.matches(name) {
                shown.insert(name)
                let attributes = names.contains(name) ? "" : "\\Noselect"
                out.line("* LSUB (\(attributes)) \"/\" \(quotedMailbox(name))")
            } else if let parent = matcher.matchingParent(of: name), !shown.contains(parent), !subscribed.contains(parent) {
                // §6.3.9: with `%`, a level above a subscribed name is shown as \Noselect.
                shown.insert(parent)
                out.line("* LSUB (\\Noselect) \"/\" \(quotedMailbox(parent))")
            }
            await emit(&out)
        }
        return IMAPCompletion(.ok, "LSUB completed")
    }
}

/// The account's mailboxes as LIST needs them: by name, and in an order where every name's
/// descendants follow it in one run, so "has children" is a binary search, not a scan.
struct MailboxTree {
    let existing: [String: MailboxInfo]
    let subscribed: Set<String>
    let names: Names

    init(_ mailboxes: [MailboxInfo], subscribed: Set<String>) {
        var existing: [String: MailboxInfo] = [:]
        for box in mailboxes { existing[box.name] = box }
        self.existing = existing
        self.subscribed = subscribed
        self.names = Names(existing.keys)
    }

    /// "A/B/C" → "A", "A/B".
    static func ancestors(of name: String) -> [String] {
        var result: [String] = []
        var index = name.startIndex
        while let slash = name[index...].firstIndex(of: "/") {
            if slash > name.startIndex { result.append(String(name[..<slash])) }
            index = name.index(after: slash)
        }
        return result
    }

    /// Byte order of the UTF-8: all names that begin with "A/" are then adjacent.
    static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// Names sorted by `precedes`.
    struct Names {
        let sorted: [String]
        init(_ names: some Sequence<String>) { sorted = names.sorted(by: MailboxTree.precedes) }

        /// The names below `name` (not `name` itself).
        func descendants(of name: String) -> ArraySlice<String> {
            let prefix = name + "/"
            var low = 0
            var high = sorted.count
            while low < high {
                let middle = (low + high) / 2
                if MailboxTree.precedes(sorted[middle], prefix) { low = middle + 1 } else { high = middle }
            }
            var end = low
            while end < sorted.count, sorted[end].utf8.starts(with: prefix.utf8) { end += 1 }
            return sorted[low..<end]
        }
    }

    /// RFC 5258 §3 and §4, RFC 6154 §2: `\NonExistent` (which implies `\Noselect`) for a name
    /// without a mailbox, `\Noselect` for a name kept only for its children, the children
    /// attribute, `\Subscribed` when asked for, and the special uses.
    func attributes(of name: String, subscribedReturned: Bool) -> [String] {
        var attributes: [String] = []
        let box = existing[name]
        if box == nil {
            attributes.append("\\NonExistent")
        } else if box?.noselect == true {
            attributes.append("\\Noselect")
        }
        attributes.append(names.descendants(of: name).isEmpty ? "\\HasNoChildren" : "\\HasChildren")
        if subscribedReturned, subscribed.contains(name) { attributes.append("\\Subscribed") }
        if let uses = box?.specialUse { attributes.append(uses) }
        return attributes
    }
}
