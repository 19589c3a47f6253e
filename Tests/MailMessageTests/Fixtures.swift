import Foundation
import MailMessage
import Testing

/// Access to the shared MimeKit corpus and small helpers for slicing parsed offsets.
enum Fixtures {
    /// `shared/corpus/mimekit`, found by walking up from this file (symlinks resolved), which is
    /// `../../../shared/corpus/mimekit` in the repository.
    static let corpus: URL = {
        var directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent("shared/corpus/mimekit")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "/work/shared/corpus/mimekit")
    }()

    static func files(in folder: String, extensions: Set<String>) -> [String] {
        let directory = corpus.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { extensions.contains(($0 as NSString).pathExtension) }.sorted().map { folder + "/" + $0 }
    }

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        Array(try Data(contentsOf: corpus.appendingPathComponent(relativePath)))
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
