import Dispatch
import Foundation
import RPCProtocol
import RPCTransport

/// `loft-bench scale`: the store at scale (issue 8). Starts `loft backend` in a fresh data
/// directory, adds `--accounts` accounts, fills the store with `--messages` 4 KiB messages by
/// `delivery.submit` over `--streams` concurrent connections (one recipient each; `--big` of
/// them to one account, the rest spread evenly over the others, interleaved all through the
/// fill; every message different), and reports:
///
/// - the delivery rate (and back-end CPU per message) of the first `--window` messages (empty
///   store), of each stretch of 100,000 in between, and of the last `--window` (full store), and
///   the ratio last/first;
/// - `mailbox.status` of the big account's INBOX over gateway.sock with a user session: median
///   and p99 of `--status-calls` calls, once with a blocking socket (the back-end alone) and
///   once with the async `RPCClient`;
/// - the back-end's RSS (VmRSS and the peak VmHWM) after the fill;
/// - the time SIGTERM takes, the data directory's size, then the time a restart on the same
///   directory takes until `ping` answers, and an immediate login + `mailbox.status` after it.
///
///     loft-bench scale [--messages 1000000] [--accounts 1000] [--big 200000] [--streams 32]
///                      [--window 20000] [--status-calls 100] [--loft PATH] [--keep]
///     loft-bench scale --reuse DIR [--loft PATH]
///
/// `--loft` names the `loft` binary to run (default: the one beside loft-bench), so that one
/// loft-bench can measure the binaries of two checkouts. `--keep` leaves the data directory;
/// `--reuse DIR` skips the fill and measures a store so kept (by the same `loft`) again, from
/// `mailbox.status` on.
enum Scale {
    static func run(_ args: [String], loft: String) async throws {
        func value(_ flag: String, _ fallback: Int) -> Int {
            args.firstIndex(of: flag).flatMap { args.indices.contains($0 + 1) ? Int(args[$0 + 1]) : nil } ?? fallback
        }
        let total = value("--messages", 1_000_000)
        let accounts = max(2, value("--accounts", 1000))
        let big = min(total, value("--big", 200_000))
        let streams = max(1, value("--streams", 32))
        let window = min(value("--window", 20_000), total / 4)
        let statusCalls = max(1, value("--status-calls", 100))
        let reuse = args.firstIndex(of: "--reuse").flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil }
        let keep = args.contains("--keep") || reuse != nil

        let dir = reuse ?? NSTemporaryDirectory() + "loft-bench-scale-\(getpid())"
        if reuse == nil { try? FileManager.default.removeItem(atPath: dir) }
        let gateway = dir + "/gateway.sock"
        try? FileManager.default.removeItem(atPath: gateway)  // a kept store's, from its last run
        var backend = try startBackend(loft, dir)
        defer {
            if backend.isRunning {
                backend.terminate()
                backend.waitUntilExit()
            }
            if !keep { try? FileManager.default.removeItem(atPath: dir) }
        }
        while !FileManager.default.fileExists(atPath: gateway) { usleep(20_000) }
        var pid = backend.processIdentifier
        say("# loft-bench scale  (\(ProcessInfo.processInfo.activeProcessorCount) cores, \(loft), back-end pid \(pid), data in \(dir))")
        if reuse == nil {
            say("# \(total) messages of 4 KiB over \(streams) streams, \(accounts) accounts, \(big) to one of them; window \(window)\n")
        }

