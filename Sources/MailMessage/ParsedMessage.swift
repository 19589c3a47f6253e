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

    /// The part at an IMAP section number; see `BodyStructure.part(at:)`.
    public func part(at path: [Int]) -> BodyStructure? {
        body.part(at: path)
    }
}
