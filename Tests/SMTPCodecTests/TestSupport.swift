import NIOCore
import SMTPCodec

func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

extension ByteBuffer {
    var text: String { String(buffer: self) }
}

/// Drives an `SMTPSession` like a gateway would, answering its back-end actions from a small
/// simulated back-end (STYLE §13), and records what the client would see.
struct Transcript {
    var session = SMTPSession()
    /// Every reply the client received, in order.
    var replies: [SMTPReply] = []
    var actions: [SMTPAction] = []
    /// Bytes of the upload in progress.
    var upload: ByteBuffer?
    var committed: [(envelope: SMTPEnvelope, message: String, size: Int)] = []
    var aborted = 0
    /// Reply codes of messages the session refused after their data (`.messageRefused`).
    var refused: [Int] = []
    var tlsRequested = false
    var greetingPaused = false
    var closed: SMTPCloseReason?
    /// Recipients whose local part is in this set are refused with 550 5.1.1.
    var unknownUsers: Set<String> = ["unknown"]
    var passwords: [String: String] = ["alice": "secret"]
    /// How each recipient fares at commit: in a mailbox, unless the test says otherwise.
    var outcome: (SMTPRecipient) -> RecipientOutcome = { _ in .delivered }

    init(_ configuration: SMTPSessionConfiguration) {
        run(session.receive(.opened(configuration)))
    }

    /// Sends raw bytes and returns the replies they produced.
    @discardableResult
    mutating func send(_ text: String) -> [SMTPReply] {
        let before = replies.count
        run(session.receive(.received(buffer(text))))
        return Array(replies[before...])
    }

    /// Sends one command line and returns the reply codes.
    @discardableResult
    mutating func command(_ line: String) -> [Int] {
        send(line + "\r\n").map(\.code)
    }

    mutating func event(_ event: SMTPEvent) -> [SMTPReply] {
        let before = replies.count
        run(session.receive(event))
        return Array(replies[before...])
    }

    mutating func run(_ initial: [SMTPAction]) {
        var queue = initial[...]
        while let action = queue.popFirst() {
            actions.append(action)
            var answer: SMTPEvent?
            switch action {
            case .send(let reply): replies.append(reply)
            case .startTLS: tlsRequested = true
            case .pauseGreeting: greetingPaused = true  // the test ends the pause, or talks first
            case .checkSender(let reversePath, _):
                if case .mailbox(let mailbox) = reversePath, mailbox.localPart == "forged" {
                    answer = .senderChecked(.rejected(SMTPReply(553, .init(5, 7, 1), "Sender not owned")))
                } else {
                    answer = .senderChecked(.accepted)
                }
            case .checkRecipient(let recipient, _):
                if case .mailbox(let mailbox) = recipient.forwardPath, unknownUsers.contains(mailbox.localPart) {
                    answer = .recipientChecked(.rejected(.unknownRecipient))
                } else {
                    answer = .recipientChecked(.accepted)
                }
            case .issueChallenge: answer = .challengeIssued("<1896.697170952@mx.example.org>")
            case .relaySASL(_, let message, let first):
                // A stand-in for the back-end's SCRAM: "first" then "final", proof "good".
                let text = String(decoding: message, as: UTF8.self)
                if first {
                    answer = .saslStepped(.challenge(Array("r=nonce,s=salt,i=16".utf8)))
                } else if text.hasSuffix("p=good") {
                    answer = .saslStepped(.succeeded(identity: "alice", final: Array("v=signature".utf8)))
                } else {
                    answer = .saslStepped(.failed(.authenticationFailed))
                }
            case .authenticate(let credentials):
                let ok: Bool
                switch credentials {
                case .plain(_, let user, let password), .login(let user, let password):
                    ok = passwords[user] == password
                case .cramMD5(let user, _, _):
                    ok = passwords[user] != nil
                }
                answer = .authenticationFinished(ok ? .succeeded(identity: credentials.username) : .failed(.authenticationFailed))
            case .beginMessage: upload = ByteBuffer()
            case .appendMessage(var bytes): upload!.writeBuffer(&bytes)
            case .commitMessage(let envelope, let size):
                committed.append((envelope, upload.map(\.text) ?? "", size))
                upload = nil
                answer = .messageCommitted(
                    .committed(queueID: "Q\(committed.count)", recipients: envelope.recipients.map(outcome)))
            case .abortMessage:
                upload = nil
                aborted += 1
            case .messageRefused(_, let reply): refused.append(reply.code)
            case .close(let reason): closed = reason
            }
            if let answer { queue.append(contentsOf: session.receive(answer)) }
        }
    }
}

extension SMTPSessionConfiguration {
    static let mx = SMTPSessionConfiguration(
        hostname: "mx.example.org", tlsAvailable: true, authMechanisms: [.plain, .login, .cramMD5],
        plaintextAuthAllowed: true, maximumErrors: 1000)
}

/// `\0alice\0secret` in base64.
let alicePlain = "AGFsaWNlAHNlY3JldA=="
