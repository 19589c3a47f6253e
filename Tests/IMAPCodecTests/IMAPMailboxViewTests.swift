import IMAPCodec
import MailCore
import Testing

/// The selected mailbox's sequence numbers (RFC 3501 §2.3.1.2, §7.4.1).
@Suite struct IMAPMailboxViewTests {
    static func set(_ ranges: [(IMAPSequenceNumber, IMAPSequenceNumber)]) -> IMAPSequenceSet {
        IMAPSequenceSet(ranges.map { IMAPSequenceSet.Range($0.0, $0.1) })
    }

    @Test func sequenceNumbersAndStar() {
        let view = IMAPMailboxView(uidValidity: 7, readOnly: false, uids: [3, 5, 9, 10], recent: [])
        #expect(view.sequenceNumber(of: 9) == 3)
        #expect(view.uids(ofSequenceSet: Self.set([(.number(2), .star)])) == [5, 9, 10])
        #expect(view.uids(ofSequenceSet: Self.set([(.star, .number(3))])) == [9, 10])
        #expect(view.uids(ofSequenceSet: Self.set([(.number(5), .number(5))])) == nil)
        // §6.4.8: UIDs not in the mailbox are ignored; `n:*` names the largest even above it.
        #expect(view.uids(ofUIDSet: Self.set([(.number(4), .number(9))])) == [5, 9])
        #expect(view.uids(ofUIDSet: Self.set([(.number(100), .star)])) == [10])
    }

    @Test func expungeNumbersFollowEachOther() {
        var view = IMAPMailboxView(uidValidity: 7, readOnly: false, uids: [1, 2, 3, 4, 5], recent: [])
        // Removing messages 2 and 4: the second is reported as 3 after the first is gone.
        #expect(view.remove([4, 2]) == [2, 3])
        #expect(view.uids == [1, 3, 5])
    }

    @Test func othersChangesWaitForAnAllowedMoment() {
        var view = IMAPMailboxView(uidValidity: 7, readOnly: false, uids: [1, 2, 3], recent: [])
        view.noteExpunged([2])
        view.noteAdded([4, 5])
        // During FETCH: new messages, but no EXPUNGE (RFC 3501 §7.4.1).
        let during = view.takeUpdates(expungeAllowed: false)
        #expect(during.expunged.isEmpty)
        #expect(during.exists == 5)
        #expect(view.sequenceNumber(of: 2) == 2)
        let after = view.takeUpdates(expungeAllowed: true)
        #expect(after.expunged == [2])
        #expect(view.uids == [1, 3, 4, 5])
    }

    @Test func addedThenExpungedBeforeReportIsNeverSeen() {
        var view = IMAPMailboxView(uidValidity: 7, readOnly: false, uids: [1], recent: [])
        view.noteAdded([2])
        view.noteExpunged([2])
        let updates = view.takeUpdates(expungeAllowed: true)
        #expect(updates.expunged.isEmpty)
        #expect(updates.exists == nil)
    }

    @Test func resyncDiffs() {
        var view = IMAPMailboxView(uidValidity: 7, readOnly: false, uids: [1, 2, 3], recent: [])
        view.noteCurrent([1, 3, 7])
        let updates = view.takeUpdates(expungeAllowed: true)
        #expect(updates.expunged == [2])
        #expect(updates.exists == 3)
        #expect(view.uids == [1, 3, 7])
    }

    @Test func uidSetsSplitAtTheRangeLimit() {
        let uids = (0..<(UIDSet.maxRanges + 5)).map { UInt32($0 * 2 + 1) }
        let sets = IMAPMailboxView.uidSets(uids)
        #expect(sets.count == 2)
        #expect(sets[0].ranges.count == UIDSet.maxRanges)
        #expect(sets[1].ranges.count == 5)
        #expect(IMAPMailboxView.uidSets([1, 2, 3, 7]).map(\.description) == ["1:3,7"])
    }
}
