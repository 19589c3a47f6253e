// swift-tools-version:6.1
// A libFuzzer target for POP3Codec (STYLE §14), in its own package so the main build never links
// a binary without `main`. Sources/MailCore, Sources/SASL, Sources/LineFraming and Sources/POP3Codec are
// symlinks to the real ones.
// Build and run (Linux): see README.md.
import PackageDescription

let package = Package(
    name: "POP3CodecFuzz",
    dependencies: [.package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")],
    targets: [
        .target(name: "MailCore"),
        .target(name: "SASL", dependencies: ["MailCore"]),
        .target(name: "LineFraming", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "POP3Codec", dependencies: ["MailCore", "SASL", "LineFraming", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(
            name: "POP3CodecFuzz", dependencies: ["POP3Codec", "LineFraming", .product(name: "NIOCore", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
