import MailCore
public import NIOCore
import RPCProtocol
import SMTPCodec

/// The worker's `RelayConnection` over SMTP: a leased message becomes an `OutboundEnvelope`
/// and each `RecipientDelivery` the queue's outcome. `@unchecked Sendable`: the worker uses a
/// connection from one task at a time, as `SMTPClientConnection` requires.
final class SMTPRelayConnection: RelayConnection, @unchecked Sendable {
    let connection: SMTPClientConnection
    let hop: RelayHop

    init(_ connection: SMTPClientConnection, hop: RelayHop) {
        self.connection = connection
        self.hop = hop
    }

    /// Opens SMTP connections with the relay's settings and each hop's TLS policy.
    static func opener(_ relay: RelayConfiguration, group: any EventLoopGroup) -> RelayConnector {
        let configuration = SMTPClientConfiguration(
            heloName: relay.heloName, tls: relay.tls, caFile: relay.caFile, connectTimeout: .seconds(relay.connectTimeoutSeconds))
        return RelayConnector { hop, address in
            var settings = configuration
            settings.tls = hop.tls
            // The smarthost's credentials go to the smarthost only, never to an MX host.
            if let smarthost = relay.smarthost, smarthost.host == hop.host, smarthost.port == hop.port {
                settings.credentials = relay.smarthostCredentials
            }
            return SMTPRelayConnection(
                try await SMTPClientConnection.open(
                    host: hop.host, address: address, port: hop.port, configuration: settings, group: group),
                hop: hop)
        }
    }

    var isUsable: Bool { connection.isReusable }

    var problem: String? { connection.failure.map { Self.problem($0, hop: hop, address: connection.address) } }

    var problemEnhancedCode: String? {
        guard let failure = connection.failure, [.tlsUnavailable, .tlsFailed, .authFailed].contains(failure.code) else { return nil }
        return failure.reply.enhancedCode?.description
    }

    /// Why a connection is not usable, in the queue's last reply. When TLS is required and not
    /// to be had, it says who required it: "TLS required for route example.net but
    /// mx.example.net [192.0.2.1]:25: STARTTLS not offered".
    static func problem(_ failure: SMTPClientFailure, hop: RelayHop, address: String) -> String {
        let at = "\(hop.host) [\(address)]:\(hop.port)"
        let text = failure.reply.lines.joined(separator: " ")
        guard hop.tls == .required, failure.code == .tlsUnavailable || failure.code == .tlsFailed else {
            return "\(at): \(failure.reply.code) \(text)"
        }
        let prefix = "TLS required but "
        let why = text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
        return "TLS required for \(hop.tlsSource) but \(at): \(why)"
    }

    func deliver(_ message: LeasedMessage, body: @escaping @Sendable (Int64) async throws -> [UInt8]?) async -> [RelayResult] {
        var recipients: [OutboundRecipient] = []
        var unusable: [Int: RelayResult] = [:]
        for (i, r) in message.recipients.enumerated() {
            guard let address = Self.mailbox(r.recipient) else {
                unusable[i] = RelayResult(result: "failed", code: 553, enhancedCode: "5.1.3", text: "not a valid address: \(r.recipient)")
                continue
            }
            recipients.append(
                OutboundRecipient(address, notify: r.notify.flatMap(Self.notify), originalRecipient: r.orcpt.flatMap(Self.orcpt)))
        }
        // An envelope sender that cannot be written is never sent as `<>` (that would make the
        // message a bounce, and its own bounces would be lost): it fails.
        let parsedSender = Self.mailbox(message.sender)
        if !message.sender.isEmpty, parsedSender == nil {
            return message.recipients.map { _ in
                RelayResult(
                    result: "failed", code: 553, enhancedCode: "5.1.7", text: "the envelope sender \(message.sender) cannot be sent")
            }
        }
        let sender: ReversePath = parsedSender.map { .mailbox($0) } ?? .null
        var results: [RelayResult] = []
        if !recipients.isEmpty {
            let envelope = OutboundEnvelope(
                sender: sender, recipients: recipients, size: Int(message.size), body: Self.bodyType(message.bodyType),
                requiresSMTPUTF8: message.smtputf8, ret: message.ret.flatMap { DSNReturn(rawValue: $0.uppercased()) },
                envelopeID: message.envid)
            results = await connection.deliver(envelope, body: body).map(Self.result)
        }
        // Back in the leased order, the unusable addresses in their places.
        var out: [RelayResult] = []
        var next = results.makeIterator()
        for i in message.recipients.indices {
            out.append(
                unusable[i] ?? next.next()
                    ?? RelayResult(result: "deferred", enhancedCode: "4.4.2", text: "no answer", connectionLevel: true))
        }
        return out
    }

    func quit() async { await connection.quit() }

    static func result(_ d: RecipientDelivery) -> RelayResult {
        let result =
            switch d.result {
            case .delivered: "delivered"
            case .deferred: "deferred"
            case .failed: "failed"
            }
        return RelayResult(
            result: result, code: d.fromServer ? d.replyCode : nil, enhancedCode: d.enhancedCode?.description, text: d.text,
            remoteMTA: d.remoteMTA, dsnPassedOn: d.dsnPassedOn,
            // No reply from the server for it: the host failed, not the recipient; the next MX
            // may do better now — unless the whole message had gone (it may have arrived).
            connectionLevel: !d.fromServer && d.result == .deferred && !d.uncertain)
    }

    static func mailbox(_ address: String) -> Mailbox? {
        guard let at = address.lastIndex(of: "@"), at != address.startIndex else { return nil }
        let domain = address[address.index(after: at)...]
        guard !domain.isEmpty else { return nil }
        return Mailbox(localPart: String(address[..<at]), domain: String(domain))
    }

    static func bodyType(_ text: String) -> BodyType {
        switch text.lowercased() {
        case "8bitmime": .eightBitMIME
        case "binarymime": .binaryMIME
        default: .sevenBit
        }
    }

    /// `NEVER` or a comma list, as the queue keeps it.
    static func notify(_ text: String) -> DSNNotify? {
        guard let set = QueueSchedule.Notify.parse(text) else { return nil }
        if set.isEmpty { return .never }
        return .on(Set(set.compactMap { DSNNotify.Condition(rawValue: $0.rawValue.uppercased()) }))
    }

    /// `rfc822;addr` (RFC 3461 §4.2).
    static func orcpt(_ text: String) -> OriginalRecipient? {
        guard let semicolon = text.firstIndex(of: ";") else { return nil }
        return OriginalRecipient(addressType: String(text[..<semicolon]), address: String(text[text.index(after: semicolon)...]))
    }
}

extension RelayConnector {
    /// SMTP connections with the relay's settings: the real thing.
    public static func smtp(_ relay: RelayConfiguration, group: any EventLoopGroup) -> RelayConnector {
        SMTPRelayConnection.opener(relay, group: group)
    }
}
