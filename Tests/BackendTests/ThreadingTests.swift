import MailCore
import MailMessage
import Testing

@testable import Backend

/// RFC 5256 THREAD REFERENCES and SORT on conversations built by hand, including the ones
/// that would need deep recursion or loop.
@Suite struct ThreadingTests {
    static func message(_ uid: UInt32, _ subject: String, date: Int64, id: String?, refs: [String] = []) -> Threading.Message {
        let base = SortKeys.baseSubject(subject)
        return Threading.Message(
            uid: uid, seq: Int(uid), internalDate: 0, size: 0,
            keys: SortKeys(
                sentDate: date, baseSubject: base.base.lowercased(), isReplyOrForward: base.isReplyOrForward, from: "", to: "",
                cc: "", messageID: id, references: refs))
    }

    static func render(_ forest: Threading.Forest, _ threading: Threading) -> String {
        forest.map { thread in
            thread.map { node in "\(node.depth):\(node.message.map { String(threading.messages[$0].uid) } ?? "-")" }
                .joined(separator: " ")
        }.joined(separator: " | ")
    }

    @Test func referencesMakeTheTreeAndSubjectsJoinThreads() {
        let t = Threading(messages: [
            Self.message(1, "Lunch", date: 10, id: "<1@x>"),
            Self.message(2, "Re: Lunch", date: 11, id: "<2@x>", refs: ["<1@x>"]),
            // Its parent is missing: a placeholder, pruned, but kept as the common root.
            Self.message(3, "Re: Trip", date: 20, id: "<3@x>", refs: ["<gone@x>"]),
            Self.message(4, "Re: Trip", date: 21, id: "<4@x>", refs: ["<gone@x>"]),
            // The same Message-ID twice: the second gets its own.
            Self.message(5, "Lunch", date: 12, id: "<1@x>"),
            // A loop in References (a → b, b → a): the link that would close it is not made.
            Self.message(6, "Loop", date: 5, id: "<a@x>", refs: ["<b@x>"]),
            Self.message(7, "Loop", date: 6, id: "<b@x>", refs: ["<a@x>"]),
        ])
        #expect(Self.render(t.references(), t) == "0:7 1:6 | 0:- 1:1 2:2 1:5 | 0:- 1:3 1:4")
    }

    /// A reply chain 10,000 deep: every walk is iterative, so nothing overflows a stack.
    @Test func aVeryDeepChain() async {
        var messages = [Self.message(1, "Start", date: 0, id: "<m1@x>")]
        for n in 2...10_000 {
            messages.append(Self.message(UInt32(n), "Re: Start", date: Int64(n), id: "<m\(n)@x>", refs: ["<m\(n - 1)@x>"]))
        }
        let t = Threading(messages: messages)
        let forest = await Task { t.references() }.value
        #expect(forest.count == 1 && forest[0].count == 10_000 && forest[0].last?.depth == 9_999)
        let ordered = await Task { t.orderedSubject() }.value
        #expect(ordered.count == 1 && ordered[0].count == 10_000)
    }

    @Test func sortTiesFallBackToSequence() {
        let t = Threading(messages: [
            Self.message(1, "b", date: 5, id: nil), Self.message(2, "a", date: 5, id: nil), Self.message(3, "a", date: 1, id: nil),
        ])
        #expect(t.sorted(by: [(.date, false)]) == [3, 1, 2])
        #expect(t.sorted(by: [(.subject, false)]) == [2, 3, 1])
        #expect(t.sorted(by: [(.subject, true), (.date, false)]) == [1, 3, 2])
        // REVERSE reverses its key, never the sequence-number tie-break (§3).
        #expect(t.sorted(by: [(.date, true)]) == [1, 2, 3])
        #expect(t.sorted(by: [(.subject, false), (.date, true)]) == [2, 3, 1])
    }

    /// String keys compare as UTF-8 bytes of the case-folded value, "" first; a key made of
    /// many equal values still ranks the same (rank per distinct value).
    @Test func stringKeysRankByUTF8() {
        let subjects = ["zebra", "", "Ärger", "apple", "apple", "b"]
        let t = Threading(messages: subjects.enumerated().map { Self.message(UInt32($0 + 1), $1, date: 0, id: nil) })
        // Folded, "ärger" begins with the byte 0xC3: after "zebra".
        #expect(t.sorted(by: [(.subject, false)]) == [2, 4, 5, 6, 1, 3])
        #expect(t.sorted(by: [(.subject, true)]) == [3, 1, 6, 4, 5, 2])
    }
}
