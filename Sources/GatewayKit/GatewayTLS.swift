import NIOConcurrencyHelpers
public import NIOSSL

/// Where a gateway's certificate chain and private key are (PEM).
public struct TLSFiles: Sendable, Hashable {
    public var certificate: String
    public var key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }

    /// The configured files, or the self-signed pair `loft serve` makes in `<data>/tls` on first
    /// start when the configuration names none.
    public init(dataDirectory: String, certificate: String, key: String) {
        if certificate.isEmpty && key.isEmpty {
            self.init(certificate: dataDirectory + "/tls/cert.pem", key: dataDirectory + "/tls/key.pem")
        } else {
            self.init(certificate: certificate, key: key)
        }
    }
}

/// The TLS server context every listener of a gateway shares, loaded from its files and
/// loaded again on `reload` (SIGHUP, after a certificate renewal): a connection accepted
/// afterwards gets the new one, a connection already open keeps the one it began with, so
/// nothing is dropped. A reload that fails (a half-written file, a key that does not match)
/// leaves the current context in place.
public final class ServerTLS: Sendable {
    public let files: TLSFiles?
    private let context: NIOLockedValueBox<NIOSSLContext>

    public init(files: TLSFiles) throws {
        self.files = files
        context = NIOLockedValueBox(try GatewayTLS.serverContext(certificatePath: files.certificate, keyPath: files.key))
    }

    /// A fixed context (tests); `reload` keeps it.
    public init(context: NIOSSLContext) {
        files = nil
        self.context = NIOLockedValueBox(context)
    }

    public var current: NIOSSLContext { context.withLockedValue { $0 } }

    /// Reads the files again and, if they make a context, serves it from now on.
    public func reload() throws {
        guard let files else { return }
        let fresh = try GatewayTLS.serverContext(certificatePath: files.certificate, keyPath: files.key)
        context.withLockedValue { $0 = fresh }
    }
}

public enum GatewayTLS {
    /// The context for `listeners`, or nil when none of them uses TLS.
    public static func serverContext(for listeners: [Listener], files: TLSFiles?) throws -> ServerTLS? {
        guard listeners.contains(where: { $0.tls != .none }) else { return nil }
        guard let files else { throw GatewayError("TLS listeners need a certificate and key") }
        return try ServerTLS(files: files)
    }

    /// A server context for `certificatePath` (a PEM chain, leaf first) and `keyPath`. TLS 1.2
    /// is the minimum (RFC 8996 retired 1.0 and 1.1).
    public static func serverContext(certificatePath: String, keyPath: String) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw GatewayError("cannot load the TLS certificate \(certificatePath) and key \(keyPath): \(error)")
        }
        guard !chain.isEmpty else { throw GatewayError("no certificate in \(certificatePath)") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }
}

/// A gateway start-up failure with a message a person can act on.
public struct GatewayError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// A listener could not be opened because its port is in use or one this user may not
    /// bind: starting again will not help until the administrator changes something.
    public let isListenFailure: Bool
    public init(_ description: String, isListenFailure: Bool = false) {
        self.description = description
        self.isListenFailure = isListenFailure
    }
}