        let domain = "scale.test"
        if reuse == nil {
            let admin = RPCClient(path: dir + "/admin.sock", software: "bench")
            _ = try await admin.call(Methods.domainAdd, DomainParams(name: domain))
            let t0 = DispatchTime.now().uptimeNanoseconds
            for i in 0..<accounts {
                _ = try await admin.call(Methods.accountAdd, AccountAddParams(address: "user\(i)@\(domain)", password: "pw"))
            }
            say(
                "\(accounts) accounts added in \(secs(DispatchTime.now().uptimeNanoseconds - t0)) s; back-end RSS \(Bench.rssMB(pid)) MB\n")
            await admin.close()

            // Message i goes to user0 (the big account) when it crosses the next multiple of
            // total/big, otherwise to the next of the others in turn: the big account's share is the
            // same in every stretch of the fill.
            let recipients = (0..<accounts).map { "user\($0)@\(domain)" }
            func recipient(_ i: Int) -> String {
                if big > 0, (i + 1) * big / total > i * big / total { return recipients[0] }
                let others = i - i * big / total  // messages before i that went to the others
                return recipients[1 + others % (accounts - 1)]
            }
            // Every message is different (its Message-ID), as in a real store: the blob store keeps
            // identical bodies once.
            let body = Array(repeating: UInt8(ascii: "x"), count: 4096)
            func message(_ i: Int) -> Base64Data {
                let header = Array(
                    "From: b@remote.test\r\nTo: \(recipient(i))\r\nSubject: bench\r\nMessage-ID: <\(i).\(getpid())@remote.test>\r\n\r\n"
                        .utf8)
                return Base64Data(header + body.prefix(4096 - header.count - 2) + Array("\r\n".utf8))
            }

            let clients = (0..<streams).map { _ in RPCClient(path: gateway, software: "bench") }
            for c in clients { _ = try await c.call(Methods.ping, Empty()) }
            /// Delivers messages [from, to) and returns (messages/s, back-end CPU µs per message).
            func fill(_ from: Int, _ to: Int) async throws -> (Double, Double) {
                let cpuBefore = Bench.cpuSeconds(pid)
                let start = DispatchTime.now().uptimeNanoseconds
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (s, c) in clients.enumerated() {
                        group.addTask {
                            var i = from + s
                            while i < to {
                                try await deliver(c, message(i), to: recipient(i))
                                i += streams
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let n = Double(to - from)
                return (n / elapsed, (Bench.cpuSeconds(pid) - cpuBefore) / n * 1e6)
            }
            func line(_ label: String, _ r: (Double, Double)) {
                say("\(label): \(Int(r.0)) messages/s, back-end CPU \(Int(r.1)) µs/message, RSS \(Bench.rssMB(pid)) MB", terminator: "")
                say(String(format: ", load %.2f", loadAverage()))
            }

            let fillStart = DispatchTime.now().uptimeNanoseconds
            let first = try await fill(0, window)
            line("delivery, messages 0-\(window) (empty store)", first)
            var at = window
            let lastStart = total - window
            while at < lastStart {
                let next = min(lastStart, (at / 100_000 + 1) * 100_000)
                line("delivery, messages \(at)-\(next)", try await fill(at, next))
                at = next
            }
            let last = try await fill(lastStart, total)
            line("delivery, messages \(lastStart)-\(total) (full store)", last)
            let fillSeconds = Double(DispatchTime.now().uptimeNanoseconds - fillStart) / 1e9
            for c in clients { await c.close() }
            say(
                String(
                    format:
                        "fill: %d messages in %.0f s (%.0f/s); full/empty delivery rate %.2f, back-end CPU per message full/empty %.2f\n",
                    total, fillSeconds, Double(total) / fillSeconds, last.0 / first.0, last.1 / first.1))

        }

        // mailbox.status of the big INBOX, with a user session.
        let user = "user0@\(domain)"
        let raw = try LineSocket(path: gateway)
        _ = try raw.call(#"{"jsonrpc":"2.0","id":0,"method":"hello","params":{"version":1,"software":"bench"}}"#)
        let session = try raw.login(user)
        let statusLine = #"{"jsonrpc":"2.0","id":1,"method":"mailbox.status","params":{"session":"\#(session)","mailbox":"INBOX"}}"#
        let answer = try raw.call(statusLine)
        say("mailbox.status of \(user) INBOX: \(String(decoding: answer, as: UTF8.self))")
        var samples: [UInt64] = []
        for _ in 0..<statusCalls {
            let t = DispatchTime.now().uptimeNanoseconds
            _ = try raw.call(statusLine)
            samples.append(DispatchTime.now().uptimeNanoseconds - t)
        }
        say(
            "mailbox.status, blocking socket, \(statusCalls) calls: median \(Bench.us(Bench.percentile(samples, 0.5))) µs, p99 \(Bench.us(Bench.percentile(samples, 0.99))) µs, max \(Bench.us(samples.max() ?? 0)) µs"
        )
        raw.close()
        let client = RPCClient(path: gateway, software: "bench")
        let s = try await client.call(Methods.authLogin, LoginParams(username: user, password: "pw", service: "bench")).session
        let status = try await client.call(Methods.mailboxStatus, MailboxStatusParams(session: s, mailbox: "INBOX"))
        samples = []
        for _ in 0..<statusCalls {
            let t = DispatchTime.now().uptimeNanoseconds
            _ = try await client.call(Methods.mailboxStatus, MailboxStatusParams(session: s, mailbox: "INBOX"))
            samples.append(DispatchTime.now().uptimeNanoseconds - t)
        }
        say(
            "mailbox.status, async RPCClient, \(statusCalls) calls: median \(Bench.us(Bench.percentile(samples, 0.5))) µs, p99 \(Bench.us(Bench.percentile(samples, 0.99))) µs (\(status.messages) messages)"
        )
        await client.close()
        say("back-end RSS after the fill: \(Bench.rssMB(pid)) MB, peak \(peakMB(pid)) MB\n")

        // Stop, size, restart.
        var t = DispatchTime.now().uptimeNanoseconds
        kill(pid, SIGTERM)
        backend.waitUntilExit()
        say("back-end stopped (SIGTERM) in \(secs(DispatchTime.now().uptimeNanoseconds - t)) s, exit status \(backend.terminationStatus)")
        say("data directory: \(du(dir))")

        t = DispatchTime.now().uptimeNanoseconds
        backend = try startBackend(loft, dir)
        pid = backend.processIdentifier
        var probe: LineSocket?
        var attempts = 0
        while probe == nil {
            guard backend.isRunning else { throw RPCError(.unavailable, "back-end exited on restart") }
            if let sock = try? LineSocket(path: gateway),
                (try? sock.call(#"{"jsonrpc":"2.0","id":0,"method":"hello","params":{"version":1,"software":"bench"}}"#)) != nil,
                (try? sock.call(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)) != nil
            {
                probe = sock
            } else {
                attempts += 1
                usleep(2000)
            }
        }
        let ready = DispatchTime.now().uptimeNanoseconds - t
        say("restart: ping answered \(secs(ready)) s after launch (\(attempts) attempts refused)")
        let t1 = DispatchTime.now().uptimeNanoseconds
        let s2 = try probe!.login(user)
        let t2 = DispatchTime.now().uptimeNanoseconds
        let after = try probe!.call(#"{"jsonrpc":"2.0","id":3,"method":"mailbox.status","params":{"session":"\#(s2)","mailbox":"INBOX"}}"#)
        let t3 = DispatchTime.now().uptimeNanoseconds
        say(
            "restart: auth.login \(Bench.us(t2 - t1)) µs, then the first mailbox.status \(Bench.us(t3 - t2)) µs (\(secs(t3 - t)) s after launch): \(String(decoding: after, as: UTF8.self))"
        )
        samples = []
        for _ in 0..<statusCalls {
            let t = DispatchTime.now().uptimeNanoseconds
            _ = try probe!.call(#"{"jsonrpc":"2.0","id":4,"method":"mailbox.status","params":{"session":"\#(s2)","mailbox":"INBOX"}}"#)
            samples.append(DispatchTime.now().uptimeNanoseconds - t)
        }
        say("restart: mailbox.status then, blocking socket: median \(Bench.us(Bench.percentile(samples, 0.5))) µs")
        probe!.close()
        say("back-end RSS after restart: \(Bench.rssMB(pid)) MB")
    }

    /// `print`, unbuffered: stdout to a file is block-buffered, and a fill runs for an hour.
    static func say(_ text: String, terminator: String = "\n") {
        let bytes = Array((text + terminator).utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { return }
            done += n
        }
    }

    static func startBackend(_ loft: String, _ dir: String) throws -> Process {
        let backend = Process()
        backend.executableURL = URL(fileURLWithPath: loft)
        backend.arguments = ["backend", "--data", dir]
        var env = ProcessInfo.processInfo.environment
        env["LOFT_LOG_LEVEL"] = "warning"
        env["LOFT_PASSWORD_HASH_COST"] = "4"
        env.removeValue(forKey: "LOFT_DATA")
        env.removeValue(forKey: "LOFT_CONFIG")
        backend.environment = env
        try backend.run()
        return backend
    }

    static func deliver(_ c: RPCClient, _ base64: Base64Data, to recipient: String) async throws {
        let r = try await c.call(
            Methods.deliverySubmit, DeliverySubmitParams(sender: "b@remote.test", recipients: [recipient], data: base64))
        guard r.recipients?.first?.status == .delivered else {
            throw RPCError(.internalError, "not delivered: \(String(describing: r.recipients))")
        }
    }

    static func secs(_ ns: UInt64) -> String { String(format: "%.3f", Double(ns) / 1e9) }

    static func peakMB(_ pid: Int32) -> String {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        let kb = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return String(format: "%.1f", kb / 1024)
    }

    static func loadAverage() -> Double {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return Double(text.split(separator: " ").first ?? "0") ?? 0
    }

    /// `du`'s figures for the data directory: allocated size, apparent size, file count.
    static func du(_ dir: String) -> String {
        func run(_ args: [String]) -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = args
            let pipe = Pipe()
            p.standardOutput = pipe
            try? p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self).split(separator: "\t").first.map(String.init) ?? "?"
        }
        let allocated = (Double(run(["du", "-sk", dir])) ?? 0) / 1024
        let apparent = (Double(run(["du", "-sb", dir])) ?? 0) / 1_048_576
        let files = run(["sh", "-c", "find '\(dir)' -type f | wc -l"]).trimmingCharacters(in: .whitespacesAndNewlines)
        return String(format: "%.0f MiB allocated, %.0f MiB apparent, %@ files", allocated, apparent, files)
    }
}

/// A blocking Unix socket speaking one JSON-RPC line at a time: what the back-end alone costs,
/// without a client framework (see `RawSocketPing`).
final class LineSocket {
    let fd: Int32
    var buffer = [UInt8](repeating: 0, count: 1 << 16)

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RPCError(.unavailable, "socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { dst in
            dst.copyBytes(from: Array(path.utf8).prefix(dst.count - 1))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            Foundation.close(fd)
            throw RPCError(.unavailable, "connect \(path)")
        }
    }

    func close() { Foundation.close(fd) }

    /// Sends one request line and returns the answer line (without its newline); throws on an
    /// error answer.
    func call(_ request: String) throws -> [UInt8] {
        let bytes = Array((request + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, $0.count - sent) }
            guard n > 0 else { throw RPCError(.unavailable, "write") }
            sent += n
        }
        var got = 0
        repeat {
            if got == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            guard n > 0 else { throw RPCError(.unavailable, "read") }
            got += n
        } while buffer[got - 1] != UInt8(ascii: "\n")
        let line = Array(buffer[0..<(got - 1)])
        if String(decoding: line, as: UTF8.self).contains(#""error":{"#) {
            throw RPCError(.internalError, String(decoding: line, as: UTF8.self))
        }
        return line
    }

    /// `auth.login` with the benchmark's password; returns the session token.
    func login(_ user: String) throws -> String {
        let answer = try call(
            #"{"jsonrpc":"2.0","id":2,"method":"auth.login","params":{"username":"\#(user)","password":"pw","service":"bench"}}"#)
        guard let object = try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any],
            let result = object["result"] as? [String: Any], let session = result["session"] as? String
        else { throw RPCError(.internalError, "auth.login: \(String(decoding: answer, as: UTF8.self))") }
        return session
    }
}
