public import LDAPCodec

extension LDAPDirectory {
    /// Performs a search (RFC 4511 §4.5.1) for `access`, a page at a time when `paging` is
    /// given (RFC 2696). Results come in tree order; the size limit is the smaller of the
    /// client's and the policy's, and a search with more matches returns that many entries and
    /// sizeLimitExceeded (§4.5.1.4). So is the time limit: a search still running when it is
    /// up returns the entries found so far and timeLimitExceeded (§4.5.1.5). `elapsed` tells
    /// the seconds since the search began (tests move it by hand).
    public func search(
        _ request: LDAPSearchRequest, paging: LDAPPagedResultsControl?, access: LDAPAccess, elapsed: (() -> Double)? = nil
    ) -> LDAPSearchOutcome {
        let clock = elapsed ?? Self.stopwatch()
        // A base written as the directory writes it (the usual case: the base DN a client was
        // configured with) names its entry without being parsed.
        if let position = writtenPositions[request.baseObject] {
            return search(request, at: position, paging: paging, access: access, elapsed: clock)
        }
        guard let base = DistinguishedName(parsing: request.baseObject) else {
            return LDAPSearchOutcome(result: LDAPResult(.invalidDNSyntax, diagnosticMessage: "invalid DN"))
        }
        let selection = LDAPAttributeSelection(request.attributes)
        // The root DSE and the subschema entry are read before binding (RFC 4512 §5.1, §4.4).
        if base.rdns.isEmpty {
            // Like slapd without a default search base, "" names nothing but the root DSE.
            guard request.scope == .baseObject else { return LDAPSearchOutcome(result: LDAPResult(.noSuchObject)) }
            return single(rootDSE, request, selection, paging)
        }
        if base == subschemaName {
            return single(request.scope == .singleLevel ? nil : subschema, request, selection, paging)
        }
        guard base.isWithin(baseName) else { return LDAPSearchOutcome(result: LDAPResult(.noSuchObject)) }
        guard let position = positions[base.normalized] else {
            var superior = base.parent
            while let candidate = superior, candidate.rdns.count >= baseName.rdns.count {
                if let found = positions[candidate.normalized] {
                    return LDAPSearchOutcome(result: LDAPResult(.noSuchObject, matchedDN: tree[found].dn))
                }
                superior = candidate.parent
            }
            return LDAPSearchOutcome(result: LDAPResult(.noSuchObject))
        }
        return search(request, at: position, paging: paging, access: access, elapsed: clock)
    }

    /// Seconds since the call, on the monotonic clock.
    static func stopwatch() -> () -> Double {
        let start = ContinuousClock.now
        return {
            let (seconds, attoseconds) = (ContinuousClock.now - start).components
            return Double(seconds) + Double(attoseconds) / 1e18
        }
    }

