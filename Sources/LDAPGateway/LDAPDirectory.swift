public import LDAPCodec
public import RPCProtocol

/// How the directory presents itself: the naming context, what the root DSE advertises, and the
/// access policy.
public struct LDAPDirectoryConfiguration: Sendable {
    /// nil: derived from the first domain, `example.org` giving `dc=example,dc=org`.
    public var baseDN: String?
    /// The root DSE's vendorVersion (RFC 3045).
    public var vendorVersion: String
    /// Whether the root DSE lists the StartTLS extension (only when the listener offers it).
    public var startTLSAvailable: Bool
    public var policy: LDAPAccessPolicy

    public init(baseDN: String? = nil, vendorVersion: String, startTLSAvailable: Bool, policy: LDAPAccessPolicy = LDAPAccessPolicy()) {
        self.baseDN = baseDN
        self.vendorVersion = vendorVersion
        self.startTLSAvailable = startTLSAvailable
        self.policy = policy
    }
}

/// What a search produced: the entries to send, then the SearchResultDone's result and controls.
public struct LDAPSearchOutcome: Sendable, Hashable {
    public var entries: [LDAPSearchResultEntry]
    public var result: LDAPResult
    public var controls: [LDAPControl]

    public init(entries: [LDAPSearchResultEntry] = [], result: LDAPResult, controls: [LDAPControl] = []) {
        self.entries = entries
        self.result = result
        self.controls = controls
    }
}

/// The directory as a value: the back-end's public listing made an LDAP tree once, searched
/// without I/O. The tree is the base entry, then `ou=people` (an inetOrgPerson per account),
/// `ou=groups` (groupOfNames) and `ou=aliases` (nisMailAlias), each in address order; beside it
/// the root DSE and `cn=Subschema`.
public struct LDAPDirectory: Sendable {
    public static let whoAmIOID = "1.3.6.1.4.1.4203.1.11.3"
    public static let startTLSOID = "1.3.6.1.4.1.1466.20037"
    /// RFC 3673's `+` selector.
    public static let allOperationalAttributesOID = "1.3.6.1.4.1.4203.1.5.1"
    public static let subschemaDN = "cn=Subschema"

    public let version: String
    public let configuration: LDAPDirectoryConfiguration
    /// The naming context, as the tree writes it.
    public var baseDN: String { tree[0].dn }

    /// In tree order; `subtreeEnds[i]` is one past the last entry below `tree[i]`.
    let tree: [LDAPDirectoryEntry]
    let depths: [Int]
    let subtreeEnds: [Int]
    let positions: [String: Int]
    /// Each entry's position by its DN exactly as the tree writes it.
    let writtenPositions: [String: Int]
    let mailIndex: [[UInt8]: [Int]]
    let accountDNs: [String: String]
    let rootDSE: LDAPDirectoryEntry
    let subschema: LDAPDirectoryEntry
    let baseName: DistinguishedName
    let subschemaName: DistinguishedName

