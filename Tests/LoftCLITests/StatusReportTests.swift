import Foundation
import RPCProtocol
import Testing

@testable import loft

/// `loft status`'s verdict from what it gathered (issue 14), as a table: each row one
/// situation and the problems it must name (empty: all is well, exit status 0).
@Suite struct StatusReportTests {
    static let now = Date(timeIntervalSince1970: 2_000_000_000)
    static let day: Int64 = 86_400

    static func child(_ name: String, _ state: ServeChild.State, exit: String? = nil) -> ServeChild {
        ServeChild(
            name: name, state: state, pid: state == .running ? 100 : nil, startedAt: 1_999_990_000, restarts: exit == nil ? 0 : 3,
            lastExit: exit, lastExitAt: exit == nil ? nil : 1_999_999_000)
    }

    static func serve(_ children: [ServeChild]) -> ServeStatus {
        ServeStatus(pid: 99, startedAt: 1_999_990_000, children: [child("backend", .running)] + children)
    }

    static func backend(problems: [String] = []) -> ServerStatusResult {
        ServerStatusResult(
            pid: 100, startedAt: 1_999_990_000, domains: 1, accounts: 2, messages: 3, messageBytes: 3000, bodies: 2, bodyBytes: 2000,
            fileBodies: 0, fileBodyBytes: 0, databaseBytes: 1 << 20, freeBytes: 10 << 30, minFreeBytes: 64 << 20,
            maxMessageBytes: 50 << 20,
            queue: QueueStatusResult(messages: 1, recipients: 2, deferred: 1, leased: 0, oldestAt: 1_999_996_400, nextDueAt: nil),
            problems: problems)
    }

    static func certificate(daysLeft: Int64, error: String? = nil) -> CertificateStatus {
        CertificateStatus(
            path: "cert.pem", subject: "CN=mx", selfSigned: false, notAfter: 2_000_000_000 + daysLeft * day + 60, error: error)
    }

    static let up = [ListenerStatus(gateway: "smtp", address: "0.0.0.0", port: 25, tls: "starttls", mode: "mx", listening: true)]
    static let down = [ListenerStatus(gateway: "smtp", address: "0.0.0.0", port: 25, tls: "starttls", mode: "mx", listening: false)]

    struct Row: Sendable {
        var what: String
        var serve: ServeStatus?
        var serveRunning = true
        var backend: ServerStatusResult?
        var listeners = StatusReportTests.up
        var certificate: CertificateStatus? = StatusReportTests.certificate(daysLeft: 90)
        var problems: [String]
    }

    static let rows: [Row] = [
        Row(what: "all well", serve: serve([child("smtp", .running)]), backend: backend(), problems: []),
        Row(
            what: "a child given up on", serve: serve([child("smtp", .stopped, exit: "status 78")]), backend: backend(),
            problems: ["smtp is stopped (last exit: status 78): loft serve gave up on it; its log says why"]),
        Row(
            what: "a child restarting", serve: serve([child("smtp", .restarting, exit: "signal 9")]), backend: backend(),
            listeners: down,
            problems: ["smtp exited (last exit: signal 9) and is being restarted", "smtp: nothing answers on 0.0.0.0:25"]),
        Row(
            what: "nothing runs; no certificate yet is not a problem of its own", serve: nil, backend: nil, listeners: down,
            certificate: certificate(daysLeft: 0, error: "cannot be read"),
            problems: ["loft serve is not running", "the back-end cannot be reached: down"]),
        Row(
            what: "serve killed outright", serve: serve([child("smtp", .running)]), serveRunning: false, backend: nil, listeners: down,
            problems: [
                "loft serve (pid 99) is gone without stopping its children: it was killed or crashed",
                "the back-end cannot be reached: down",
            ]),
        Row(what: "processes started by hand, not by serve", serve: nil, backend: backend(), problems: []),
        Row(
            what: "certificate expiring", serve: serve([]), backend: backend(), certificate: certificate(daysLeft: 13),
            problems: ["TLS certificate cert.pem expires in 13 days"]),
        Row(
            what: "certificate with 14 days left", serve: serve([]), backend: backend(), certificate: certificate(daysLeft: 14),
            problems: []),
        Row(
            what: "certificate expired", serve: serve([]), backend: backend(), certificate: certificate(daysLeft: -3),
            problems: ["TLS certificate cert.pem expired 3 days ago"]),
        Row(
            what: "certificate unreadable while running", serve: serve([]), backend: backend(),
            certificate: certificate(daysLeft: 0, error: "not a PEM certificate"),
            problems: ["TLS certificate cert.pem: not a PEM certificate"]),
        Row(
            what: "the back-end's own problems", serve: serve([]), backend: backend(problems: ["disk space: only 100M free"]),
            problems: ["disk space: only 100M free"]),
    ]