    /// A search whose base is the entry at `position` of the tree.
    private func search(
        _ request: LDAPSearchRequest, at position: Int, paging: LDAPPagedResultsControl?, access: LDAPAccess,
        elapsed: @escaping () -> Double
    ) -> LDAPSearchOutcome {
        let selection = LDAPAttributeSelection(request.attributes)
        let policy = configuration.policy
        var anonymous = false
        if case .anonymous = access {
            anonymous = true
            guard policy.allowsAnonymous(request.filter) else {
                return LDAPSearchOutcome(result: LDAPResult(.unwillingToPerform, diagnosticMessage: policy.anonymousRefusal))
            }
        }
        let filter = LDAPCompiledFilter(request.filter)
        let candidates = LDAPSearchCandidates(self, position, request.scope, filter)
        let clientLimit = request.sizeLimit > 0 ? Int(request.sizeLimit) : Int.max
        let serverLimit = anonymous ? policy.anonymousSizeLimit : policy.sizeLimit
        let seconds = request.timeLimit > 0 ? min(Int(request.timeLimit), policy.timeLimitSeconds) : policy.timeLimitSeconds
        var clock = LDAPSearchClock(limit: Double(seconds), elapsed: elapsed)

        guard let paging else {
            let limit = min(clientLimit, serverLimit)
            var entries: [LDAPSearchResultEntry] = []
            var next = 0
            while let match = candidates.nextMatch(from: next, filter, &clock) {
                guard entries.count < limit else {
                    return LDAPSearchOutcome(entries: entries, result: LDAPResult(.sizeLimitExceeded))
                }
                entries.append(result(tree[candidates[match]], request, selection))
                next = match + 1
            }
            return LDAPSearchOutcome(entries: entries, result: clock.expired ? Self.timeLimitExceeded : .success)
        }

        // RFC 2696 §3: the cookie says where the previous page stopped; it must come from the
        // same search of the same directory version.
        let identity = LDAPPagingCookie.identity(request, access)
        var start = 0
        var returned = 0
        if !paging.cookie.isEmpty {
            guard let cookie = LDAPPagingCookie(paging.cookie), cookie.version == LDAPPagingCookie.hash(version), cookie.search == identity,
                cookie.position <= candidates.count
            else {
                return LDAPSearchOutcome(
                    result: LDAPResult(.unwillingToPerform, diagnosticMessage: "paged results cookie is invalid or old"))
            }
            start = cookie.position
            returned = cookie.returned
        }
        let done = LDAPPagedResultsControl(size: 0).control()
        // "A sizeLimit of zero ... the client wishes to abandon the paged search" (§3).
        guard paging.size > 0 else { return LDAPSearchOutcome(result: .success, controls: [done]) }
        // The client's limit and anonymous clients' bound the whole search; a bound client's
        // policy limit bounds each page, so it can read a directory larger than that.
        let total = anonymous ? min(clientLimit, serverLimit) : clientLimit
        let pageSize = min(Int(paging.size), anonymous ? Int.max : serverLimit)
        var entries: [LDAPSearchResultEntry] = []
        var next = start
        while let match = candidates.nextMatch(from: next, filter, &clock) {
            guard returned < total else {
                return LDAPSearchOutcome(entries: entries, result: LDAPResult(.sizeLimitExceeded), controls: [done])
            }
            guard entries.count < pageSize else {
                let cookie = LDAPPagingCookie(
                    version: LDAPPagingCookie.hash(version), search: identity, position: match, returned: returned)
                return LDAPSearchOutcome(
                    entries: entries, result: .success, controls: [LDAPPagedResultsControl(size: 0, cookie: cookie.bytes).control()])
            }
            entries.append(result(tree[candidates[match]], request, selection))
            returned += 1
            next = match + 1
        }
        return LDAPSearchOutcome(entries: entries, result: clock.expired ? Self.timeLimitExceeded : .success, controls: [done])
    }

    static let timeLimitExceeded = LDAPResult(.timeLimitExceeded, diagnosticMessage: "the search took longer than its time limit")

    private func single(
        _ entry: LDAPDirectoryEntry?, _ request: LDAPSearchRequest, _ selection: LDAPAttributeSelection, _ paging: LDAPPagedResultsControl?
    ) -> LDAPSearchOutcome {
        var outcome = LDAPSearchOutcome(result: .success)
        if let entry, LDAPCompiledFilter(request.filter).evaluate(entry) == .true, paging?.size != 0 {
            outcome.entries = [result(entry, request, selection)]
        }
        if paging != nil { outcome.controls = [LDAPPagedResultsControl(size: 0).control()] }
        return outcome
    }

    private func result(
        _ entry: LDAPDirectoryEntry, _ request: LDAPSearchRequest, _ selection: LDAPAttributeSelection
    ) -> LDAPSearchResultEntry {
        LDAPSearchResultEntry(objectName: entry.dn, attributes: entry.selected(selection, typesOnly: request.typesOnly))
    }
}

/// The entries a search's scope covers, in tree order, narrowed by the mail index when the
/// filter pins mail values.
struct LDAPSearchCandidates {
    private let tree: [LDAPDirectoryEntry]
    private let list: [Int]?
    private let range: Range<Int>
    private let depth: Int?

