import NIOCore
import POP3Codec
import SASL
import Testing

/// Drives a `POP3Session` the way a gateway would, and renders what it would write.
struct SessionDriver {
    var session = POP3Session()

    static let timestamp = "<1896.697170952@pop.example.org>"

    static func configuration(
        plaintextAllowed: Bool = true, tlsActive: Bool = false, stlsAvailable: Bool = true,
        mechanisms: [SASLMechanism] = [.plain, .login, .cramMD5, .scramSHA256],
        limits: POP3Limits = .default
    ) -> POP3SessionConfiguration {
        POP3SessionConfiguration(
            greetingTimestamp: timestamp, tlsActive: tlsActive, stlsAvailable: stlsAvailable,
            plaintextAllowed: plaintextAllowed, saslMechanisms: mechanisms, implementation: "Loft",
            limits: limits)
    }

    static let maildrop = [
        POP3MaildropEntry(uid: "uid-one", size: 120),
        POP3MaildropEntry(uid: "uid-two", size: 200),
    ]

    init(_ configuration: POP3SessionConfiguration = SessionDriver.configuration()) {
        _ = session.receive(.opened(configuration))
    }

    /// A driver already in TRANSACTION with `maildrop`.
    static func loggedIn(
        _ configuration: POP3SessionConfiguration = SessionDriver.configuration(),
        maildrop: [POP3MaildropEntry] = SessionDriver.maildrop
    ) -> SessionDriver {
        var driver = SessionDriver(configuration)
        _ = driver.line("USER alice")
        _ = driver.line("PASS secret")
        _ = driver.event(.authSucceeded(user: "alice", saslFinal: nil))
        _ = driver.event(.maildropLoaded(maildrop))
        return driver
    }

    mutating func line(_ text: String) -> [POP3Action] {
        session.receive(.line(ByteBuffer(string: text)))
    }

    mutating func event(_ event: POP3Event) -> [POP3Action] {
        session.receive(event)
    }
}

/// The bytes the gateway would write for these actions, as a string.
func wire(_ actions: [POP3Action]) -> String {
    var buffer = ByteBuffer()
    for action in actions {
        switch action {
        case .send(let response): response.write(into: &buffer)
        case .write(let bytes): buffer.writeImmutableBuffer(bytes)
        default: break
        }
    }
    return String(buffer: buffer)
}

/// The actions other than writes, for checking what the gateway must do besides writing.
func effects(_ actions: [POP3Action]) -> [POP3Action] {
    actions.filter {
        switch $0 {
        case .send, .write: false
        default: true
        }
    }
}

func base64(_ text: String) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    let bytes = Array(text.utf8)
    var output = ""
    var index = 0
    while index < bytes.count {
        let chunk = bytes[index..<min(index + 3, bytes.count)]
        var value = 0
        for (offset, byte) in chunk.enumerated() { value |= Int(byte) << (16 - 8 * offset) }
        for position in 0..<4 {
            output.append(position <= chunk.count ? alphabet[(value >> (18 - 6 * position)) & 0x3F] : "=")
        }
        index += 3
    }
    return output
}

extension SessionDriver {
    /// Sends a client line and checks the bytes written and the other actions, in order.
    @discardableResult
    mutating func expect(
        _ line: String, _ reply: String, effects expectedEffects: [POP3Action] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> [POP3Action] {
        expect(.line(ByteBuffer(string: line)), reply, effects: expectedEffects, sourceLocation: sourceLocation)
    }

    /// Sends an event and checks the bytes written and the other actions, in order.
    @discardableResult
    mutating func expect(
        _ event: POP3Event, _ reply: String, effects expectedEffects: [POP3Action] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> [POP3Action] {
        let actions = session.receive(event)
        #expect(wire(actions) == reply, sourceLocation: sourceLocation)
        #expect(effects(actions) == expectedEffects, sourceLocation: sourceLocation)
        return actions
    }
}
