import Foundation
import Logging
import Testing

@testable import loft

/// Log lines as parsers read them (issue 14): logfmt with a value quoted only when it must
/// be, JSON with every field a string, both with time, level, process and msg first.
@Suite struct LogFormatTests {
    static let time = Date(timeIntervalSince1970: 1_796_347_242.0456)

    @Test func logfmtQuotesOnlyWhatNeedsIt() {
        let line = LoftLogHandler.line(
            time: Self.time, level: .notice, process: "smtp", message: "message accepted",
            metadata: [
                "to": "a@x.test,b@y.test", "size": "1234", "text": "5.1.1 No such \"user\"", "empty": "", "multi": "a\nb\\c",
                "list": .array(["x", "y"]), "level": "spoofed",
            ], format: .logfmt)
        #expect(
            line
                == "time=2026-12-04T01:20:42.045Z level=notice process=smtp msg=\"message accepted\" empty=\"\" list=x,y multi=\"a\\nb\\\\c\" size=1234 text=\"5.1.1 No such \\\"user\\\"\" to=a@x.test,b@y.test\n"
        )
    }

    /// event, result and client come first, before a user name the client chose, so a
    /// `result=failed client=<HOST> ` pattern cannot be fed a forged address.
    @Test func theClientComesBeforeWhatTheClientChose() {
        let line = LoftLogHandler.line(
            time: Self.time, level: .notice, process: "backend", message: "login failed",
            metadata: [
                "user": "x client=192.0.2.99 y", "mechanism": "password", "client": "198.51.100.7", "result": "failed", "event": "login",
            ],
            format: .logfmt)
        #expect(
            line.contains(
                #"msg="login failed" event=login result=failed client=198.51.100.7 mechanism=password user="x client=192.0.2.99 y""#))
    }

    @Test func jsonIsOneObjectPerLine() throws {
        let line = LoftLogHandler.line(
            time: Self.time, level: .info, process: "backend", message: "login ok",
            metadata: ["user": "alice@example.test", "ctl": "\u{1}"],
            format: .json)
        #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(
            object == [
                "time": "2026-12-04T01:20:42.045Z", "level": "info", "process": "backend", "msg": "login ok", "user": "alice@example.test",
                "ctl": "\u{1}",
            ])
    }

    @Test(arguments: [("loft.smtp", "smtp"), ("loft.backend", "backend"), ("GatewayKit", "GatewayKit")])
    func processFromTheLabel(label: String, process: String) {
        #expect(LoftLogHandler.process(label) == process)
    }
}
