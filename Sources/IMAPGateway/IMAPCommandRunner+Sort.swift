import IMAPCodec
import MailCore
import RPCProtocol

/// SORT and THREAD (RFC 5256): the search and the order are the back-end's (`message.sort`,
/// `message.thread`); the gateway turns UIDs into the session's numbers and writes the answer.
extension IMAPCommandRunner {
    func sort(
        _ criteria: [IMAPSortCriterion], charset: String, key: IMAPSearchKey, uid: Bool, into out: inout ResponseWriter
    ) async throws -> IMAPCompletion {
        let current = try requireSelected()
        try Self.checkCharset(charset)
        let query = try translate(key, view: current.view)
        // The RPC names the keys as RFC 5256 does, in lower case.
        let keys = try criteria.map { criterion -> MessageSortParams.Key in
            guard let name = MessageSortParams.Key.Name(rawValue: criterion.key.rawValue.lowercased()) else {
                throw IMAPCommandError(.bad, "unsupported sort key")
            }
            return MessageSortParams.Key(name, reverse: criterion.reverse)
        }
        var line = "* SORT"
        var offset = 0
        while true {
            let page = try await client.call(
                Methods.messageSort, MessageSortParams(session: token, mailbox: current.name, keys: keys, query: query, offset: offset))
            for found in page.uids {
                // Only messages the client knows of (new arrivals are announced first).
                guard let seq = current.view.sequenceNumber(of: found) else { continue }
                line += " "
                line += uid ? String(found) : String(seq)
                if line.utf8.count > 64 << 10 {
                    out.text(line)
                    line = ""
                    await emit(&out)
                }
            }
            offset += page.uids.count
            if page.uids.isEmpty || offset >= page.total { break }
        }
        out.line(line)
        return IMAPCompletion(.ok, "SORT completed")
    }

    /// The algorithms advertised as THREAD=….
    static let threadAlgorithms = ["ORDEREDSUBJECT": MessageThreadParams.Algorithm.orderedSubject, "REFERENCES": .references]

    func thread(
        _ algorithm: String, charset: String, key: IMAPSearchKey, uid: Bool, into out: inout ResponseWriter
    ) async throws -> IMAPCompletion {
        let current = try requireSelected()
        guard let chosen = Self.threadAlgorithms[algorithm] else { throw IMAPCommandError(.bad, "unknown threading algorithm") }
        try Self.checkCharset(charset)
        let query = try translate(key, view: current.view)
        out.text("* THREAD")
        var first = true
        var offset: Int? = 0
        while let start = offset {
            let page = try await client.call(
                Methods.messageThread,
                MessageThreadParams(session: token, mailbox: current.name, algorithm: chosen, query: query, offset: start))
            let numbers = page.uids.map { found -> UInt32 in
                guard found != 0, let seq = current.view.sequenceNumber(of: found) else { return 0 }
                return uid ? found : UInt32(seq)
            }
            var text = ""
            Self.renderThreads(numbers, depths: page.depths, into: &text)
            if !text.isEmpty {
                out.text(first ? " " + text : text)
                first = false
            }
            await emit(&out)
            offset = page.nextOffset
        }
        out.line("")
        return IMAPCompletion(.ok, "THREAD completed")
    }

    static func checkCharset(_ charset: String) throws {
        guard searchCharsets.contains(charset.uppercased()) else {
            throw IMAPCommandError(.no, code: "BADCHARSET (\(searchCharsets.joined(separator: " ")))", "unsupported charset")
        }
    }

    /// RFC 5256 §4 `thread-list`s from the nodes in pre-order (0: no message there):
    ///
    ///     thread-list     = "(" (thread-members / thread-nested) ")"
    ///     thread-members  = nz-number *(SP nz-number) [SP thread-nested]
    ///     thread-nested   = 2*thread-list
    ///
    /// A message with one child continues its list; with several, each child is a list of its
    /// own; a placeholder writes no number. With an explicit stack: a thread can be deep.
    static func renderThreads(_ numbers: [UInt32], depths: [Int], into text: inout String) {
        guard numbers.count == depths.count, !numbers.isEmpty else { return }
        var children = [[Int]](repeating: [], count: numbers.count)
        var roots: [Int] = []
        var path: [Int] = []
        for (index, depth) in depths.enumerated() {
            while path.count > depth { path.removeLast() }
            if let parent = path.last { children[parent].append(index) } else { roots.append(index) }
            path.append(index)
        }
        enum Item {
            case text(String)
            case node(Int, continuing: Bool)
        }
        for root in roots {
            var stack: [Item] = [.text(")"), .node(root, continuing: false), .text("(")]
            while let item = stack.popLast() {
                switch item {
                case .text(let part): text += part
                case .node(let index, let continuing):
                    let number = numbers[index]
                    let kids = children[index]
                    if number != 0 { text += continuing ? " \(number)" : "\(number)" }
                    if kids.count == 1 {
                        stack.append(.node(kids[0], continuing: number != 0 || continuing))
                    } else if kids.count > 1 {
                        if number != 0 { stack.append(.text("")) }
                        for kid in kids.reversed() {
                            stack.append(.text(")"))
                            stack.append(.node(kid, continuing: false))
                            stack.append(.text("("))
                        }
                        if number != 0 { stack.append(.text(" ")) }
                    }
                }
            }
        }
    }
}
