import GRDB

/// One address the directory shows, with its public fields only (Protocol/README §16): never a
/// password hash, a challenge-response secret, a quota or a session generation.
public struct DirectoryRow: Sendable, Equatable {
    public enum Kind: String, Sendable { case account, alias, group }
    public var kind: Kind
    public var address: String
    public var displayName: String?
    public var givenName: String?
    public var surname: String?
    /// An account's aliases whose only target it is, sorted.
    public var aliases: [String] = []
    public var forwardTo: String?
    /// An alias's targets or a group's members, sorted, without hidden or disabled accounts.
    public var members: [String] = []
}

/// A page of the directory: `rows` in address order; `last` is the last address the page's
/// query reached when the page was full (more may follow), nil on the last page.
public struct DirectoryPage: Sendable, Equatable {
    public var rows: [DirectoryRow]
    public var last: String?
}

extension SQLiteStore {
    /// The local domains in the order they were added (the first names the LDAP base DN).
    public func domainsInOrderAdded() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT name FROM domain ORDER BY id") }
    }

    /// Up to `limit` addresses after `after`, in address order, from one read transaction.
    /// Addresses are unique across accounts, aliases and groups (`ensureAddressFree`), so one
    /// ordered UNION pages through all three with the address as the cursor. Entries left out
    /// after the page's query (an alias of hidden accounts only) make a page shorter, never
    /// end the listing early.
    public func directoryPage(after: String?, limit: Int) throws -> DirectoryPage {
        try read { db in
            let cursor = after ?? ""
            let heads = try Row.fetchAll(
                db,
                sql: """
                    SELECT address, 'account' AS kind FROM account WHERE enabled = 1 AND directory_hidden = 0 AND address > ?1
                    UNION ALL SELECT DISTINCT address, 'alias' FROM alias WHERE address > ?1
                    UNION ALL SELECT address, 'group' FROM mail_group WHERE address > ?1
                    ORDER BY address LIMIT ?2
                    """, arguments: [cursor, limit])
            let rows = try directoryRows(db, heads.map { (address: $0["address"] as String, kind: $0["kind"] as String) })
            return DirectoryPage(rows: rows, last: heads.count == limit ? heads.last?["address"] : nil)
        }
    }

    /// The directory's entry for exactly `address` (canonical), if it is listed.
    public func directoryEntry(address: String) throws -> DirectoryRow? {
        try read { db in
            let kind = try String.fetchOne(
                db,
                sql: """
                    SELECT 'account' FROM account WHERE address = ?1 AND enabled = 1 AND directory_hidden = 0
                    UNION ALL SELECT 'alias' FROM alias WHERE address = ?1
                    UNION ALL SELECT 'group' FROM mail_group WHERE address = ?1
                    LIMIT 1
                    """, arguments: [address])
            guard let kind else { return nil }
            return try directoryRows(db, [(address, kind)]).first
        }
    }

    private func directoryRows(_ db: Database, _ heads: [(address: String, kind: String)]) throws -> [DirectoryRow] {
        func addresses(_ kind: String) -> [String] { heads.filter { $0.kind == kind }.map(\.address) }
        func list(_ values: [String]) -> (sql: String, arguments: StatementArguments) {
            (Array(repeating: "?", count: values.count).joined(separator: ","), StatementArguments(values))
        }
        let accounts = addresses("account")
        let aliases = addresses("alias")
        let groups = addresses("group")
        var found: [String: DirectoryRow] = [:]

        if !accounts.isEmpty {
            let (marks, arguments) = list(accounts)
            for row in try Row.fetchAll(
                db, sql: "SELECT address, display_name, given_name, surname, forward_to FROM account WHERE address IN (\(marks))",
                arguments: arguments)
            {
                let address: String = row["address"]
                found[address] = DirectoryRow(
                    kind: .account, address: address, displayName: row["display_name"], givenName: row["given_name"],
                    surname: row["surname"], forwardTo: row["forward_to"])
            }
            // An account's further addresses: the aliases whose one and only target it is.
            let single = try Row.fetchAll(
                db,
                sql: """
                    SELECT address, MIN(target) AS target FROM alias
                    WHERE address IN (SELECT address FROM alias WHERE target IN (\(marks)))
                    GROUP BY address HAVING COUNT(*) = 1
                    """, arguments: arguments)
            for row in single {
                let target: String = row["target"]
                found[target]?.aliases.append(row["address"])
            }
        }

        var members: [String: [String]] = [:]
        if !aliases.isEmpty {
            let (marks, arguments) = list(aliases)
            for row in try Row.fetchAll(db, sql: "SELECT address, target FROM alias WHERE address IN (\(marks))", arguments: arguments) {
                members[row["address"], default: []].append(row["target"])
            }
        }
        var groupNames: [String: String?] = [:]
        if !groups.isEmpty {
            let (marks, arguments) = list(groups)
            for row in try Row.fetchAll(db, sql: "SELECT address, name FROM mail_group WHERE address IN (\(marks))", arguments: arguments) {
                groupNames[row["address"]] = .some(row["name"])
                members[row["address"], default: []] = members[row["address"]] ?? []
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT g.address, m.member FROM mail_group g JOIN group_member m ON m.group_id = g.id
                    WHERE g.address IN (\(marks))
                    """, arguments: arguments)
            {
                members[row["address"], default: []].append(row["member"])
            }
        }
        // Hidden and disabled accounts are never shown, not even as a target or a member.
        let named = Array(Set(members.values.joined()))
        var unlisted: Set<String> = []
        for chunk in stride(from: 0, to: named.count, by: 500).map({ Array(named[$0..<min($0 + 500, named.count)]) }) {
            let (marks, arguments) = list(chunk)
            unlisted.formUnion(
                try String.fetchAll(
                    db, sql: "SELECT address FROM account WHERE address IN (\(marks)) AND (enabled = 0 OR directory_hidden = 1)",
                    arguments: arguments))
        }
        for (address, all) in members {
            let shown = all.filter { !unlisted.contains($0) }.sorted()
            // An alias or group whose every target or member is hidden would reveal them.
            if shown.isEmpty, !all.isEmpty { continue }
            let kind: DirectoryRow.Kind = groupNames[address] != nil ? .group : .alias
            found[address] = DirectoryRow(kind: kind, address: address, displayName: groupNames[address] ?? nil, members: shown)
        }
        return heads.compactMap { head in
            guard var row = found[head.address] else { return nil }
            row.aliases.sort()
            return row
        }
    }
}
