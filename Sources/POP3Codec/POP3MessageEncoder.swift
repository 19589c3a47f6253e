public import NIOCore

/// The whole content path of a RETR or TOP response body: an optional `POP3TopFilter` in front
/// of a `POP3DotStuffer`. Feed it the message bytes in order, then call `finish`.
public struct POP3MessageEncoder: Sendable {
    private var filter: POP3TopFilter?
    private var stuffer = POP3DotStuffer()

    /// `topLines` nil encodes the whole message (RETR); a value encodes `TOP msg topLines`.
    public init(topLines: Int? = nil) {
        self.filter = topLines.map { POP3TopFilter(bodyLines: $0) }
    }

    /// True when a TOP cut has seen all it needs; the rest of the message can be skipped.
    public var isComplete: Bool { filter?.isComplete ?? false }

    public mutating func encode(_ chunk: ByteBuffer, into output: inout ByteBuffer) {
        chunk.withUnsafeReadableBytes { bytes in
            let kept = filter?.admit(bytes) ?? bytes.count
            stuffer.encode(UnsafeRawBufferPointer(rebasing: bytes[0..<kept]), into: &output)
        }
    }

    public mutating func finish(into output: inout ByteBuffer) {
        stuffer.finish(into: &output)
    }
}
