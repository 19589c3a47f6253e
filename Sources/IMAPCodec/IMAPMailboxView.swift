public import MailCore

/// One session's view of its selected mailbox (RFC 3501 §2.3.1.2): the UIDs in sequence-number
/// order, and the changes other sessions made that it has been told of but not yet reported.
/// Sequence numbers belong to the session: they change only when the session reports an
/// EXPUNGE or an EXISTS, at the moments RFC 3501 §5.2 and §7.4.1 allow, so a client's numbers
/// always mean what it thinks they mean.
public struct IMAPMailboxView: Sendable, Hashable {
    public let uidValidity: UInt32
    public let readOnly: Bool
    /// Ascending; `uids[n - 1]` is message n.
    public private(set) var uids: [UInt32]
    /// The messages that are `\Recent` in this session (RFC 3501 §2.3.2).
    public private(set) var recent: Set<UInt32>
    var pendingAdded: Set<UInt32> = []
    var pendingExpunged: Set<UInt32> = []
    var pendingFlags: Set<UInt32> = []
    /// The count last reported (EXISTS), so a change reports only what is new.
    var reportedRecent: Int

    public init(uidValidity: UInt32, readOnly: Bool, uids: [UInt32], recent: Set<UInt32>) {
        self.uidValidity = uidValidity
        self.readOnly = readOnly
        self.uids = uids.sorted()
        self.recent = recent
        self.reportedRecent = recent.count
    }

    public var count: Int { uids.count }
    public var largestUID: UInt32 { uids.last ?? 0 }

    /// The sequence number of `uid`, if the session knows the message.
    public func sequenceNumber(of uid: UInt32) -> Int? {
        let index = insertionIndex(uid)
        return index < uids.count && uids[index] == uid ? index + 1 : nil
    }

