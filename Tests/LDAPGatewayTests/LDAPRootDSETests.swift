import LDAPCodec
import LDAPGateway
import Testing

/// The root DSE and cn=Subschema, as slapd shows them: user attributes on `*`, the rest on `+`.
@Suite struct LDAPRootDSETests {
    static func root(_ attributes: [String], startTLS: Bool = true) throws -> LDAPSearchResultEntry {
        let outcome = Fixture.directory(startTLS: startTLS).search(
            try Fixture.search("(objectClass=*)", base: "", scope: .baseObject, attributes: attributes), paging: nil, access: .anonymous)
        #expect(outcome.result == .success)
        return try #require(outcome.entries.first)
    }

    @Test func allUserAttributesAreObjectClassAlone() throws {
        #expect(try Self.root([]).attributes == [LDAPAttribute(type: "objectClass", ["top"])])
    }

    @Test(arguments: [true, false])
    func operationalAttributes(_ startTLS: Bool) throws {
        let entry = try Self.root(["+"], startTLS: startTLS)
        #expect(entry.objectName == "")
        #expect(entry.values("namingContexts") == ["dc=example,dc=org"])
        #expect(entry.values("subschemaSubentry") == ["cn=Subschema"])
        #expect(entry.values("supportedLDAPVersion") == ["3"])
        #expect(entry.values("supportedControl") == ["1.2.840.113556.1.4.319"])
        #expect(entry.values("supportedFeatures") == ["1.3.6.1.4.1.4203.1.5.1"])
        #expect(entry.values("vendorName") == ["Loft"])
        #expect(entry.values("vendorVersion") == ["1.0"])
        #expect(
            entry.values("supportedExtension")
                == (startTLS ? ["1.3.6.1.4.1.4203.1.11.3", "1.3.6.1.4.1.1466.20037"] : ["1.3.6.1.4.1.4203.1.11.3"]))
        #expect(entry.values("objectClass") == nil)
    }

    @Test func namedAttributes() throws {
        let entry = try Self.root(["namingContexts", "SUPPORTEDEXTENSION"], startTLS: false)
        #expect(entry.types == ["namingContexts", "supportedExtension"])
    }

    @Test(arguments: [LDAPSearchScope.singleLevel, .wholeSubtree])
    func searchesFromTheRootDoNotDescend(_ scope: LDAPSearchScope) throws {
        let outcome = Fixture.directory().search(
            try Fixture.search("(objectClass=*)", base: "", scope: scope), paging: nil, access: Fixture.bound)
        #expect(outcome.result == LDAPResult(.noSuchObject))
        #expect(outcome.entries.isEmpty)
    }

    static func subschema(_ attributes: [String]) throws -> LDAPSearchResultEntry {
        let outcome = Fixture.directory().search(
            try Fixture.search("(objectClass=subschema)", base: "CN=SUBSCHEMA", scope: .baseObject, attributes: attributes), paging: nil,
            access: .anonymous)
        return try #require(outcome.entries.first)
    }

    @Test func subschemaUserAttributes() throws {
        let entry = try Self.subschema([])
        #expect(entry.objectName == "cn=Subschema")
        #expect(entry.types == ["objectClass", "cn"])
        #expect(entry.values("objectClass") == ["top", "subentry", "subschema"])
    }

    @Test func subschemaOnlyByNameOrPlus() throws {
        #expect(try Self.subschema(["attributeTypes"]).types == ["attributeTypes"])
        #expect(try Self.subschema(["+"]).types.contains("objectClasses"))
        #expect(try Self.subschema(["+"]).types.contains("ldapSyntaxes"))
        #expect(try Self.subschema(["+"]).types.contains("matchingRules"))
    }

    /// Every description parses as RFC 4512 §4.1 has it, and every type, class, syntax and rule
    /// the entries and the descriptions use is described.
    @Test func subschemaDescribesEverythingInUse() throws {
        let entry = try Self.subschema(["+"])
        let types = try #require(entry.values("attributeTypes")).map(SchemaDescription.init)
        let classes = try #require(entry.values("objectClasses")).map(SchemaDescription.init)
        let syntaxes = try #require(entry.values("ldapSyntaxes")).map(SchemaDescription.init)
        let rules = try #require(entry.values("matchingRules")).map(SchemaDescription.init)
        for description in types + classes + syntaxes + rules { #expect(description.valid, "\(description.text)") }
        let typeNames = Set(types.flatMap(\.names).map { $0.lowercased() })
        let classNames = Set(classes.flatMap(\.names).map { $0.lowercased() })
        let syntaxOIDs = Set(syntaxes.map(\.oid))
        let ruleNames = Set(rules.flatMap(\.names))

        for type in types {
            if let syntax = type.fields["SYNTAX"]?.first {
                #expect(syntaxOIDs.contains(syntax.split(separator: "{")[0].description), "\(type.text)")
            }
            for key in ["EQUALITY", "SUBSTR", "ORDERING"] {
                for rule in type.fields[key] ?? [] { #expect(ruleNames.contains(rule), "\(rule) in \(type.text)") }
            }
            for superior in type.fields["SUP"] ?? [] { #expect(typeNames.contains(superior.lowercased())) }
        }
        for objectClass in classes {
            for key in ["MUST", "MAY"] {
                for type in objectClass.fields[key] ?? [] {
                    #expect(typeNames.contains(type.lowercased()), "\(type) in \(objectClass.text)")
                }
            }
            for superior in objectClass.fields["SUP"] ?? [] { #expect(classNames.contains(superior.lowercased())) }
        }
        for rule in rules { #expect(syntaxOIDs.contains(rule.fields["SYNTAX"]?.first ?? "")) }

        // Everything an entry of the tree carries is described.
        let directory = Fixture.directory()
        let tree = directory.search(try Fixture.search("(objectClass=*)", attributes: ["*", "+"]), paging: nil, access: Fixture.bound)
        let root = try Self.root(["*", "+"])
        for result in tree.entries + [root, entry] {
            for attribute in result.attributes { #expect(typeNames.contains(attribute.type.lowercased()), "\(attribute.type)") }
            for objectClass in result.values("objectClass") ?? [] {
                #expect(classNames.contains(objectClass.lowercased()), "\(objectClass)")
            }
        }
    }
}

/// A minimal reader of RFC 4512 §4.1 descriptions, for the test above:
///
///     AttributeTypeDescription = LPAREN WSP numericoid [ SP "NAME" SP qdescrs ] ... RPAREN
///
/// `fields` maps each keyword to its values (qdescrs, oids, `( a $ b )` lists).
struct SchemaDescription {
    let text: String
    var oid = ""
    var fields: [String: [String]] = [:]
    var valid = false
    var names: [String] { fields["NAME"] ?? [] }

    init(_ text: String) {
        self.text = text
        var tokens: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if character == "'" {
                quoted.toggle()
                current.append(character)
            } else if character == " ", !quoted {
                if !current.isEmpty { tokens.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        guard tokens.first == "(", tokens.last == ")", tokens.count >= 3 else { return }
        oid = tokens[1]
        guard oid.split(separator: ".").count >= 2, oid.allSatisfy({ $0.isNumber || $0 == "." }) else { return }
        var index = 2
        let flags: Set<String> = ["ABSTRACT", "STRUCTURAL", "AUXILIARY", "SINGLE-VALUE", "NO-USER-MODIFICATION", "OBSOLETE", "COLLECTIVE"]
        let keys: Set<String> = ["NAME", "DESC", "SUP", "EQUALITY", "ORDERING", "SUBSTR", "SYNTAX", "USAGE", "MUST", "MAY"]
        while index < tokens.count - 1 {
            let keyword = tokens[index]
            index += 1
            if flags.contains(keyword) {
                fields[keyword] = []
                continue
            }
            guard keys.contains(keyword), index < tokens.count - 1 else { return }
            var values: [String] = []
            if tokens[index] == "(" {
                index += 1
                while index < tokens.count - 1, tokens[index] != ")" {
                    if tokens[index] != "$" { values.append(tokens[index]) }
                    index += 1
                }
                guard index < tokens.count - 1 else { return }
                index += 1
            } else {
                values.append(tokens[index])
                index += 1
            }
            fields[keyword] = values.map { $0.hasPrefix("'") && $0.hasSuffix("'") ? String($0.dropFirst().dropLast()) : $0 }
        }
        valid = true
    }
}
