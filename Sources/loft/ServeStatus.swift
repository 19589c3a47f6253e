import Foundation

/// What `loft serve` knows of its children, written to `<data>/serve-status.json` whenever a
/// child starts, exits or is given up on, and removed when serve stops; `loft status` reads it.
/// Only the supervisor knows restarts and children it gave up on, and it holds no socket a
/// command could ask, so it leaves this file (written whole, then renamed into place, so a
/// reader never sees half of it).
struct ServeStatus: Codable, Equatable {
    var pid: Int32
    /// Seconds since 1970.
    var startedAt: Int64
    var children: [ServeChild]

    static let fileName = "serve-status.json"

    static func path(dataDirectory: String) -> String { dataDirectory + "/" + fileName }

    /// The file, or nil when there is none or it cannot be read.
    static func read(dataDirectory: String) -> ServeStatus? {
        guard let data = FileManager.default.contents(atPath: path(dataDirectory: dataDirectory)) else { return nil }
        return try? JSONDecoder().decode(ServeStatus.self, from: data)
    }

    func write(dataDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let target = Self.path(dataDirectory: dataDirectory)
        let temporary = target + ".tmp"
        try encoder.encode(self).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, target) == 0 else { throw CLIError("cannot write \(target): \(String(cString: strerror(errno)))") }
    }

    /// Whether the process that wrote it still runs (a `loft serve` killed outright leaves
    /// the file behind).
    var isAlive: Bool { kill(pid, 0) == 0 || errno == EPERM }
}

struct ServeChild: Codable, Equatable {
    enum State: String, Codable {
        /// Started and not exited.
        case running
        /// Exited; starts again after its back-off.
        case restarting
        /// Exited too often in a row, or said it cannot run (its port is taken): left stopped.
        case stopped
    }
    var name: String
    var state: State
    var pid: Int32?
    /// When it was last started, seconds since 1970.
    var startedAt: Int64
    /// Every restart since serve started.
    var restarts: Int
    /// The last exit ("status 1", "signal 9") and when.
    var lastExit: String?
    var lastExitAt: Int64?
}
