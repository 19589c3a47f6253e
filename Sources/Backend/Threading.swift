import MailCore
import RPCProtocol

/// RFC 5256 SORT and THREAD over a mailbox's messages, pure: the rows come from the store with
/// their keys, the answer is UIDs. Every walk over a thread tree uses an explicit stack, so a
/// reply chain thousands of messages deep costs no recursion.
struct Threading {
    struct Message {
        var uid: UInt32
        /// Its sequence number order: the implicit last sort criterion (§3).
        var seq: Int
        var internalDate: Int64
        var size: Int64
        var keys: SortKeys

        /// §2.2: the sent date, or the internal date when there is none.
        var date: Int64 { keys.sentDate ?? internalDate }
    }

    let messages: [Message]

    // MARK: SORT (§3)

    /// The messages in the order of `criteria`, ties broken by sequence number.
    func sorted(by criteria: [(key: MessageSortParams.Key.Name, reverse: Bool)]) -> [UInt32] {
        // Each key becomes one integer per message first (a string key its rank among the
        // distinct values), so that the n log n comparisons compare integers, never copy a
        // message or walk a string.
        let ranks = criteria.map { criterion in
            let values = Self.ranks(criterion.key, messages)
            return criterion.reverse ? values.map { -$0 } : values
        }
        let order = messages.indices.sorted { a, b in
            for values in ranks where values[a] != values[b] { return values[a] < values[b] }
            return messages[a].seq < messages[b].seq
        }
        return order.map { messages[$0].uid }
    }

    /// One integer per message whose order is the key's RFC 5256 §3 order. Strings are kept
    /// case-folded: their UTF-8 order is the collation, and "" sorts first.
    static func ranks(_ key: MessageSortParams.Key.Name, _ messages: [Message]) -> [Int64] {
        func text(_ value: (Message) -> String) -> [Int64] {
            let strings = messages.map(value)
            let distinct = Set(strings).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            var rank: [String: Int64] = [:]
            rank.reserveCapacity(distinct.count)
            for (i, string) in distinct.enumerated() { rank[string] = Int64(i) }
            return strings.map { rank[$0]! }
        }
        switch key {
        case .arrival: return messages.map(\.internalDate)
        case .date: return messages.map(\.date)
        case .size: return messages.map(\.size)
        case .subject: return text(\.keys.baseSubject)
        case .from: return text(\.keys.from)
        case .to: return text(\.keys.to)
        case .cc: return text(\.keys.cc)
        }
    }

    // MARK: THREAD

    /// A thread tree in pre-order: (message index or nil for a placeholder, depth).
    typealias Forest = [[(message: Int?, depth: Int)]]

    /// ORDEREDSUBJECT (§3): by base subject, then sent date; one thread per subject, its
    /// first message the root and the others its children; threads by their first's date.
    func orderedSubject() -> Forest {
        let subjects = Self.ranks(.subject, messages)
        let dates = messages.map(\.date)
        let order = messages.indices.sorted { a, b in
            if subjects[a] != subjects[b] { return subjects[a] < subjects[b] }
            if dates[a] != dates[b] { return dates[a] < dates[b] }
            return messages[a].seq < messages[b].seq
        }
        var threads: [[Int]] = []
        for index in order {
            if let last = threads.last?.first, subjects[last] == subjects[index] {
                threads[threads.count - 1].append(index)
            } else {
                threads.append([index])
            }
        }
        threads.sort { a, b in earlier(a[0], b[0]) }
        return threads.map { thread in thread.enumerated().map { ($1, $0 == 0 ? 0 : 1) } }
    }

    func earlier(_ a: Int, _ b: Int) -> Bool {
        let x = messages[a].date
        let y = messages[b].date
        return x != y ? x < y : messages[a].seq < messages[b].seq
    }

    /// REFERENCES (§3, steps 1 to 6).
    func references() -> Forest {
        var tree = Tree()
        var byID: [String: Int] = [:]
        // (1) Link each message's references, then the message to the last of them.
        for (index, message) in messages.enumerated() {
            let node: Int
            if let id = message.keys.messageID, let existing = byID[id], tree.nodes[existing].message == nil {
                node = existing
                tree.nodes[existing].message = index
            } else {
                // No Message-ID, or one a message earlier in the mailbox has: a unique one.
                node = tree.add(message: index)
                if let id = message.keys.messageID, byID[id] == nil { byID[id] = node }
            }
            var previous: Int?
            for reference in message.keys.references {
                let container: Int
                if let found = byID[reference] {
                    container = found
                } else {
                    container = tree.add(message: nil)
                    byID[reference] = container
                }
                if let parent = previous, tree.nodes[container].parent == nil, parent != container,
                    !tree.isAncestor(container, of: parent)
                {
                    tree.link(container, to: parent)
                }
                previous = container
            }
            tree.unlink(node)
            if let parent = previous, parent != node, !tree.isAncestor(node, of: parent) { tree.link(node, to: parent) }
        }
        // (2) The roots; (3) placeholders pruned.
        var roots = tree.nodes.indices.filter { tree.nodes[$0].parent == nil }
        tree.prune(&roots)
        // (4) Roots by date (a placeholder by its earliest child).
        for root in roots where tree.nodes[root].message == nil { tree.sortChildren(root, by: earlier) }
        roots.sort { tree.earlier($0, $1, by: earlier) }
        // (5) Threads of the same base subject merged.
        mergeBySubject(&tree, &roots)
        // (6) Every set of siblings by date, the deepest first.
        for node in tree.postOrder(roots) { tree.sortChildren(node, by: earlier) }
        roots.sort { tree.earlier($0, $1, by: earlier) }
        return roots.map { tree.preOrder($0) }
    }

