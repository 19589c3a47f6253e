import Dispatch
import Foundation
import NIOCore
import NIOPosix
import RPCProtocol
import RPCTransport

/// `loft-bench`: the spine's benchmarks (issue: RPC round trip, durable delivery, memory).
/// It starts `loft backend` from the same build folder in a fresh temporary data directory,
/// measures, prints a report, and stops it. Run it in release:
///
///     swift build -c release --product loft && swift run -c release loft-bench [--messages 100000] [--loft PATH]
///
/// `loft-bench scale …` is the store-at-scale benchmark instead (Scale.swift).
///
/// Figures and the machine they were taken on are kept in Tests/bench/BACKEND.md.
@main
struct Bench {
    static func main() async throws {
        let args = CommandLine.arguments
        func value(_ flag: String, _ fallback: Int) -> Int {
            args.firstIndex(of: flag).flatMap { args.indices.contains($0 + 1) ? Int(args[$0 + 1]) : nil } ?? fallback
        }
        let storedTarget = value("--messages", 100_000)
        let pings = value("--pings", 20_000)

        // `--loft PATH` runs another checkout's binary, so that one loft-bench measures both
        // sides of a comparison; by default the `loft` beside this binary.
        let loft =
            args.firstIndex(of: "--loft").flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil }
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("loft").path
        if args.dropFirst().first == "scale" { return try await Scale.run(args, loft: loft) }
        let dir = NSTemporaryDirectory() + "loft-bench-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let backend = try Scale.startBackend(loft, dir)
        defer {
            backend.terminate()
            backend.waitUntilExit()
            try? FileManager.default.removeItem(atPath: dir)
        }
        while !FileManager.default.fileExists(atPath: dir + "/gateway.sock") { usleep(20_000) }
        let pid = backend.processIdentifier

        print("# loft-bench  (\(ProcessInfo.processInfo.activeProcessorCount) cores, back-end pid \(pid), data in \(dir))\n")
        let admin = RPCClient(path: dir + "/admin.sock", software: "bench")
        _ = try await admin.call(Methods.domainAdd, DomainParams(name: "bench.test"))
        _ = try await admin.call(Methods.accountAdd, AccountAddParams(address: "user@bench.test", password: "pw"))
        print("back-end RSS idle: \(rssMB(pid)) MB\n")

        // 1. Round trip of a trivial call.
        let gateway = dir + "/gateway.sock"
        for (name, callers) in [("1 caller", 1), ("16 concurrent callers", 16)] {
            let clients = (0..<callers).map { _ in RPCClient(path: gateway, software: "bench") }
            for c in clients { _ = try await c.call(Methods.ping, Empty()) }
            for c in clients { _ = try await PingChain.run(c, count: 1000) }  // warm-up
            let start = DispatchTime.now().uptimeNanoseconds
            let samples = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for c in clients { group.addTask { try await PingChain.run(c, count: pings / callers) } }
                var all: [UInt64] = []
                for try await part in group { all += part }
                return all
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print(
                "ping, \(name), event-loop driven: median \(us(percentile(samples, 0.5))) µs, p99 \(us(percentile(samples, 0.99))) µs, \(Int(Double(samples.count) / elapsed)) calls/s"
            )
            var asyncSamples: [UInt64] = []
            for _ in 0..<(pings / 4) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try await clients[0].call(Methods.ping, Empty())
                asyncSamples.append(DispatchTime.now().uptimeNanoseconds - t0)
            }
            if callers == 1 {
                print(
                    "ping, 1 caller, async/await: median \(us(percentile(asyncSamples, 0.5))) µs, p99 \(us(percentile(asyncSamples, 0.99))) µs"
                )
            }
            for c in clients { await c.close() }
        }

        let raw = try RawSocketPing.run(path: gateway, count: pings)
        print(
            "ping, 1 caller, blocking socket client (the back-end alone): median \(us(percentile(raw, 0.5))) µs, p99 \(us(percentile(raw, 0.99))) µs"
        )
        if args.contains("--ping-only") { return }

        // 2. Durable local delivery of 4 KiB messages.
        let message = Base64Data(
            Array(
                (Array("From: b@remote.test\r\nTo: user@bench.test\r\nSubject: bench\r\n\r\n".utf8)
                    + Array(repeating: UInt8(ascii: "x"), count: 4096 - 60 - 2) + Array("\r\n".utf8)).prefix(4096)))
        var stored = 0
        for (oneCall, streams, count) in [(false, 1, 2000), (false, 32, 20_000), (true, 1, 2000), (true, 32, 20_000)] {
            let clients = (0..<streams).map { _ in RPCClient(path: gateway, software: "bench") }
            let cpuBefore = cpuSeconds(pid)
            let start = DispatchTime.now().uptimeNanoseconds
            try await withThrowingTaskGroup(of: Void.self) { group in
                for c in clients {
                    group.addTask { for _ in 0..<(count / streams) { try await deliver(c, message, oneCall: oneCall) } }
                }
                try await group.waitForAll()
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            stored += count
            let cpu = (cpuSeconds(pid) - cpuBefore) / Double(count) * 1e6
            let flow = oneCall ? "delivery.submit" : "begin/append/commit"
            print(
                "delivery of 4 KiB (\(flow)), \(streams) stream(s): \(Int(Double(count) / elapsed)) messages/s (\(count) in \(String(format: "%.2f", elapsed)) s), back-end CPU \(Int(cpu)) µs/message"
            )
            for c in clients { await c.close() }
        }

        // 3. Memory after many stored messages.
        let clients = (0..<32).map { _ in RPCClient(path: gateway, software: "bench") }
        let remaining = max(0, storedTarget - stored)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in clients { group.addTask { for _ in 0..<(remaining / 32) { try await deliver(c, message) } } }
            try await group.waitForAll()
        }
        for c in clients { await c.close() }
        let total = try await admin.call(Methods.accountGet, AddressParams(address: "user@bench.test")).messages
        print("\nback-end RSS after \(total) stored messages: \(rssMB(pid)) MB")
        await admin.close()
    }

    static func deliver(_ c: RPCClient, _ base64: Base64Data, oneCall: Bool = true) async throws {
        let r: UploadCommitResult
        if oneCall {
            r = try await c.call(
                Methods.deliverySubmit, DeliverySubmitParams(sender: "b@remote.test", recipients: ["user@bench.test"], data: base64))
        } else {
            let up = try await c.call(Methods.deliveryBegin, DeliveryBeginParams(sender: "b@remote.test", recipients: ["user@bench.test"]))
            _ = try await c.call(Methods.uploadAppend, UploadAppendParams(upload: up.upload, data: base64))
            r = try await c.call(Methods.uploadCommit, UploadParams(upload: up.upload))
        }
        guard r.recipients?.first?.status == .delivered else {
            throw RPCError(.internalError, "not delivered: \(String(describing: r.recipients))")
        }
    }

    static func percentile(_ samples: [UInt64], _ p: Double) -> UInt64 {
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    static func us(_ ns: UInt64) -> String { String(format: "%.1f", Double(ns) / 1000) }

    /// User plus system CPU time the process has used, from /proc (clock ticks of 10 ms):
    /// unlike wall time, it hardly depends on what else the machine is doing.
    static func cpuSeconds(_ pid: Int32) -> Double {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (proc(5)).
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / 100
    }

    static func rssMB(_ pid: Int32) -> String {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        let kb = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return String(format: "%.1f", kb / 1024)
    }
}