    init(_ directory: LDAPDirectory, _ base: Int, _ scope: LDAPSearchScope, _ filter: LDAPCompiledFilter) {
        tree = directory.tree
        switch scope {
        case .baseObject:
            range = base..<(base + 1)
            depth = nil
        case .singleLevel:
            range = (base + 1)..<directory.subtreeEnds[base]
            depth = directory.depths[base] + 1
        case .wholeSubtree:
            range = base..<directory.subtreeEnds[base]
            depth = nil
        }
        if let values = filter.indexedMailValues {
            let depths = directory.depths
            let range = range
            let depth = depth
            // Each index list is in tree order without repeats; only several lists need merging.
            let hits =
                values.count == 1 ? directory.mailIndex[values[0]] ?? [] : Set(values.flatMap { directory.mailIndex[$0] ?? [] }).sorted()
            list = hits.filter { range.contains($0) && (depth == nil || depths[$0] == depth) }
        } else if let depth, depth == 1 {
            // The base entry's children: the three organizational units.
            list = range.filter { directory.depths[$0] == depth }
        } else {
            list = nil
        }
    }

    var count: Int { list?.count ?? range.count }

    subscript(position: Int) -> Int { list?[position] ?? range.lowerBound + position }

    /// The first position at or after `start` whose entry the filter makes TRUE; nil at the
    /// end, or when `clock` runs out (then `clock.expired`).
    func nextMatch(from start: Int, _ filter: LDAPCompiledFilter, _ clock: inout LDAPSearchClock) -> Int? {
        var position = start
        while position < count {
            guard !clock.tick() else { return nil }
            if filter.evaluate(tree[self[position]]) == .true { return position }
            position += 1
        }
        return nil
    }
}

/// A search's time limit, looked at once every `stride` entries examined (reading the clock
/// per entry would cost more than most filters).
struct LDAPSearchClock {
    let limit: Double
    let elapsed: () -> Double
    static let stride = 256
    private var examined = 0
    private(set) var expired = false

    init(limit: Double, elapsed: @escaping () -> Double) {
        self.limit = limit
        self.elapsed = elapsed
    }

    /// One more entry examined; true once the limit has passed.
    mutating func tick() -> Bool {
        examined += 1
        if !expired, examined % Self.stride == 0, elapsed() >= limit { expired = true }
        return expired
    }
}

/// The opaque cookie of a paged search: which directory version and which search it belongs to,
/// where the next page starts, and how many entries went before (for the whole-search limits).
struct LDAPPagingCookie: Equatable {
    var version: UInt64
    var search: UInt64
    var position: Int
    var returned: Int

    private static let magic: [UInt8] = [0x4C, 0x66]

    init(version: UInt64, search: UInt64, position: Int, returned: Int) {
        self.version = version
        self.search = search
        self.position = position
        self.returned = returned
    }

    init?(_ bytes: [UInt8]) {
        guard bytes.count == 26, Array(bytes[0..<2]) == Self.magic else { return nil }
        func integer(_ offset: Int, _ width: Int) -> UInt64 { bytes[offset..<(offset + width)].reduce(0) { $0 << 8 | UInt64($1) } }
        version = integer(2, 8)
        search = integer(10, 8)
        position = Int(integer(18, 4))
        returned = Int(integer(22, 4))
    }

    var bytes: [UInt8] {
        func big(_ value: UInt64, _ width: Int) -> [UInt8] {
            (0..<width).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        }
        return Self.magic + big(version, 8) + big(search, 8) + big(UInt64(position), 4) + big(UInt64(returned), 4)
    }

    /// FNV-1a, stable across processes (unlike `Hasher`), so a cookie outlives nothing it should not.
    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    /// Everything that makes two requests the same search, the page size aside (RFC 2696 §3).
    static func identity(_ request: LDAPSearchRequest, _ access: LDAPAccess) -> UInt64 {
        let base = DistinguishedName(parsing: request.baseObject)?.normalized ?? request.baseObject
        return hash(
            "\(base)\u{0}\(request.scope.rawValue)\u{0}\(request.filter)\u{0}\(request.attributes.joined(separator: "\u{0}"))\u{0}"
                + "\(request.typesOnly)\u{0}\(request.sizeLimit)\u{0}\(access)")
    }
}
