// swift-tools-version:6.1
// Loft: a complete mail server suite. The module map and its one-way imports are in DESIGN §6
// (../shared/DESIGN.md); each module's top doc comment repeats what it owns and may import.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Loft",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "loft", targets: ["loft"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // IMAP COMPRESS=DEFLATE (RFC 4978): streaming raw deflate over the system's zlib.
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        // Metrics (issue 14): swift-metrics is the API every module counts through (as
        // swift-log is for logs); swift-prometheus renders it, wired in the executable only.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(name: "MailCore", swiftSettings: strict),
        .target(name: "JSONCodec", swiftSettings: strict),
        .target(name: "MailMessage", dependencies: ["MailCore", "JSONCodec"], swiftSettings: strict),
        // Maildir and mbox naming, quoting and flags for `loft import` / `loft export`: pure.
        .target(name: "MailFolders", dependencies: ["MailCore"], swiftSettings: strict),
        .target(name: "RPCProtocol", dependencies: ["MailCore", "JSONCodec"], swiftSettings: strict),
        .target(name: "SASL", dependencies: ["MailCore"], swiftSettings: strict),
        .target(name: "LineFraming", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .target(
            name: "RPCTransport",
            dependencies: [
                "RPCProtocol", "LineFraming", "JSONCodec",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "Storage",
            dependencies: [
                "MailCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "Backend",
            dependencies: [
                "Storage", "RPCProtocol", "RPCTransport", "MailMessage", "MailCore", "JSONCodec",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict),
        .target(
            name: "SMTPCodec",
            dependencies: ["MailCore", "SASL", "LineFraming", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .target(
            name: "POP3Codec",
            dependencies: ["MailCore", "SASL", "LineFraming", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .target(
            name: "IMAPCodec",
            dependencies: ["MailCore", "SASL", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        // LDAPv3 (RFC 4511) for the read-only directory: BER with swift-asn1, pure, no I/O.
        .target(
            name: "LDAPCodec",
            dependencies: [.product(name: "SwiftASN1", package: "swift-asn1"), .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        // DNS messages (RFC 1035) for the relay's MX lookups: pure, no I/O.
        .target(name: "DNSCodec", swiftSettings: strict),
        .target(
            name: "LoftConfig",
            dependencies: ["MailCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        .target(
            name: "GatewayKit",
            dependencies: [
                "RPCTransport", "RPCProtocol", "MailCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .target(
            name: "POP3Gateway",
            dependencies: [
                "POP3Codec", "SASL", "LineFraming", "GatewayKit", "RPCProtocol", "RPCTransport", "MailCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "SMTPGateway",
            dependencies: [
                "SMTPCodec", "SASL", "GatewayKit", "RPCProtocol", "RPCTransport", "MailCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "IMAPGateway",
            dependencies: [
                "IMAPCodec", "SASL", "GatewayKit", "RPCProtocol", "RPCTransport", "MailMessage", "MailCore", "JSONCodec",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "LDAPGateway",
            dependencies: [
                "LDAPCodec", "GatewayKit", "RPCProtocol", "RPCTransport", "MailCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "Relay",
            dependencies: [
                "SMTPCodec", "DNSCodec", "GatewayKit", "RPCProtocol", "RPCTransport", "MailCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "loft",
            dependencies: [
                "Backend", "RPCTransport", "RPCProtocol", "LoftConfig", "MailCore", "GatewayKit", "POP3Gateway", "SMTPGateway",
                "IMAPGateway", "LDAPGateway", "SASL",
                "Relay", "SMTPCodec", "MailFolders",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "loft-bench",
            dependencies: [
                "RPCTransport", "RPCProtocol", "MailCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/LoftBench",
            swiftSettings: strict),
        .target(
            name: "LoftTestSupport",
            dependencies: [
                "Backend", "RPCTransport", "RPCProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport"),
        .testTarget(name: "MailCoreTests", dependencies: ["MailCore"]),
        .testTarget(name: "JSONCodecTests", dependencies: ["JSONCodec"]),
        .testTarget(name: "MailMessageTests", dependencies: ["MailMessage", "MailCore", "JSONCodec"]),
        .testTarget(name: "MailFoldersTests", dependencies: ["MailFolders", "MailCore"]),
        .testTarget(name: "DNSCodecTests", dependencies: ["DNSCodec"]),
        .testTarget(
            name: "RelayTests",
            dependencies: [
                "Relay", "DNSCodec", "SMTPCodec", "LoftTestSupport", "Backend", "RPCTransport", "RPCProtocol", "MailCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .testTarget(name: "LoftConfigTests", dependencies: ["LoftConfig"]),
        .testTarget(name: "SASLTests", dependencies: ["SASL", "MailCore"]),
        .testTarget(name: "LineFramingTests", dependencies: ["LineFraming", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "SMTPCodecTests", dependencies: ["SMTPCodec", "SASL", "MailCore", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "POP3CodecTests",
            dependencies: ["POP3Codec", "SASL", "LineFraming", "MailCore", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "LDAPCodecTests", dependencies: ["LDAPCodec", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "LoftCLITests", dependencies: ["loft"]),
        .testTarget(
            name: "LDAPGatewayTests",
            dependencies: [
                "LDAPGateway", "LDAPCodec", "LoftTestSupport", "GatewayKit", "RPCProtocol", "MailCore",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(
            name: "IMAPCodecTests", dependencies: ["IMAPCodec", "SASL", "MailCore", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "RPCTransportTests",
            dependencies: [
                "RPCTransport", "RPCProtocol", "JSONCodec", "MailCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "GatewayKitTests",
            dependencies: [
                "LoftTestSupport", "GatewayKit", "Backend", "RPCTransport", "RPCProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .testTarget(
            name: "POP3GatewayTests",
            dependencies: [
                "LoftTestSupport", "POP3Gateway", "POP3Codec", "GatewayKit", "Backend", "RPCTransport", "RPCProtocol", "MailCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .testTarget(
            name: "SMTPGatewayTests",
            dependencies: [
                "LoftTestSupport", "SMTPGateway", "SMTPCodec", "GatewayKit", "Backend", "RPCTransport", "RPCProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "Storage", "MailCore",
                .product(name: "Crypto", package: "swift-crypto"),
                // Only SQLiteStoreTests uses it, to damage a database on purpose.
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "BackendTests",
            dependencies: [
                "LoftTestSupport", "Backend", "Storage", "RPCTransport", "RPCProtocol", "MailMessage", "MailCore", "JSONCodec",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