/// Sequential calls chained on the client's event loop: each answer sends the next request, so
/// what is measured is the transport and the back-end, not a hop to a task executor.
///
/// `@unchecked Sendable`: `samples`, `remaining` and `start` are touched only from callbacks
/// on the one event loop the connection lives on.
final class PingChain: @unchecked Sendable {
    let client: RPCClient
    var samples: [UInt64] = []
    var remaining: Int
    var start: UInt64 = 0
    let done: EventLoopPromise<[UInt64]>

    init(client: RPCClient, count: Int, done: EventLoopPromise<[UInt64]>) {
        self.client = client
        self.remaining = count
        self.done = done
        samples.reserveCapacity(count)
    }

    static func run(_ client: RPCClient, count: Int) async throws -> [UInt64] {
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: [UInt64].self)
        let chain = PingChain(client: client, count: count, done: promise)
        chain.next()
        return try await promise.futureResult.get()
    }

    func next() {
        guard remaining > 0 else { return done.succeed(samples) }
        remaining -= 1
        start = DispatchTime.now().uptimeNanoseconds
        client.callFuture(Methods.ping, Empty()).whenComplete { result in
            switch result {
            case .success:
                self.samples.append(DispatchTime.now().uptimeNanoseconds - self.start)
                self.next()
            case .failure(let e):
                self.done.fail(e)
            }
        }
    }
}

/// The back-end's own share of a round trip: a blocking Unix socket, a prepared request line,
/// and reading up to the newline — what a script on the socket sees, without any client
/// framework in the way.
enum RawSocketPing {
    static func run(path: String, count: Int) throws -> [UInt64] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RPCError(.unavailable, "socket") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { dst in
            let bytes = Array(path.utf8)
            dst.copyBytes(from: bytes.prefix(dst.count - 1))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw RPCError(.unavailable, "connect \(path)") }
        var buffer = [UInt8](repeating: 0, count: 4096)
        func roundTrip(_ line: String) {
            let bytes = Array(line.utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var got = 0
            repeat {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
                if n <= 0 { return }
                got += n
            } while buffer[got - 1] != UInt8(ascii: "\n")
        }
        roundTrip(#"{"jsonrpc":"2.0","id":0,"method":"hello","params":{"version":1}}"# + "\n")
        var samples: [UInt64] = []
        samples.reserveCapacity(count)
        for i in 0..<count {
            let t0 = DispatchTime.now().uptimeNanoseconds
            roundTrip(#"{"jsonrpc":"2.0","id":"# + String(i + 1) + #","method":"ping"}"# + "\n")
            samples.append(DispatchTime.now().uptimeNanoseconds - t0)
        }
        return samples
    }
}
