import Foundation
import MailCore
import MailFolders

/// The file side of `loft import` and `loft export`: walking a Maildir tree or mbox files
/// into folders of messages, and writing them back out. The naming, flag and quoting rules
/// are `MailFolders`' (pure, tested as tables); this only reads and writes files.
enum MailFolderFiles {
    /// A mailbox to import: its messages found, each read only when it is appended, so a
    /// store of any size goes through in bounded memory.
    struct Folder {
        var name: String
        var messages: [PendingMessage]
    }

    struct PendingMessage {
        let source: String
        let load: () throws -> FolderMessage
    }

    static func read(path: String, format: String, quoting: Mbox.Quoting, mbox target: String) throws -> [Folder] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CLIError("\(path) does not exist") }
        let maildir = isDirectory.boolValue && isMaildirFolder(path)
        switch format {
        case "maildir",
            "auto" where maildir:
            guard isDirectory.boolValue else { throw CLIError("\(path) is not a Maildir (no cur/ and new/)") }
            return try readMaildir(path)
        default:
            if !isDirectory.boolValue { return [Folder(name: target, messages: try readMbox(path, quoting: quoting))] }
            return try mboxFiles(path).map { Folder(name: $0.name, messages: try readMbox($0.path, quoting: quoting)) }
        }
    }

    static func isMaildirFolder(_ dir: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: dir + "/cur") || fm.fileExists(atPath: dir + "/new")
    }

    /// INBOX at the root, `.Name` directories (Maildir++), and directories holding cur/ found
    /// below the root (LAYOUT=fs), each level's name in modified UTF-7.
    static func readMaildir(_ root: String) throws -> [Folder] {
        var folders: [Folder] = []
        if isMaildirFolder(root) { folders.append(Folder(name: "INBOX", messages: try readMaildirFolder(root))) }
        let fm = FileManager.default
        for entry in try fm.contentsOfDirectory(atPath: root).sorted() {
            let full = root + "/" + entry
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue,
                !["cur", "new", "tmp"].contains(entry)
            else { continue }
            if let name = Maildir.folder(maildirPlusPlus: entry) {
                if isMaildirFolder(full) { folders.append(Folder(name: name, messages: try readMaildirFolder(full))) }
            } else if !entry.hasPrefix(".") {
                folders += try readFSLayout(full, name: [entry])
            }
        }
        // A Maildir++ INBOX folder and the root are one mailbox.
        var merged: [String: Folder] = [:]
        var order: [String] = []
        for f in folders {
            if merged[f.name] == nil { order.append(f.name) }
            merged[f.name, default: Folder(name: f.name, messages: [])].messages += f.messages
        }
        return order.map { merged[$0]! }
    }

    static func readFSLayout(_ dir: String, name: [String]) throws -> [Folder] {
        let decoded = name.map { ModifiedUTF7.decode(Array($0.utf8)) ?? $0 }.joined(separator: "/")
        var out: [Folder] = []
        if isMaildirFolder(dir) { out.append(Folder(name: decoded, messages: try readMaildirFolder(dir))) }
        let fm = FileManager.default
        for entry in try fm.contentsOfDirectory(atPath: dir).sorted() where !["cur", "new", "tmp"].contains(entry) {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: dir + "/" + entry, isDirectory: &isDirectory), isDirectory.boolValue, !entry.hasPrefix(".") {
                out += try readFSLayout(dir + "/" + entry, name: name + [entry])
            }
        }
        return out
    }

    /// cur/ and new/ (a name without `:2,` has no flags yet), in Dovecot's UID order where
    /// it kept one, else oldest first by file time, then name.
    static func readMaildirFolder(_ dir: String) throws -> [PendingMessage] {
        let fm = FileManager.default
        let keywords = (try? String(contentsOfFile: dir + "/dovecot-keywords", encoding: .utf8)).map(Maildir.keywords) ?? [:]
        let uids = (try? String(contentsOfFile: dir + "/dovecot-uidlist", encoding: .utf8)).map(Maildir.uids) ?? [:]
        var out: [(uid: UInt32, date: Int64, name: String, message: PendingMessage)] = []
        for sub in ["cur", "new"] {
            for name in (try? fm.contentsOfDirectory(atPath: dir + "/" + sub)) ?? [] where !name.hasPrefix(".") {
                let file = "\(dir)/\(sub)/\(name)"
                let date = Int64(((try? fm.attributesOfItem(atPath: file)[.modificationDate]) as? Date)?.timeIntervalSince1970 ?? 0)
                // Dovecot leaves a message in new/ when flags are set before a client saw it.
                let flags = Maildir.flags(fileName: name, keywords: keywords)
                let message = PendingMessage(source: file) {
                    guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
                    return FolderMessage(data: LineEndings.crlf([UInt8](data)), flags: flags, internalDate: date, source: file)
                }
                out.append((uids[Maildir.base(name)] ?? .max, date, name, message))
            }
        }
        // Dovecot's UID order where it kept one; the rest after, oldest first.
        return out.sorted { ($0.uid, $0.date, $0.name) < ($1.uid, $1.date, $1.name) }.map(\.message)
    }

    /// Every regular file below `root`, its mailbox its relative path without `.mbox`.
    static func mboxFiles(_ root: String) throws -> [(name: String, path: String)] {
        let fm = FileManager.default
        var out: [(name: String, path: String)] = []
        guard let walker = fm.enumerator(atPath: root) else { return [] }
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue,
                !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") })
            else { continue }
            let name = relative.hasSuffix(".mbox") ? String(relative.dropLast(5)) : relative
            out.append((name.uppercased() == "INBOX" ? "INBOX" : name, root + "/" + relative))
        }
        return out.sorted { $0.name < $1.name }
    }

    /// The file is mapped, not read: only the message being appended is in memory.
    static func readMbox(_ path: String, quoting: Mbox.Quoting) throws -> [PendingMessage] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw CLIError("cannot read \(path): \(error.localizedDescription)")
        }
        let fallback = Int64(
            ((try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date)?.timeIntervalSince1970 ?? 0)
        return data.withUnsafeBytes { raw in Mbox.messages(in: raw.bindMemory(to: UInt8.self)) }.enumerated().map { index, span in
            let source = "\(path) #\(index + 1)"
            return PendingMessage(source: source) {
                let entry = data.withUnsafeBytes { raw in Mbox.entry(raw.bindMemory(to: UInt8.self), span, quoting: quoting) }
                return FolderMessage(data: entry.message, flags: entry.flags, internalDate: entry.date ?? fallback, source: source)
            }
        }
    }

    /// Writes folders into a new directory, as Maildir++ or one mboxrd file per mailbox.
    final class Writer {
        let path: String
        let format: String
        var sequence = 0

        init(path: String, format: String) throws {
            self.path = path
            self.format = format
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }

        // The mailbox being written: each message goes to disk as it comes.
        var directory = ""
        var mbox: FileHandle?
        var letters: [String] = []
        var names: [String] = []
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ":", with: "_")

        func begin(folder: String) throws {
            letters = []
            names = []
            if format == "mbox" {
                // A level `.` or `..` (a mailbox an IMAP client may name so) must not leave PATH.
                let levels = folder.split(separator: "/", omittingEmptySubsequences: false).map { level in
                    level.isEmpty || level == "." || level == ".." ? "_" + level : String(level)
                }
                let file = path + "/" + levels.joined(separator: "/") + ".mbox"
                try FileManager.default.createDirectory(
                    atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600]),
                    let handle = FileHandle(forWritingAtPath: file)
                else { throw CLIError("cannot create \(file)") }
                mbox = handle
                return
            }
            directory = Maildir.directory(maildirPlusPlus: folder).map { path + "/" + $0 } ?? path
            for sub in ["cur", "new", "tmp"] {
                try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
            }
        }

        func add(_ m: FolderMessage) throws {
            if let mbox {
                try mbox.write(contentsOf: Data(Mbox.write(m.data, flags: m.flags, date: m.internalDate)))
                return
            }
            sequence += 1
            let base = "\(m.internalDate).M\(sequence)P\(getpid()).\(host)"
            names.append(base)
            let file = directory + "/cur/" + base + Maildir.info(m.flags, letters: &letters)
            try Data(LineEndings.lf(m.data)).write(to: URL(fileURLWithPath: file))
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: TimeInterval(m.internalDate))], ofItemAtPath: file)
        }

        func end() throws {
            if let mbox {
                try mbox.close()
                self.mbox = nil
                return
            }
            // The order travels with the files: Dovecot, and `loft import`, read it back.
            try Maildir.uidlistFile(names, uidValidity: UInt32(Date().timeIntervalSince1970))
                .write(toFile: directory + "/dovecot-uidlist", atomically: true, encoding: .utf8)
            if !letters.isEmpty {
                try Maildir.keywordsFile(letters).write(toFile: directory + "/dovecot-keywords", atomically: true, encoding: .utf8)
            }
        }
    }
}