    func insertionIndex(_ uid: UInt32) -> Int {
        var low = 0
        var high = uids.count
        while low < high {
            let mid = (low + high) / 2
            if uids[mid] < uid { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The UIDs of a message sequence set, ascending; nil when it names a number beyond the
    /// mailbox (RFC 3501 §9 `seq-number`: "*" is the largest number in use; a number above it
    /// is invalid). On an empty mailbox every set is invalid.
    public func uids(ofSequenceSet set: IMAPSequenceSet) -> [UInt32]? {
        let largest = UInt32(uids.count)
        guard largest > 0 else { return nil }
        var chosen: [ClosedRange<UInt32>] = []
        for range in set.ranges {
            let a = Self.resolve(range.first, largest)
            let b = Self.resolve(range.last, largest)
            guard a >= 1, b >= 1, a <= largest, b <= largest else { return nil }
            chosen.append(min(a, b)...max(a, b))
        }
        return Self.merged(chosen).flatMap { r in r.map { uids[Int($0) - 1] } }
    }

    /// The UIDs of a UID set that the session knows, ascending (RFC 3501 §6.4.8: UIDs not in
    /// the mailbox are ignored; `*` is the largest UID, so `n:*` always names at least it).
    public func uids(ofUIDSet set: IMAPSequenceSet) -> [UInt32] {
        guard let last = uids.last else { return [] }
        var result: [UInt32] = []
        for range in Self.merged(
            set.ranges.map { r in
                let a = Self.resolve(r.first, last)
                let b = Self.resolve(r.last, last)
                return min(a, b)...max(a, b)
            })
        {
            let start = insertionIndex(range.lowerBound)
            var index = start
            while index < uids.count, uids[index] <= range.upperBound {
                result.append(uids[index])
                index += 1
            }
        }
        return result
    }

    static func resolve(_ number: IMAPSequenceNumber, _ largest: UInt32) -> UInt32 {
        switch number {
        case .number(let n): n
        case .star: largest
        }
    }

    static func merged(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var merged: [ClosedRange<UInt32>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1, last.upperBound != .max {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    // MARK: - Changes from elsewhere

    /// Messages added to the mailbox (delivery, APPEND, COPY by any session).
    public mutating func noteAdded(_ added: some Sequence<UInt32>) {
        for uid in added where sequenceNumber(of: uid) == nil { pendingAdded.insert(uid) }
    }

    public mutating func noteExpunged(_ expunged: some Sequence<UInt32>) {
        for uid in expunged {
            if pendingAdded.remove(uid) == nil, sequenceNumber(of: uid) != nil { pendingExpunged.insert(uid) }
        }
    }

    public mutating func noteFlagsChanged(_ changed: some Sequence<UInt32>) {
        for uid in changed where sequenceNumber(of: uid) != nil { pendingFlags.insert(uid) }
    }

    /// Everything known is different (a resync): the mailbox holds `current` now.
    public mutating func noteCurrent(_ current: [UInt32]) {
        let now = Set(current)
        for uid in uids where !now.contains(uid) { pendingExpunged.insert(uid) }
        let known = Set(uids)
        pendingAdded = Set(current.filter { !known.contains($0) })
    }

    public var hasPendingChanges: Bool { !pendingAdded.isEmpty || !pendingExpunged.isEmpty || !pendingFlags.isEmpty }

    /// The messages whose flags changed elsewhere, to fetch and report as untagged FETCH;
    /// taking them clears them.
    public mutating func takeFlagChanges() -> [UInt32] {
        defer { pendingFlags = [] }
        return pendingFlags.filter { !pendingExpunged.contains($0) }.sorted()
    }

    /// What to report now, in order (RFC 3501 §7.4.1, §7.3.1): the sequence numbers of
    /// EXPUNGEs, each relative to the numbering after the ones before it, when `expungeAllowed`
    /// (never during FETCH, STORE or SEARCH: §7.4.1, RFC 2180 §4.1); then the new EXISTS and
    /// RECENT counts if they changed.
    public mutating func takeUpdates(
        expungeAllowed: Bool
    ) -> (expunged: [Int], expungedUIDs: [UInt32], exists: Int?, recent: Int?) {
        var expunged: [Int] = []
        var expungedUIDs: [UInt32] = []
        if expungeAllowed, !pendingExpunged.isEmpty {
            expungedUIDs = pendingExpunged.filter { sequenceNumber(of: $0) != nil }.sorted()
            expunged = remove(expungedUIDs)
            pendingExpunged = []
        }
        var exists: Int?
        if !pendingAdded.isEmpty {
            let previousLast = uids.last ?? 0
            let added = pendingAdded.sorted()
            uids.append(contentsOf: added)
            if added[0] < previousLast { uids.sort() }
            pendingAdded = []
            exists = uids.count
        }
        var recentCount: Int?
        if recent.count != reportedRecent || exists != nil {
            recentCount = recent.count
            reportedRecent = recent.count
        }
        if !expunged.isEmpty, exists == nil { recentCount = nil }
        return (expunged, expungedUIDs, exists, recentCount)
    }

    /// Removes messages this session expunged itself (or whose expunge it now reports) and
    /// returns their sequence numbers as the EXPUNGE responses must give them: ascending, each
    /// counted after the removals before it.
    public mutating func remove(_ removed: [UInt32]) -> [Int] {
        var indices = removed.compactMap { uid -> Int? in sequenceNumber(of: uid).map { $0 - 1 } }
        indices.sort()
        var gone = Set<UInt32>()
        var numbers: [Int] = []
        for (i, index) in indices.enumerated() {
            numbers.append(index + 1 - i)
            gone.insert(uids[index])
        }
        uids.removeAll { gone.contains($0) }
        recent.subtract(gone)
        reportedRecent = min(reportedRecent, recent.count)
        pendingFlags.subtract(gone)
        pendingExpunged.subtract(gone)
        return numbers
    }

    /// UID sets of at most `UIDSet.maxRanges` ranges covering `uids` (ascending), for calls
    /// that take a UIDSet.
    public static func uidSets(_ uids: [UInt32]) -> [UIDSet] {
        var sets: [UIDSet] = []
        var ranges: [UIDSet.Range] = []
        var index = 0
        while index < uids.count {
            let low = uids[index]
            var high = low
            while index + 1 < uids.count, uids[index + 1] == high &+ 1 {
                index += 1
                high = uids[index]
            }
            index += 1
            ranges.append(UIDSet.Range(lower: .number(low), upper: .number(high)))
            if ranges.count == UIDSet.maxRanges {
                sets.append(UIDSet(ranges: ranges))
                ranges = []
            }
        }
        if !ranges.isEmpty { sets.append(UIDSet(ranges: ranges)) }
        return sets
    }
}
