/// The bounds on the work `MessageParser` does for one message, named in one place.
///
/// Beyond a limit the parser keeps going in linear time but stops building structure: deeper
/// multiparts become opaque leaf parts, surplus parts and header fields are dropped, long header
/// values are cut, and `ParsedMessage.truncated` is set.
public struct MessageLimits: Sendable, Equatable {
    /// Nested multipart and message/rfc822 levels below the top-level message.
    public static let defaultMaxDepth = 32
    /// Body parts (leaf, multipart and message/rfc822 alike) in one message.
    public static let defaultMaxParts = 2000
    /// Header fields kept per header block.
    public static let defaultMaxHeaderFields = 1000
    /// Bytes of one header field's value (folded, before unfolding) kept; RFC 5322 §2.1.1 allows
    /// 998 per physical line but folding makes a field arbitrarily long.
    public static let defaultMaxHeaderLineBytes = 64 * 1024

    public var maxDepth: Int
    public var maxParts: Int
    public var maxHeaderFields: Int
    public var maxHeaderLineBytes: Int

    public init(
        maxDepth: Int = MessageLimits.defaultMaxDepth,
        maxParts: Int = MessageLimits.defaultMaxParts,
        maxHeaderFields: Int = MessageLimits.defaultMaxHeaderFields,
        maxHeaderLineBytes: Int = MessageLimits.defaultMaxHeaderLineBytes
    ) {
        self.maxDepth = max(0, maxDepth)
        self.maxParts = max(1, maxParts)
        self.maxHeaderFields = max(0, maxHeaderFields)
        self.maxHeaderLineBytes = max(0, maxHeaderLineBytes)
    }

    public static let standard = MessageLimits()
}
