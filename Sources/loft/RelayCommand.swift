import ArgumentParser
import Foundation
import LoftConfig
import Logging
import NIOCore
import NIOPosix
import RPCTransport
import Relay
import SMTPCodec

/// `loft relay`: the outbound worker (issue 11), usually started by `loft serve`.
struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Run the outbound relay: deliver queued mail to other servers (usually started by `loft serve`).",
        discussion: """
            Settings come from the `relay` section of the configuration (see deploy/loft.yaml):
            workers, EHLO name, DNS servers, TLS policy, routes and smarthost. It leases work from
            the back-end over <data>/relay.sock and keeps no state of its own.
            """)
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.load()
        config.bootstrapLogging()
        let logger = Logger(label: "loft.relay")
        let metrics = await ProcessMetrics.start("relay", config: config, logger: logger)
        let relay = try Self.configuration(config)
        let group = MultiThreadedEventLoopGroup.singleton
        let backend = RPCClient(path: config.sockets + "/relay.sock", software: "loft-relay", group: group)
        let resolver = DNSResolver(configuration: try Self.resolverConfiguration(config), group: group)
        let worker = RelayWorker(
            configuration: relay, backend: backend, resolver: resolver, connector: .smtp(relay, group: group),
            logger: logger)
        logger.info("relay: \(relay.workers) workers, TLS \(relay.tls), EHLO \(relay.heloName)")
        let running = Task { await worker.run() }
        let signal = await waitForTermination()
        logger.info("received \(signal), stopping: deliveries in progress finish or their leases run out")
        worker.stop()
        _ = await running.value
        await backend.close()
        await metrics?.stop()
    }

    static func configuration(_ config: LoftConfig) throws -> RelayConfiguration {
        var relay = RelayConfiguration()
        relay.workers = config.relay.workers
        relay.heloName =
            !config.relay.heloName.isEmpty
            ? config.relay.heloName : (!config.smtp.hostname.isEmpty ? config.smtp.hostname : GatewayProcess.hostname(config))
        relay.port = config.relay.port
        relay.tls = Self.tlsPolicy(config.relay.tls) ?? .opportunistic
        relay.smarthostTLS = Self.tlsPolicy(config.relay.smarthostTLS)
        for (domain, policy) in config.relay.tlsPolicy {
            relay.tlsPolicy[domain.lowercased()] = Self.tlsPolicy(policy)
        }
        relay.caFile = config.relay.caFile.isEmpty ? nil : config.relay.caFile
        relay.connectTimeoutSeconds = config.relay.connectTimeoutSeconds
        relay.idlePollMs = config.relay.idlePollMs
        relay.leaseMs = config.relay.leaseSeconds * 1000
        relay.destinationConcurrency = config.relay.destinationConcurrency
        if !config.relay.smarthost.isEmpty {
            guard let route = RelayRoute.parse(config.relay.smarthost, defaultPort: 25) else {
                throw CLIError("relay.smarthost: \(config.relay.smarthost) is not host:port")
            }
            relay.smarthost = route
            if !config.relay.smarthostUsername.isEmpty {
                let path = config.relay.smarthostPasswordFile
                guard let data = FileManager.default.contents(atPath: path), !path.isEmpty else {
                    throw CLIError("relay.smarthost_password_file: cannot read \(path.isEmpty ? "(not set)" : path)")
                }
                var password = String(decoding: data, as: UTF8.self)
                while password.hasSuffix("\n") || password.hasSuffix("\r") { password.removeLast() }
                relay.smarthostCredentials = SMTPClientCredentials(username: config.relay.smarthostUsername, password: password)
            }
        }
        for (domain, target) in config.relay.routes {
            guard var route = RelayRoute.parse(target.host, defaultPort: 25) else {
                throw CLIError("relay.routes: \(domain): \(target.host) is not host:port")
            }
            route.tls = Self.tlsPolicy(target.tls)
            relay.routes[domain.lowercased()] = route
        }
        relay.local = Self.localEndpoints(config, heloName: relay.heloName)
        return relay
    }

    /// A TLS setting's word (checked by LoftConfig); nil for empty, "as the default".
    static func tlsPolicy(_ word: String) -> SMTPClientTLSPolicy? {
        word.isEmpty ? nil : SMTPClientTLSPolicy(rawValue: word)
    }

    /// What the relay must recognize as this server (RFC 5321 §5.1): the SMTP gateway's
    /// listeners from the same configuration `loft serve` hands every child, this machine's
    /// interface addresses (for listeners on 0.0.0.0 or ::), and the names this server gives.
    static func localEndpoints(_ config: LoftConfig, heloName: String) -> LocalEndpoints {
        let interfaces = ((try? System.enumerateDevices()) ?? []).compactMap { $0.address?.ipAddress }
        let names = [heloName, config.smtp.hostname, config.tls.hostname].filter { !$0.isEmpty }
        return LocalEndpoints(
            listeners: config.smtp.listeners.map { LocalEndpoints.Listener(address: $0.address, port: $0.port) }, names: Set(names),
            interfaceAddresses: interfaces)
    }

    static func resolverConfiguration(_ config: LoftConfig) throws -> DNSResolverConfiguration {
        var resolver = DNSResolverConfiguration.system()
        if !config.relay.nameservers.isEmpty {
            resolver.nameservers = try config.relay.nameservers.map { text in
                guard let route = RelayRoute.parse(text, defaultPort: 53) else {
                    throw CLIError("relay.nameservers: \(text) is not an address or address:port")
                }
                return (route.host, route.port)
            }
        }
        return resolver
    }
}