    @Test(arguments: rows.indices)
    func verdict(_ index: Int) {
        let row = Self.rows[index]
        let report = StatusReport(
            serve: row.serve, serveRunning: row.serveRunning, backend: row.backend, backendError: "down", listeners: row.listeners,
            certificate: row.certificate, now: Self.now)
        #expect(report.problems == row.problems, "\(row.what)")
        #expect(report.ok == row.problems.isEmpty, "\(row.what)")
        let text = report.text(now: Self.now)
        #expect(text.hasPrefix(row.problems.isEmpty ? "Loft: all is well\n" : "Loft: \(row.problems.count) problem"), "\(row.what)")
        for problem in row.problems { #expect(text.contains("  ! \(problem)\n"), "\(row.what)") }
    }

    @Test func textNamesChildrenListenersStoreAndQueue() {
        let report = StatusReport(
            serve: Self.serve([Self.child("smtp", .running, exit: "signal 9")]), serveRunning: true, backend: Self.backend(),
            backendError: nil, listeners: Self.up, certificate: Self.certificate(daysLeft: 90), now: Self.now)
        let text = report.text(now: Self.now)
        for line in [
            "loft serve   pid 99, up 2h 46m",
            "  smtp       running, pid 100, up 2h 46m, 3 restarts (last exit: signal 9, 16m ago)",
            "               0.0.0.0:25 starttls mx  listening",
            "store        1 domains, 2 accounts, 3 messages (2.9K charged to accounts)",
            "queue        1 message, 2 recipients waiting (1 deferred, 0 being delivered), oldest from 1h 0m ago",
            "certificate  cert.pem: CN=mx, valid 90 more days",
        ] {
            #expect(text.contains(line + "\n"), "\(line)\n---\n\(text)")
        }
    }

    /// A chain file (fullchain.pem: leaf, then intermediates) is read by its first certificate.
    @Test func aCertificateChainIsReadByItsLeaf() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loft-chain-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try SelfSignedCertificate.ensure(directory: dir, hostname: "leaf.test")
        let one = try String(contentsOfFile: dir + "/cert.pem", encoding: .utf8)
        try (one + one).write(toFile: dir + "/chain.pem", atomically: true, encoding: .utf8)
        let status = CertificateStatus.read(path: dir + "/chain.pem")
        #expect(status.error == nil && status.subject.contains("CN=leaf.test") && status.selfSigned, "\(status)")
        try "not pem".write(toFile: dir + "/bad.pem", atomically: true, encoding: .utf8)
        #expect(CertificateStatus.read(path: dir + "/bad.pem").error != nil)
    }

    /// An mbox export keeps every mailbox inside its directory, whatever its name's levels.
    @Test func exportNamesStayInside() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loft-export-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try MailFolderFiles.Writer(path: dir + "/out", format: "mbox")
        try writer.begin(folder: "../../escape")
        try writer.end()
        #expect(FileManager.default.fileExists(atPath: dir + "/out/_../_../escape.mbox"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/escape.mbox"))
    }

    @Test(arguments: [(0, "0s"), (59, "59s"), (60, "1m"), (3720, "1h 2m"), (200_000, "2d 7h"), (-5, "0s")] as [(Int64, String)])
    func span(seconds: Int64, text: String) {
        #expect(StatusReport.span(seconds) == text)
    }
}
