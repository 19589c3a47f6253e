// swift-tools-version:6.1
// A libFuzzer target for LDAPCodec (STYLE §14), in its own package so the main build never links
// a binary without `main`. Sources/LDAPCodec is a symlink to the real one.
// Build and run (Linux): see README.md.
import PackageDescription

let package = Package(
    name: "LDAPCodecFuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        .target(
            name: "LDAPCodec",
            dependencies: [.product(name: "SwiftASN1", package: "swift-asn1"), .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("InternalImportsByDefault")]),
        .executableTarget(name: "LDAPCodecFuzz", dependencies: ["LDAPCodec", .product(name: "NIOCore", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
