import Foundation
import LoftConfig
import Logging

/// Log lines for machines as well as people (issue 14): `logfmt` (`time=… level=notice
/// process=smtp msg="message accepted" queue_id=… from=…`, the key=value form journald's and
/// most log shippers' parsers read) or `json` (one object per line), each with the event's
/// metadata as its own fields, on standard error. swift-log's own handler (`text`) writes
/// metadata inside one bracketed blob a parser cannot split, hence this one.
struct LoftLogHandler: LogHandler {
    enum Format: Sendable { case logfmt, json }

    let label: String
    let format: Format
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    /// One line at a time, whole, whichever thread logs.
    static let output = NSLock()

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let explicit = event.metadata { fields.merge(explicit) { $1 } }
        if let error = event.error { fields["error"] = "\(error)" }
        let text = Self.line(
            time: Date(), level: event.level, process: Self.process(label), message: event.message.description, metadata: fields,
            format: format)
        // A write that fails (the terminal went away) is dropped, never a crash.
        Self.output.withLock { try? FileHandle.standardError.write(contentsOf: Data(text.utf8)) }
    }

    /// `loft.smtp` → `smtp`.
    static func process(_ label: String) -> String {
        label.hasPrefix("loft.") ? String(label.dropFirst(5)) : label
    }

    /// The whole line, newline included: time, level, process and msg first, then the
    /// metadata's keys in order.
    static func line(
        time: Date, level: Logger.Level, process: String, message: String, metadata: Logger.Metadata, format: Format
    ) -> String {
        var fields: [(String, String)] = [("time", timestamp(time)), ("level", level.rawValue), ("process", process), ("msg", message)]
        // The event, its result and the client's address in a fixed place, before any field a
        // client chooses (a user name): `event=login result=failed client=192.0.2.7 ` can be
        // matched (fail2ban) without a crafted user name standing in for the address.
        for key in leading where metadata[key] != nil { fields.append((key, flatten(metadata[key]!))) }
        for key in metadata.keys.sorted() where !reserved.contains(key) && !leading.contains(key) {
            fields.append((key, flatten(metadata[key]!)))
        }
        switch format {
        case .logfmt:
            return fields.map { "\($0.0)=\(logfmtValue($0.1))" }.joined(separator: " ") + "\n"
        case .json:
            return "{" + fields.map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ",") + "}\n"
        }
    }

    static let reserved: Set<String> = ["time", "level", "process", "msg"]
    static let leading = ["event", "result", "client"]

    static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let items): items.map(flatten).joined(separator: ",")
        case .dictionary(let d): d.keys.sorted().map { "\($0):\(flatten(d[$0]!))" }.joined(separator: ",")
        }
    }

    /// Bare when it is one plain word, else quoted with `"`, `\` and control characters escaped.
    static func logfmtValue(_ value: String) -> String {
        let plain =
            !value.isEmpty
            && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0 != "\\" && $0.value != 0x7F }
        return plain ? value : "\"" + escaped(value) + "\""
    }

    static func jsonString(_ value: String) -> String { "\"" + escaped(value) + "\"" }

    static func escaped(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-04T01:20:41.123Z`.
    static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        let millis = Int((seconds - Double(whole)) * 1000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}

extension LoftConfig {
    /// Every long-running `loft` process logs to standard error at the configured level, in the
    /// configured format.
    func bootstrapLogging() {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case "json": return LoftLogHandler(label: label, format: .json, logLevel: level)
            case "text":
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            default: return LoftLogHandler(label: label, format: .logfmt, logLevel: level)
            }
        }
    }
}
