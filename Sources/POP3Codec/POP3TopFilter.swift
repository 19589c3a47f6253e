public import NIOCore

/// The streaming cut for `TOP msg n` (RFC 1939 §7): passes the header, the blank line after it
/// and the first `n` body lines, then nothing. It only ever passes a prefix of each chunk, so it
/// says how many bytes of the chunk to keep and never copies.
///
/// Line ends are recognised as the `POP3DotStuffer` recognises them (CRLF, bare LF, bare CR), so
/// the lines counted are the lines the client sees. A message without a blank line is all header
/// and is passed whole; a message with fewer than `n` body lines is passed whole.
public struct POP3TopFilter: Sendable {
    private enum Phase: Sendable {
        case header
        case body(remaining: Int)
        case done
    }

    private var phase: Phase = .header
    private let bodyLines: Int
    private var atLineStart = true
    private var pendingCR = false

    public init(bodyLines: Int) {
        self.bodyLines = max(0, bodyLines)
    }

    /// True once the last wanted line has passed; later chunks are dropped whole.
    public var isComplete: Bool {
        if case .done = phase { true } else { false }
    }

    /// The number of leading bytes of `chunk` that belong to the output.
    public mutating func admit(_ chunk: ByteBuffer) -> Int {
        chunk.withUnsafeReadableBytes { admit($0) }
    }

    mutating func admit(_ bytes: UnsafeRawBufferPointer) -> Int {
        var index = 0
        while index < bytes.count, !isComplete {
            let byte = bytes[index]
            if pendingCR {
                pendingCR = false
                if byte == UInt8(ascii: "\n") {
                    index += 1
                    endLine()
                    continue
                }
                endLine()  // a bare CR ended the line; `byte` starts the next one
                if isComplete { break }
            }
            switch byte {
            case UInt8(ascii: "\r"): pendingCR = true
            case UInt8(ascii: "\n"): endLine()
            default: atLineStart = false
            }
            index += 1
        }
        return index
    }

    private mutating func endLine() {
        let wasEmpty = atLineStart
        atLineStart = true
        switch phase {
        case .header where wasEmpty:
            phase = bodyLines == 0 ? .done : .body(remaining: bodyLines)
        case .header, .done:
            break
        case .body(let remaining):
            phase = remaining <= 1 ? .done : .body(remaining: remaining - 1)
        }
    }
}
