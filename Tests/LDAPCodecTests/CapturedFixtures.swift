/// Octets real clients and a real server sent, captured on loopback with
/// Tests/Fixtures/ldap/capture.py (a proxy that prints each direction's reads as hex) between
/// OpenLDAP 2.5.13's tools (Debian 12's ldap-utils) and OpenLDAP 2.5.13's slapd with a
/// `dc=example,dc=org` suffix holding `cn=alice` (sn Liddell, mail alice@example.org); the
/// write operations went to the same slapd with `readonly on`. Each fixture names the command.
/// `C` fixtures are what a client sends, `S` what slapd answered.
enum Captured {
    /// C: ldapsearch -x (every ldapsearch -x starts so): BindRequest v3, empty name, simple empty password
    static let anonymousBind = hex("300c020101600702010304008000")
    /// S: slapd's BindResponse: success
    static let bindSuccess = hex("300c02010161070a010004000400")
    /// C: ldapsearch -x -b dc=example,dc=org '(|(cn=*ali*)(mail=*ali*)(sn=*ali*)(givenName=*ali*))' cn mail
    static let thunderbirdSearch = hex(
        """
        3072020102636d041164633d6578616d706c652c64633d6f72670a01020a0100020100020100010100a13da40b040263
        6e30058103616c69a40d04046d61696c30058103616c69a40b0402736e30058103616c69a4120409676976656e4e616d
        6530058103616c69300a0402636e04046d61696c
        """)
    /// S: slapd's SearchResultEntry for cn=alice with cn and mail, then SearchResultDone (two PDUs in one read)
    static let aliceEntry = hex(
        """
        304f020102644a041a636e3d616c6963652c64633d6578616d706c652c64633d6f7267302c300d0402636e3107040561
        6c696365301b04046d61696c31130411616c696365406578616d706c652e6f7267300c02010265070a010004000400
        """)
    /// C: ldapsearch -x -b dc=example,dc=org '(|(cn=ali*)(mail=ali*))' cn mail
    static let outlookSearch = hex(
        """
        3051020102634c041164633d6578616d706c652c64633d6f72670a01020a0100020100020100010100a11ca40b040263
        6e30058003616c69a40d04046d61696c30058003616c69300a0402636e04046d61696c
        """)
    /// C: the UnbindRequest ldapsearch ends with (messageID 3)
    static let unbind = hex("30050201034200")
    /// C: ldapsearch -x -D cn=admin,dc=example,dc=org -w secret: a simple bind with a password
    static let adminBind = hex("302c0201016027020103041a636e3d61646d696e2c64633d6578616d706c652c64633d6f72678006736563726574")
    /// C: ldapsearch -x -D ... -w secret -b dc=example,dc=org -s one -a always -z 5 -l 7 -A '(objectClass=*)'
    static let oneLevelSearch = hex(
        """
        30360201026331041164633d6578616d706c652c64633d6f72670a01010a01030201050201070101ff870b6f626a6563
        74436c6173733000
        """)
    /// S: slapd's answer to it: an entry whose attributes have empty value sets (typesOnly), then SearchResultDone
    static let typesOnlyEntry = hex(
        """
        304e0201026449041a636e3d616c6963652c64633d6578616d706c652c64633d6f7267302b300f040b6f626a65637443
        6c617373310030060402636e310030060402736e3100300804046d61696c3100300c02010265070a010004000400
        """)
    /// C: ldapsearch -x -b '' -s base '(objectClass=*)' +
    static let rootDSESearch = hex("3028020102632304000a01000a0100020100020100010100870b6f626a656374436c617373300304012b")
    /// S: slapd's root DSE, 829 octets: a long-form length (0x82) around 0x81 ones
    static let rootDSEEntry = hex(
        """
        308203390201026482033204003082032c302a04157374727563747572616c4f626a656374436c6173733111040f4f70
        656e4c444150726f6f74445345301c040d636f6e666967436f6e74657874310b0409636e3d636f6e6669673025040e6e
        616d696e67436f6e74657874733113041164633d6578616d706c652c64633d6f72673081ce0410737570706f72746564
        436f6e74726f6c3181b90418322e31362e3834302e312e3131333733302e332e342e31380417322e31362e3834302e31
        2e3131333733302e332e342e320417312e332e362e312e342e312e343230332e312e31302e31040c312e332e362e312e
        312e32320416312e322e3834302e3131333535362e312e342e3331390417312e322e3832362e302e312e333334343831
        302e322e33040e312e332e362e312e312e31332e32040e312e332e362e312e312e31332e31040c312e332e362e312e31
        2e313230750412737570706f72746564457874656e73696f6e315f0417312e332e362e312e342e312e343230332e312e
        31312e310417312e332e362e312e342e312e343230332e312e31312e33040b312e332e362e312e312e38040e312e332e
        362e312e312e32312e33040e312e332e362e312e312e32312e3130819c0411737570706f727465644665617475726573
        318186040c312e332e362e312e312e31340416312e332e362e312e342e312e343230332e312e352e310416312e332e36
        2e312e342e312e343230332e312e352e320416312e332e362e312e342e312e343230332e312e352e330416312e332e36
        2e312e342e312e343230332e312e352e340416312e332e362e312e342e312e343230332e312e352e35301b0414737570
        706f727465644c44415056657273696f6e31030401333081800417737570706f727465645341534c4d656368616e6973
        6d733165040d534352414d2d5348412d353132040d534352414d2d5348412d333834040d534352414d2d5348412d3235
        36040d534352414d2d5348412d323234040b534352414d2d5348412d31040a4449474553542d4d443504084352414d2d
        4d443504044e544c4d300d0407656e747279444e3102040030230411737562736368656d61537562656e747279310e04
        0c636e3d537562736368656d61300c02010265070a010004000400
        """)
    /// C: ldapsearch -x -b dc=example,dc=org -E pr=1/noprompt '(objectClass=*)' 1.1: page size 1, empty cookie
    static let pagedSearch = hex(
        """
        30600201026336041164633d6578616d706c652c64633d6f72670a01020a0100020100020100010100870b6f626a6563
        74436c61737330050403312e31a02330210416312e322e3834302e3131333535362e312e342e33313904073005020101
        0400
        """)
    /// S: slapd's first page: one entry, then SearchResultDone with the paged control (size 0, an 8-octet cookie)
    static let pagedFirstPage = hex(
        """
        301a0201026415041164633d6578616d706c652c64633d6f72673000303902010265070a010004000400a02b30290416
        312e322e3834302e3131333535362e312e342e333139040f300d02010004080100000000000000
        """)
    /// C: ldapsearch's second request, the cookie sent back (messageID 3)
    static let pagedNextSearch = hex(
        """
        30680201036336041164633d6578616d706c652c64633d6f72670a01020a0100020100020100010100870b6f626a6563
        74436c61737330050403312e31a02b30290416312e322e3834302e3131333535362e312e342e333139040f300d020101
        04080100000000000000
        """)
    /// S: slapd's last page: one entry, SearchResultDone with an empty cookie
    static let pagedLastPage = hex(
        """
        3023020103641e041a636e3d616c6963652c64633d6578616d706c652c64633d6f72673000303102010365070a010004
        000400a02330210416312e322e3834302e3131333535362e312e342e333139040730050201000400
        """)
    /// C: ldapsearch -x -b dc=example,dc=org '(&(objectClass=person)(!(sn<=M))(cn~=alise)(mail>=a)(cn:caseExactMatch:=alice)(:dn:2.5.13.5:=example)(sn=Lu\c4\8di\c4\87)(cn=*\2a*))': a 0x81 length
    static let complexSearch = hex(
        """
        3081b60201026381b0041164633d6578616d706c652c64633d6f72670a01020a0100020100020100010100a08189a315
        040b6f626a656374436c6173730406706572736f6ea209a6070402736e04014da80b0402636e0405616c697365a50904
        046d61696c040161a91b810e6361736545786163744d617463688202636e8305616c696365a9168108322e352e31332e
        3583076578616d706c658401ffa30d0402736e04074c75c48d69c487a4090402636e300381012a3000
        """)
    /// S: slapd's SearchResultDone, success (messageID 2)
    static let searchDone = hex("300c02010265070a010004000400")
    /// C: ldapwhoami -x: the same octets as RFC 4532 §2.1's example
    static let whoAmI = hex("301e02010277198017312e332e362e312e342e312e343230332e312e31312e33")
    /// S: slapd's answer: success, an empty responseValue (anonymous)
    static let whoAmIAnonymous = hex("300e02010278090a0100040004008b00")
    /// C: ldapwhoami -x -ZZ: the StartTLS request, messageID 1, sent before any bind
    static let startTLS = hex("301d02010177188016312e332e362e312e342e312e313436362e3230303337")
    /// S: slapd without TLS configured: protocolError, 'unsupported extended operation'
    static let startTLSRefused = hex("302a02010178250a01020400041e756e737570706f7274656420657874656e646564206f7065726174696f6e")
    /// C: ldapcompare -x cn=alice,dc=example,dc=org sn:Liddell
    static let compare = hex(
        """
        30300201026e2b041a636e3d616c6963652c64633d6578616d706c652c64633d6f7267300d0402736e04074c69646465
        6c6c
        """)
    /// S: slapd's CompareResponse: compareTrue (6)
    static let compareTrue = hex("300c0201026f070a010604000400")
    /// C: ldapsearch -x -b dc=example,dc=org -E '!1.2.3.4=::AQID' -E 1.2.3.5 '(objectClass=*)' 1.1: an unknown critical control with a value and an unknown non-critical one
    static let controlsSearch = hex(
        """
        305b0201026336041164633d6578616d706c652c64633d6f72670a01020a0100020100020100010100870b6f626a6563
        74436c61737330050403312e31a01e30110407312e322e332e340101ff040301020330090407312e322e332e35
        """)
    /// S: slapd's SearchResultDone: unavailableCriticalExtension (12), 'critical extension is not recognized'
    static let criticalRefused = hex(
        """
        3030020102652b0a010c04000424637269746963616c20657874656e73696f6e206973206e6f74207265636f676e697a
        6564
        """)
    /// C: ldapsearch -x -b dc=example,dc=org '(&)' 1.1: an empty and (RFC 4526)
    static let absoluteTrueSearch = hex(
        """
        3030020102632b041164633d6578616d706c652c64633d6f72670a01020a0100020100020100010100a0003005040331
        2e31
        """)
    /// C: ldapadd -x -D cn=admin,... -w secret, one inetOrgPerson cn=bob
    static let add = hex(
        """
        305902010268540418636e3d626f622c64633d6578616d706c652c64633d6f72673038301e040b6f626a656374436c61
        7373310f040d696e65744f7267506572736f6e300b0402636e31050403626f6230090402736e3103040142
        """)
    /// S: slapd with readonly on: AddResponse unwillingToPerform (53), 'operation restricted'
    static let addRefused = hex("3020020102691b0a0135040004146f7065726174696f6e2072657374726963746564")
    /// C: ldapmodify -x -D ... -w secret: replace sn, add mail, delete description
    static let modify = hex(
        """
        3061020102665c041a636e3d616c6963652c64633d6578616d706c652c64633d6f7267303e300e0a010230090402736e
        310304015830160a0100301104046d61696c310904076140782e6f726730140a0101300f040b6465736372697074696f
        6e3100
        """)
    /// S: ModifyResponse unwillingToPerform, 'operation restricted'
    static let modifyRefused = hex("3020020102671b0a0135040004146f7065726174696f6e2072657374726963746564")
    /// C: ldapdelete -x -D ... -w secret cn=alice,dc=example,dc=org
    static let delete = hex("301f0201024a1a636e3d616c6963652c64633d6578616d706c652c64633d6f7267")
    /// S: DelResponse unwillingToPerform, 'operation restricted'
    static let deleteRefused = hex("30200201026b1b0a0135040004146f7065726174696f6e2072657374726963746564")
    /// C: ldapmodrdn -x -D ... -w secret -r -s ou=people,dc=example,dc=org cn=alice,dc=example,dc=org cn=alicia
    static let modifyDN = hex(
        """
        304c0201026c47041a636e3d616c6963652c64633d6578616d706c652c64633d6f72670409636e3d616c696369610101
        ff801b6f753d70656f706c652c64633d6578616d706c652c64633d6f7267
        """)
    /// S: ModifyDNResponse unwillingToPerform, 'operation restricted'
    static let modifyDNRefused = hex("30200201026d1b0a0135040004146f7065726174696f6e2072657374726963746564")
    /// C: ldapsearch -x -b dc=example,dc=org -s base -E pr=2/noprompt -E '!1.2.840.113556.1.4.319' '(objectClass=*)' 1.1: a second paged control, critical, without a value
    static let pagedCriticalNoValue = hex(
        """
        307d0201026336041164633d6578616d706c652c64633d6f72670a01000a0100020100020100010100870b6f626a6563
        74436c61737330050403312e31a040301b0416312e322e3834302e3131333535362e312e342e3331390101ff30210416
        312e322e3834302e3131333535362e312e342e333139040730050201020400
        """)
    /// S: slapd's SearchResultDone: protocolError, 'paged results control value is absent'
    static let pagedNoValueRefused = hex(
        """
        3031020102652c0a010204000425706167656420726573756c747320636f6e74726f6c2076616c756520697320616273
        656e74
        """)
    /// C: ldapwhoami -Y CRAM-MD5 -U alice -w wonder: a SASL bind without credentials
    static let saslBindStart = hex("301602010160110201030400a30a04084352414d2d4d4435")
    /// S: slapd's BindResponse: saslBindInProgress (14) with the challenge in serverSaslCreds [7]
    static let saslChallenge = hex(
        """
        3040020101613b0a010e0400041c5341534c2830293a207375636365737366756c20726573756c743a2087163c323039
        3839303431372e3130333430393940766d3e
        """)
    /// C: the client's second SASL bind: mechanism and credentials
    static let saslBindResponse = hex(
        """
        303e02010260390201030400a33204084352414d2d4d44350426616c6963652033303530366635633666303563633665
        32643031663162313934316165363132
        """)
    /// S: slapd's BindResponse: invalidCredentials (49)
    static let saslFailed = hex(
        """
        303c02010261370a0131040004305341534c282d3133293a2075736572206e6f7420666f756e643a206e6f2073656372
        657420696e206461746162617365
        """)
    /// S: slapd's answer to a message whose protocolOp is [APPLICATION 30] (`30 05 02 01 02 7e 00`,
    /// sent by hand): the Notice of Disconnection, messageID 0, protocolError, then it closed.
    static let slapdNotice = hex(
        "303802010078330a010204000414756e6b6e6f776e204c44415020726571756573748a16312e332e362e312e342e312e313436362e3230303336")
}
