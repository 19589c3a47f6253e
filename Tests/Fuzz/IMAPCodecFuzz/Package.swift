// swift-tools-version:6.1
// A libFuzzer target for IMAPCodec (STYLE §14), in its own package so the main build never links
// a binary without `main`. Sources/MailCore, Sources/SASL and Sources/IMAPCodec are symlinks to
// the real ones.
// Build and run (Linux): see README.md.
import PackageDescription

let package = Package(
    name: "IMAPCodecFuzz",
    dependencies: [.package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")],
    targets: [
        .target(name: "MailCore"),
        .target(name: "SASL", dependencies: ["MailCore"]),
        .target(name: "IMAPCodec", dependencies: ["MailCore", "SASL", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(name: "IMAPCodecFuzz", dependencies: ["IMAPCodec", "MailCore", .product(name: "NIOCore", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
