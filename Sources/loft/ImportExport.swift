import ArgumentParser
import Foundation
import MailCore
import MailFolders
import RPCProtocol
import RPCTransport

/// `loft import ACCOUNT PATH` and `loft export ACCOUNT PATH` (issue 14): mail in and out of
/// an account as Maildir (Dovecot's and Courier's Maildir++, or Dovecot's `LAYOUT=fs`) or mbox
/// (mboxrd or mboxo), with folders, flags, keywords and internal dates. Both go through the
/// back-end's RPC as an administrator acting for the account (`auth.impersonate`), the way a
/// gateway would: appends are checked against quota and size limits like any other.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a Maildir or mbox into an account: folders, flags, keywords and dates.",
        discussion: """
            PATH is a Maildir (a directory with cur/ and new/: its .Folder directories, or
            folder directories with cur/ inside, become mailboxes; flags from the :2, suffixes,
            keywords from dovecot-keywords, dates from the file times), an mbox file (into
            --mailbox, INBOX by default) or a directory of mbox files (one mailbox each, named
            by its path without .mbox). mbox flags come from Status, X-Status and X-Keywords,
            which are taken out of the message. Importing twice imports twice.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The account to import into.") var account: String
    @Argument(help: "A Maildir, an mbox file, or a directory of mbox files.") var path: String
    @Option(help: "maildir, mbox, or auto (by what PATH holds).") var format: String = "auto"
    @Option(help: "How the mbox quotes body lines that start with From: mboxrd or mboxo.") var quoting: String = "mboxrd"
    @Option(help: "The mailbox a single mbox file goes into.") var mailbox: String = "INBOX"

    func validate() throws {
        guard ["auto", "maildir", "mbox"].contains(format) else { throw ValidationError("--format must be auto, maildir or mbox") }
        guard Mbox.Quoting(rawValue: quoting) != nil else { throw ValidationError("--quoting must be mboxrd or mboxo") }
    }

    func run() async throws {
        let folders = try MailFolderFiles.read(path: path, format: format, quoting: Mbox.Quoting(rawValue: quoting)!, mbox: mailbox)
        let admin = try AdminConnection(global)
        let session = try await admin.call(Methods.authImpersonate, ImpersonateParams(account: account)).session
        let total = folders.reduce(0) { $0 + $1.messages.count }
        var progress = TransferProgress(total: total, verb: "importing")
        var failed: [String] = []
        for folder in folders {
            try await MailboxTransfer.ensure(folder.name, session: session, client: admin.client)
            for pending in folder.messages {
                let message: FolderMessage
                do {
                    message = try pending.load()
                } catch {
                    failed.append("\(folder.name) \(pending.source): \(error)")
                    continue
                }
                do {
                    try await MailboxTransfer.append(message, to: folder.name, session: session, client: admin.client)
                } catch {
                    failed.append("\(folder.name) \(pending.source): \(error.message)")
                }
                progress.step(folder.name)
            }
        }
        progress.finish()
        print("imported \(total - failed.count) messages into \(folders.count) mailboxes of \(account)")
        for f in failed.prefix(20) { print("not imported: \(f)") }
        if failed.count > 20 { print("… and \(failed.count - 20) more") }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export an account's mail as a Maildir or as mbox files.",
        discussion: """
            PATH must not exist or be empty. maildir: a Maildir++ tree (INBOX at the top, other
            mailboxes as .Name directories, keywords in dovecot-keywords, file times the
            internal dates), as Dovecot reads it. mbox: one mboxrd file per mailbox,
            PATH/<mailbox>.mbox, flags in Status, X-Status and X-Keywords.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The account to export.") var account: String
    @Argument(help: "A new or empty directory.") var path: String
    @Option(help: "maildir or mbox.") var format: String = "maildir"

    func validate() throws {
        guard ["maildir", "mbox"].contains(format) else { throw ValidationError("--format must be maildir or mbox") }
    }

    func run() async throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path), !((try? fm.contentsOfDirectory(atPath: path)) ?? ["?"]).isEmpty {
            throw CLIError("\(path) is not empty; export into a new directory")
        }
        let admin = try AdminConnection(global)
        let session = try await admin.call(Methods.authImpersonate, ImpersonateParams(account: account)).session
        let boxes = try await admin.call(Methods.mailboxList, MailboxListParams(session: session, status: true)).mailboxes
            .filter { $0.noselect != true }
        let total = boxes.reduce(0) { $0 + ($1.status?.messages ?? 0) }
        var progress = TransferProgress(total: total, verb: "exporting")
        let writer = try MailFolderFiles.Writer(path: path, format: format)
        var count = 0
        for box in boxes {
            try writer.begin(folder: box.name)
            var after: UInt32?
            repeat {
                let page = try await admin.call(
                    Methods.messageList, MessageListParams(session: session, mailbox: box.name, limit: 500, afterUid: after))
                for summary in page.messages {
                    let data = try await MailboxTransfer.read(summary.uid, in: box.name, session: session, admin: admin)
                    try writer.add(
                        FolderMessage(data: data, flags: summary.flags, internalDate: summary.internalDate, source: "uid \(summary.uid)"))
                    count += 1
                    progress.step(box.name)
                }
                after = page.nextAfterUid
            } while after != nil
            try writer.end()
        }
        progress.finish()
        print("exported \(count) messages from \(boxes.count) mailboxes of \(account) to \(path) (\(format))")
    }
}

/// The RPC side of moving mail: mailboxes made as needed, messages appended and read whole.
enum MailboxTransfer {
    static func ensure(_ name: String, session: String, client: RPCClient) async throws {
        guard name != "INBOX" else { return }
        do {
            _ = try await client.call(Methods.mailboxCreate, MailboxCreateParams(session: session, mailbox: name))
        } catch {
            // Already there (the default Sent, Drafts …, or an earlier import): that is fine.
            if !error.is(.mailboxExists) { throw CLIError("cannot create mailbox \(name): \(error.message)") }
        }
    }

    static func append(_ message: FolderMessage, to mailbox: String, session: String, client: RPCClient) async throws(RPCError) {
        let started = try await client.call(
            Methods.messageAppend,
            MessageAppendParams(
                session: session, mailbox: mailbox, flags: message.flags, internalDate: message.internalDate,
                size: Int64(message.data.count)))
        var offset = 0
        let chunk = 1 << 20
        repeat {
            let end = min(message.data.count, offset + chunk)
            _ = try await client.call(
                Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(Array(message.data[offset..<end]))))
            offset = end
        } while offset < message.data.count
        _ = try await client.call(Methods.uploadCommit, UploadParams(upload: started.upload))
    }

    static func read(_ uid: UInt32, in mailbox: String, session: String, admin: AdminConnection) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let part = try await admin.call(
                Methods.messageRead, MessageReadParams(session: session, mailbox: mailbox, uid: uid, offset: Int64(bytes.count)))
            bytes += part.data.bytes
            if part.data.bytes.isEmpty || bytes.count >= part.total { return bytes }
        }
    }
}

/// A progress line on standard error when it is a terminal (`\r`-rewritten), nothing otherwise.
struct TransferProgress {
    let total: Int
    let verb: String
    var done = 0
    let terminal = isatty(STDERR_FILENO) == 1

    init(total: Int, verb: String) {
        self.total = total
        self.verb = verb
    }

    mutating func step(_ where: String) {
        done += 1
        guard terminal, done == total || done % 25 == 0 else { return }
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(verb) [\(bar)] \(done)/\(total)  \(`where`)\u{1B}[K".utf8))
    }

    func finish() {
        if terminal && total > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
