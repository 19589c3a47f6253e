import Foundation
import MailMessage
import Testing

/// Access to the shared MimeKit corpus and small helpers for slicing parsed offsets.
enum Fixtures {
    /// The repository's root: this file is `Tests/MailMessageTests/Fixtures.swift` in it.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/corpus/mimekit` from the repository's root, and only there: a corpus found
    /// anywhere else would make the tests depend on the machine rather than the checkout.
    static let corpus = repositoryRoot.appendingPathComponent("../shared/corpus/mimekit").standardizedFileURL

    /// Why the corpus cannot be used, naming the path it was expected at; nil when it is there.
    static var missing: String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: corpus.path, isDirectory: &isDirectory), isDirectory.boolValue { return nil }
        return "the MimeKit corpus is missing: expected a directory at \(corpus.path) (../shared/corpus/mimekit from the repository root)"
    }

    struct CorpusMissing: Error, CustomStringConvertible {
        let description: String
    }

    static func files(in folder: String, extensions: Set<String>) -> [String] {
        let directory = corpus.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { extensions.contains(($0 as NSString).pathExtension) }.sorted().map { folder + "/" + $0 }
    }

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        if let missing { throw CorpusMissing(description: missing) }
        return Array(try Data(contentsOf: corpus.appendingPathComponent(relativePath)))
    }

    static func parse(_ relativePath: String) throws -> (bytes: [UInt8], message: ParsedMessage) {
        let bytes = try bytes(relativePath)
        return (bytes, MessageParser.parse(bytes))
    }

    static func text(_ bytes: [UInt8], _ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// Joins lines with CRLF, the canonical form stored messages have.
    static func crlf(_ lines: String...) -> [UInt8] {
        Array(lines.joined(separator: "\r\n").utf8)
    }
}