    /// Step 5: the subject table, then the merges.
    func mergeBySubject(_ tree: inout Tree, _ roots: inout [Int]) {
        func subject(_ root: Int) -> String {
            let message = tree.nodes[root].message ?? tree.nodes[root].children.first.flatMap { tree.nodes[$0].message }
            return message.map { messages[$0].keys.baseSubject } ?? ""
        }
        func isReply(_ node: Int) -> Bool { tree.nodes[node].message.map { messages[$0].keys.isReplyOrForward } ?? false }
        var table: [String: Int] = [:]
        for root in roots {
            let name = subject(root)
            guard !name.isEmpty else { continue }
            guard let held = table[name] else {
                table[name] = root
                continue
            }
            if tree.nodes[held].message != nil, tree.nodes[root].message == nil || (isReply(held) && !isReply(root)) {
                table[name] = root
            }
        }
        var deleted = Set<Int>()
        var added: [Int] = []
        for root in roots {
            // Moved under a placeholder by an earlier merge: no longer a root.
            guard tree.nodes[root].parent == nil, !deleted.contains(root) else { continue }
            let name = subject(root)
            guard !name.isEmpty, let held = table[name], held != root else { continue }
            let heldIsDummy = tree.nodes[held].message == nil
            let rootIsDummy = tree.nodes[root].message == nil
            if heldIsDummy, rootIsDummy {
                for child in tree.nodes[root].children { tree.link(child, to: held) }
                deleted.insert(root)
            } else if heldIsDummy || (isReply(root) && !isReply(held)) {
                tree.link(root, to: held)
            } else {
                let dummy = tree.add(message: nil)
                tree.link(held, to: dummy)
                tree.link(root, to: dummy)
                table[name] = dummy
                added.append(dummy)
            }
        }
        // Step 6 sorts the roots again; here only which they are matters.
        roots = (roots + added).filter { tree.nodes[$0].parent == nil && !deleted.contains($0) }
    }

    /// The containers of step 1, by index.
    struct Tree {
        struct Node {
            var message: Int?
            var parent: Int?
            var children: [Int] = []
        }
        var nodes: [Node] = []

        mutating func add(message: Int?) -> Int {
            nodes.append(Node(message: message))
            return nodes.count - 1
        }

        /// Whether `a` is `b` or above it.
        func isAncestor(_ a: Int, of b: Int) -> Bool {
            var current: Int? = b
            var steps = 0
            while let node = current, steps <= nodes.count {
                if node == a { return true }
                current = nodes[node].parent
                steps += 1
            }
            return false
        }

        mutating func unlink(_ node: Int) {
            guard let parent = nodes[node].parent else { return }
            nodes[parent].children.removeAll { $0 == node }
            nodes[node].parent = nil
        }

        mutating func link(_ child: Int, to parent: Int) {
            unlink(child)
            nodes[child].parent = parent
            nodes[parent].children.append(child)
        }

        /// Step 3, bottom-up: a placeholder without children goes; one with children gives
        /// them to its parent — at the top only when it has just one.
        mutating func prune(_ roots: inout [Int]) {
            for node in postOrder(roots) {
                var children: [Int] = []
                for child in nodes[node].children {
                    if nodes[child].message == nil {
                        for grandchild in nodes[child].children { nodes[grandchild].parent = node }
                        children.append(contentsOf: nodes[child].children)
                        nodes[child].children = []
                        nodes[child].parent = nil
                    } else {
                        children.append(child)
                    }
                }
                nodes[node].children = children
            }
            var top: [Int] = []
            for root in roots {
                guard nodes[root].message == nil else {
                    top.append(root)
                    continue
                }
                switch nodes[root].children.count {
                case 0: break
                case 1:
                    let only = nodes[root].children[0]
                    nodes[only].parent = nil
                    nodes[root].children = []
                    top.append(only)
                default: top.append(root)
                }
            }
            roots = top
        }

        /// The message that dates a node: its own, or a placeholder's first child's.
        func dating(_ node: Int) -> Int? {
            nodes[node].message ?? nodes[node].children.first.flatMap { nodes[$0].message }
        }

        func earlier(_ a: Int, _ b: Int, by earlier: (Int, Int) -> Bool) -> Bool {
            switch (dating(a), dating(b)) {
            case (let x?, let y?): earlier(x, y)
            case (nil, _?): false
            case (_?, nil): true
            case (nil, nil): a < b
            }
        }

        mutating func sortChildren(_ node: Int, by earlier: (Int, Int) -> Bool) {
            let sorted = nodes[node].children.sorted { self.earlier($0, $1, by: earlier) }
            nodes[node].children = sorted
        }

        /// Every node under `roots`, children before their parents.
        func postOrder(_ roots: [Int]) -> [Int] {
            var order: [Int] = []
            var stack = roots
            while let node = stack.popLast() {
                order.append(node)
                stack.append(contentsOf: nodes[node].children)
            }
            return order.reversed()
        }

        func preOrder(_ root: Int) -> [(message: Int?, depth: Int)] {
            var out: [(message: Int?, depth: Int)] = []
            var stack = [(root, 0)]
            while let (node, depth) = stack.popLast() {
                out.append((nodes[node].message, depth))
                for child in nodes[node].children.reversed() { stack.append((child, depth + 1)) }
            }
            return out
        }
    }
}
