/// Everything the back-end keeps about a message after parsing it once: the envelope and the
/// body structure with byte offsets, cached as JSON and served to IMAP and web mail later.
public struct ParsedMessage: Sendable, Equatable, Codable {
    public var envelope: Envelope
    /// The top-level entity: `headerStart` is 0, `bodyStart` the first body byte, `end` the
    /// message size.
    public var body: BodyStructure
    /// A `MessageLimits` bound was reached, so the structure is incomplete.
    public var truncated: Bool

    public init(envelope: Envelope, body: BodyStructure, truncated: Bool) {
        self.envelope = envelope
        self.body = body
        self.truncated = truncated
    }

    /// The header, blank line included (IMAP BODY[HEADER]).
    public var headerRange: Range<Int> { body.headerRange }
    /// The body (IMAP BODY[TEXT]).
    public var bodyRange: Range<Int> { body.bodyRange }

    /// The structure of the same body stored after `count` bytes of header lines (the
    /// Return-Path the back-end keeps per copy, outside the shared body): every offset moves by
    /// `count`, except that the message's header still starts at 0, the prefix being part of it.
    public func afterPrefix(_ count: Int) -> ParsedMessage {
        guard count != 0 else { return self }
        var shifted = self
        shifted.body = body.shifted(by: count)
        shifted.body.headerStart = 0
        return shifted
    }

    /// The part at an IMAP section number; see `BodyStructure.part(at:)`.
    public func part(at path: [Int]) -> BodyStructure? {
        body.part(at: path)
    }
}
