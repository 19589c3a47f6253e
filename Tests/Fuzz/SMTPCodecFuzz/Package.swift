// swift-tools-version:6.1
// A libFuzzer target for SMTPCodec (STYLE §14), in its own package so the main build never links
// a binary without `main`. Sources/MailCore, Sources/SASL, Sources/LineFraming and Sources/SMTPCodec are
// symlinks to the real ones.
// Build and run (Linux):
//   cd Tests/Fuzz/SMTPCodecFuzz
//   swift build -c release -Xswiftc -sanitize=fuzzer,address
//   .build/release/SMTPCodecFuzz corpus -max_total_time=300
import PackageDescription

let package = Package(
    name: "SMTPCodecFuzz",
    dependencies: [.package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")],
    targets: [
        .target(name: "MailCore"),
        .target(name: "SASL", dependencies: ["MailCore"]),
        .target(name: "LineFraming", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "SMTPCodec", dependencies: ["MailCore", "SASL", "LineFraming", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(
            name: "SMTPCodecFuzz", dependencies: ["SMTPCodec", .product(name: "NIOCore", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
