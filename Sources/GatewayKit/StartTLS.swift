public import NIOCore
public import NIOSSL
import NIOTLS

/// Switching a live plaintext connection to TLS: POP3 STLS (RFC 2595 §4), SMTP STARTTLS
/// (RFC 3207 §4.2), IMAP STARTTLS (RFC 9051 §6.2.1).
public enum StartTLS {
    /// Call on the channel's event loop right after writing and flushing the positive reply
    /// (`+OK`, `220`, `OK`), from the handler that wrote it.
    ///
    /// The reply has already passed the head of the pipeline, so it goes out in the clear; the
    /// TLS handler goes in front at once, in the same event-loop turn, so every byte read from
    /// now on passes through it. Whatever plaintext the client pipelined after the command is in
    /// `buffered` — it must never be read as if it came over TLS (RFC 3207 §5, CVE-2011-0411),
    /// so it is dropped here.
    public static func begin(
        on channel: any Channel, context: NIOSSLContext, discarding buffered: inout ByteBuffer
    ) throws {
        channel.eventLoop.preconditionInEventLoop()
        buffered.moveReaderIndex(forwardBy: buffered.readableBytes)
        buffered.discardReadBytes()
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context), position: .first)
    }

    /// True for the user event the TLS handler fires when its handshake has completed: the
    /// protocol session learns TLS is up (POP3's `.tlsEstablished`).
    public static func isHandshakeCompleted(_ event: Any) -> Bool {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { return true }
        return false
    }
}
