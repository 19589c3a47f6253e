// swift-tools-version:6.1
// A libFuzzer target for DNSCodec (STYLE §14), in its own package so the main build never links
// a binary without `main`. Sources/DNSCodec is a symlink to the real one; it imports nothing, so
// this package has no dependencies.
// Build and run (Linux): see README.md.
import PackageDescription

let package = Package(
    name: "DNSCodecFuzz",
    targets: [
        .target(name: "DNSCodec"),
        .executableTarget(name: "DNSCodecFuzz", dependencies: ["DNSCodec"]),
    ],
    swiftLanguageModes: [.v6]
)
