public import NIOCore

/// Receives the octets of one BDAT chunk (RFC 3030 §2): exactly `chunkSize` bytes, taken as
/// they are (no dot-stuffing, no line handling), handed out in chunks of at most
/// `flushThreshold` bytes. Like `DataReceiver`, it keeps consuming once the message is over
/// its size limit, so the stream stays in sync, and reports the overflow at the end.
public struct BDATReceiver: Sendable {
    public struct Outcome: Sendable, Hashable {
        public var chunkSize: Int
        public var last: Bool
        /// Message octets so far, this chunk included.
        public var messageSize: Int
        public var exceededSize: Bool
    }

    public enum Event: Sendable, Equatable {
        case chunk(ByteBuffer)
        case finished(Outcome)
    }

    public let chunkSize: Int
    public let last: Bool
    private let maximumSize: Int
    private let flushThreshold: Int
    /// When true the chunk is consumed and dropped (a refused BDAT, RFC 3030 §2).
    private let discarding: Bool
    private var remaining: Int
    private var messageSize: Int
    private var pending = ByteBuffer()
    private var finished = false

    /// - Parameters:
    ///   - alreadyReceived: message octets of earlier chunks of the same message.
    ///   - discarding: consume the chunk without handing anything out.
    public init(
        chunkSize: Int, last: Bool, alreadyReceived: Int = 0, maximumSize: Int = SMTPLimits.messageSize,
        flushThreshold: Int = SMTPLimits.chunkFlushThreshold, discarding: Bool = false
    ) {
        self.chunkSize = chunkSize
        self.last = last
        self.maximumSize = maximumSize
        self.flushThreshold = max(1, flushThreshold)
        self.discarding = discarding
        self.remaining = chunkSize
        self.messageSize = alreadyReceived
    }

    public var isFinished: Bool { finished }

    private var keeping: Bool { !discarding && messageSize <= maximumSize }

    /// Consumes at most the chunk's remaining bytes from the front of `buffer`. A zero-size chunk
    /// finishes on the first call, even with an empty buffer.
    public mutating func receive(_ buffer: inout ByteBuffer) -> [Event] {
        var events: [Event] = []
        guard !finished else { return events }
        while remaining > 0, buffer.readableBytes > 0 {
            let take = min(remaining, buffer.readableBytes, flushThreshold - pending.readableBytes)
            var slice = buffer.readSlice(length: take)!
            remaining -= take
            messageSize += take
            if keeping {
                pending.writeBuffer(&slice)
                if pending.readableBytes == flushThreshold { flush(into: &events) }
            } else {
                pending.clear()
            }
        }
        if remaining == 0 {
            flush(into: &events)
            finished = true
            events.append(
                .finished(
                    Outcome(
                        chunkSize: chunkSize, last: last, messageSize: messageSize,
                        exceededSize: messageSize > maximumSize)))
        }
        return events
    }

    private mutating func flush(into events: inout [Event]) {
        guard keeping, pending.readableBytes > 0 else { return }
        events.append(.chunk(pending))
        pending = ByteBuffer()
    }
}
