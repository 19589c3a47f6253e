import ArgumentParser
import GatewayKit
import IMAPGateway
import LoftConfig
import NIOCore
import POP3Gateway
import SASL

/// What the `pop3` and `imap` sections of loft.yaml have in common: listeners, timers, the
/// plaintext policy, CRAM-MD5's offer and the connection caps.
protocol MailboxGatewaySection {
    var listeners: [LoftConfig.ListenerSetting] { get set }
    var idleTimeoutSeconds: Int { get }
    var commandTimeoutSeconds: Int { get }
    var loginTimeoutSeconds: Int { get }
    var allowPlaintextWithoutTLS: Bool { get }
    var allowPlaintextOnLoopback: Bool { get }
    var offerCRAMMD5: LoftConfig.CRAMMD5Offer { get }
    var maxConnectionsPerAddress: Int { get }
    var maxConnections: Int { get }
}

extension LoftConfig.POP3Section: MailboxGatewaySection {}
extension LoftConfig.IMAPSection: MailboxGatewaySection {}

/// The same settings on the gateway's side.
protocol MailboxGatewayConfiguration {
    init(listeners: [Listener], hostname: String)
    var idleTimeout: TimeAmount { get set }
    var commandTimeout: TimeAmount { get set }
    var loginTimeout: TimeAmount { get set }
    var allowPlaintextWithoutTLS: Bool { get set }
    var allowPlaintextOnLoopback: Bool { get set }
    var saslMechanisms: [SASLMechanism] { get set }
    var cramMD5Offer: CRAMMD5Offer { get set }
    var maxConnectionsPerAddress: Int { get set }
    var maxConnections: Int { get set }
}

extension POP3GatewayConfiguration: MailboxGatewayConfiguration {}
extension IMAPGatewayConfiguration: MailboxGatewayConfiguration {}

extension GatewayProcess {
    /// The gateway's configuration from its section of the file.
    static func configuration<Configuration: MailboxGatewayConfiguration>(
        _ section: some MailboxGatewaySection, of config: LoftConfig, as: Configuration.Type
    ) -> Configuration {
        let listeners = section.listeners.map { listener($0.address, $0.port, tls: $0.tls) }
        var gateway = Configuration(listeners: listeners, hostname: hostname(config))
        gateway.idleTimeout = .seconds(Int64(section.idleTimeoutSeconds))
        gateway.commandTimeout = .seconds(Int64(section.commandTimeoutSeconds))
        gateway.loginTimeout = .seconds(Int64(section.loginTimeoutSeconds))
        gateway.allowPlaintextWithoutTLS = section.allowPlaintextWithoutTLS
        gateway.allowPlaintextOnLoopback = section.allowPlaintextOnLoopback
        switch section.offerCRAMMD5 {
        case .yes: gateway.cramMD5Offer = .always
        case .no: gateway.saslMechanisms.removeAll { $0 == .cramMD5 }
        case .auto: gateway.cramMD5Offer = .whileUsable(refresh: .milliseconds(Int64(config.cramMD5RefreshMs)))
        }
        gateway.maxConnectionsPerAddress = section.maxConnectionsPerAddress
        gateway.maxConnections = section.maxConnections
        return gateway
    }

    /// `--listen host:port/tls,…` over the section's listeners.
    static func overrideListeners(_ listen: String?, in section: inout some MailboxGatewaySection) throws {
        guard let listen else { return }
        do {
            section.listeners = try LoftConfig.ListenerSetting.parseList(listen, key: "--listen")
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
    }
}