    public init(entries: [DirectoryEntry], domains: [String], version: String, configuration: LDAPDirectoryConfiguration) {
        self.version = version
        self.configuration = configuration
        let base: String
        if let configured = configuration.baseDN, let parsed = DistinguishedName(parsing: configured), !parsed.rdns.isEmpty {
            base = configured
        } else {
            // With no domain there is nothing to list; RFC 2606's .invalid names the empty tree.
            base = (domains.first ?? "invalid").split(separator: ".").map { "dc=" + DistinguishedName.escape(String($0)) }.joined(
                separator: ",")
        }
        let baseName = DistinguishedName(parsing: base)!
        self.baseName = baseName
        self.subschemaName = DistinguishedName(parsing: Self.subschemaDN)!
        // The domain the base DN names: its dc components joined by dots.
        let dcValues = baseName.rdns.compactMap { rdn in
            rdn.count == 1 && rdn[0].type == "dc" ? String(decoding: rdn[0].value, as: UTF8.self) : nil
        }
        let baseDomain = dcValues.count == baseName.rdns.count ? dcValues.joined(separator: ".") : ""
        let organization = domains.first ?? baseDomain

        let sorted = entries.sorted { $0.address < $1.address }
        let people = sorted.filter { $0.kind == .account }
        let groups = sorted.filter { $0.kind == .group }
        let aliases = sorted.filter { $0.kind == .alias }

        func rdnValue(_ address: String) -> String {
            let lowered = address.lowercased()
            guard let at = lowered.lastIndex(of: "@"), !baseDomain.isEmpty, lowered[lowered.index(after: at)...] == baseDomain else {
                return lowered
            }
            return String(lowered[..<at])
        }
        func operational(_ dn: String, _ structural: String, children: Bool) -> [(String, [String])] {
            [
                ("structuralObjectClass", [structural]), ("entryDN", [dn]), ("subschemaSubentry", [Self.subschemaDN]),
                ("hasSubordinates", [children ? "TRUE" : "FALSE"]),
            ]
        }
        var tree: [LDAPDirectoryEntry] = []
        var depths: [Int] = []
        var ends: [Int] = []

        // The base entry: its RDN's attribute with the value, and an organization for the domain.
        let firstRDN = base.split(separator: ",", maxSplits: 1).first.map(String.init) ?? base
        let rdnType = baseName.rdns[0][0].type
        let rdnText = firstRDN.split(separator: "=", maxSplits: 1).last.map { String($0).trimmingSpaces } ?? ""
        var baseAttributes: [(String, [String])]
        switch rdnType {
        case "dc": baseAttributes = [("objectClass", ["top", "dcObject", "organization"]), ("dc", [rdnText]), ("o", [organization])]
        case "ou": baseAttributes = [("objectClass", ["top", "organizationalUnit"]), ("ou", [rdnText])]
        default: baseAttributes = [("objectClass", ["top", "organization"]), ("o", [rdnType == "o" ? rdnText : organization])]
        }
        let baseStructural = rdnType == "ou" ? "organizationalUnit" : "organization"
        tree.append(
            LDAPDirectoryEntry(dn: base, attributes: baseAttributes, operational: operational(base, baseStructural, children: true)))
        depths.append(0)
        ends.append(0)

        var accountDNs: [String: String] = [:]
        let peopleBase = "ou=people," + base
        for address in people.map(\.address) {
            accountDNs[address.lowercased()] = "uid=" + DistinguishedName.escape(rdnValue(address)) + "," + peopleBase
        }

        func unit(_ name: String, _ members: [DirectoryEntry], _ build: (DirectoryEntry, String) -> LDAPDirectoryEntry) {
            let dn = "ou=\(name),\(base)"
            let unitPosition = tree.count
            tree.append(
                LDAPDirectoryEntry(
                    dn: dn, attributes: [("objectClass", ["top", "organizationalUnit"]), ("ou", [name])],
                    operational: operational(dn, "organizationalUnit", children: !members.isEmpty)))
            depths.append(1)
            ends.append(0)
            for member in members {
                let rdn = rdnValue(member.address)
                tree.append(build(member, rdn))
                depths.append(2)
                ends.append(tree.count)
            }
            ends[unitPosition] = tree.count
        }
        unit("people", people) { account, uid in
            let dn = accountDNs[account.address.lowercased()]!
            let local = String(account.address.split(separator: "@").first ?? Substring(account.address))
            let fullName = [account.givenName, account.surname].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            let cn = account.displayName.flatMap { $0.isEmpty ? nil : $0 } ?? (fullName.isEmpty ? local : fullName)
            let sn = account.surname.flatMap { $0.isEmpty ? nil : $0 } ?? String(cn.split(separator: " ").last ?? Substring(cn))
            let mail = [account.address] + (account.aliases ?? [])
            var attributes: [(String, [String])] = [
                ("objectClass", ["top", "person", "organizationalPerson", "inetOrgPerson", "inetLocalMailRecipient"]),
                ("uid", [uid]), ("cn", [cn]), ("sn", [sn]),
            ]
            if let given = account.givenName, !given.isEmpty { attributes.append(("givenName", [given])) }
            if let display = account.displayName, !display.isEmpty { attributes.append(("displayName", [display])) }
            attributes.append(("mail", mail))
            attributes.append(("mailLocalAddress", mail))
            if let forward = account.forwardTo, !forward.isEmpty { attributes.append(("mailRoutingAddress", [forward])) }
            return LDAPDirectoryEntry(
                dn: dn, account: account.address.lowercased(), attributes: attributes,
                operational: operational(dn, "inetOrgPerson", children: false))
        }
        unit("groups", groups) { group, rdn in
            let dn = "cn=" + DistinguishedName.escape(rdn) + ",ou=groups," + base
            let members = group.members ?? []
            var cn = [rdn]
            if let name = group.displayName, !name.isEmpty, name.lowercased() != rdn { cn.append(name) }
            var attributes: [(String, [String])] = [
                ("objectClass", ["top", "groupOfNames", "inetLocalMailRecipient"]), ("cn", cn), ("mail", [group.address]),
                ("mailLocalAddress", [group.address]),
                ("member", members.compactMap { accountDNs[$0.lowercased()] }), ("rfc822MailMember", members),
            ]
            if let name = group.displayName, !name.isEmpty { attributes.append(("description", [name])) }
            return LDAPDirectoryEntry(dn: dn, attributes: attributes, operational: operational(dn, "groupOfNames", children: false))
        }
        unit("aliases", aliases) { alias, rdn in
            let dn = "cn=" + DistinguishedName.escape(rdn) + ",ou=aliases," + base
            let targets = alias.members ?? []
            var attributes: [(String, [String])] = [
                ("objectClass", ["top", "nisMailAlias", "inetLocalMailRecipient"]), ("cn", [rdn]), ("mail", [alias.address]),
                ("mailLocalAddress", [alias.address]), ("rfc822MailMember", targets),
            ]
            if targets.count == 1 { attributes.append(("mailRoutingAddress", targets)) }
            return LDAPDirectoryEntry(dn: dn, attributes: attributes, operational: operational(dn, "nisMailAlias", children: false))
        }
        ends[0] = tree.count

        var positions: [String: Int] = [:]
        var writtenPositions: [String: Int] = [:]
        var mailIndex: [[UInt8]: [Int]] = [:]
        for (position, entry) in tree.enumerated() {
            positions[entry.name.normalized] = position
            writtenPositions[entry.dn] = position
            for attribute in entry.attributes where attribute.type == LDAPSchema.mail {
                for value in Set(attribute.prepared) { mailIndex[value, default: []].append(position) }
            }
        }
        self.tree = tree
        self.depths = depths
        self.subtreeEnds = ends
        self.positions = positions
        self.writtenPositions = writtenPositions
        self.mailIndex = mailIndex
        self.accountDNs = accountDNs

        var extensions = [Self.whoAmIOID]
        if configuration.startTLSAvailable { extensions.append(Self.startTLSOID) }
        // slapd's root DSE: objectClass is its only user attribute, the rest come on `+` or by name.
        rootDSE = LDAPDirectoryEntry(
            dn: "", attributes: [("objectClass", ["top"])],
            operational: [
                ("namingContexts", [base]), ("subschemaSubentry", [Self.subschemaDN]), ("supportedControl", [LDAPPagedResultsControl.oid]),
                ("supportedExtension", extensions), ("supportedFeatures", [Self.allOperationalAttributesOID]),
                ("supportedLDAPVersion", ["3"]),
                ("vendorName", ["Loft"]), ("vendorVersion", [configuration.vendorVersion]), ("entryDN", [""]),
            ])
        subschema = LDAPDirectoryEntry(
            dn: Self.subschemaDN, attributes: [("objectClass", ["top", "subentry", "subschema"]), ("cn", ["Subschema"])],
            operational: [
                ("structuralObjectClass", ["subentry"]), ("entryDN", [Self.subschemaDN]), ("subschemaSubentry", [Self.subschemaDN]),
                ("ldapSyntaxes", LDAPSchema.ldapSyntaxes), ("matchingRules", LDAPSchema.matchingRules.map(\.description)),
                ("attributeTypes", LDAPSchema.attributeTypes.map(\.description)),
                ("objectClasses", LDAPSchema.objectClasses.map(\.description)),
            ])
    }

    /// The account address a simple bind name means: an account entry's DN (compared as RFC 4514
    /// DNs), or a mail value of an account entry (its address or one of its aliases). nil: no
    /// such account.
    public func account(forBindName name: String) -> String? {
        if let dn = DistinguishedName(parsing: name), !dn.rdns.isEmpty, let position = positions[dn.normalized] {
            return tree[position].account
        }
        let mail = LDAPValue.caseIgnore(Array(name.utf8))
        for position in mailIndex[mail] ?? [] {
            if let account = tree[position].account { return account }
        }
        return nil
    }

    /// The DN of an account's entry (for Who am I?).
    public func distinguishedName(ofAccount address: String) -> String? {
        accountDNs[address.lowercased()]
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
