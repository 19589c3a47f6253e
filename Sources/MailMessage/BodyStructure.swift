/// One MIME entity of a message (RFC 2045, RFC 2046) as IMAP BODYSTRUCTURE describes it
/// (RFC 3501 §7.4.2), with the byte offsets needed to serve BODY[section] without reparsing.
///
/// `type` and `subtype` are lowercased. Offsets are absolute in the whole message:
/// `headerStart..<bodyStart` is the part's header with its terminating blank line (BODY[n.MIME],
/// or BODY[n.HEADER] for an embedded message) and `bodyStart..<end` its body (BODY[n]). Following
/// RFC 2046 §5.1.1, the line break before a boundary delimiter belongs to the delimiter, not to
/// the part. Sizes and line counts are of the stored bytes.
public struct BodyStructure: Sendable, Equatable, Codable {
    /// What kind of entity this is, and its children.
    public indirect enum Content: Sendable, Equatable, Codable {
        /// A leaf part (text, image, application, ... or an entity the limits left opaque).
        case single
        /// A multipart; RFC 2046 requires at least one child, but a malformed one may have none.
        case multipart([BodyStructure])
        /// A message/rfc822 (or message/global) part: the embedded message's envelope and its
        /// top-level entity.
        case message(envelope: Envelope, body: BodyStructure)
    }

    public var type: String
    public var subtype: String
    /// Content-Type parameters in order (for a multipart, including "boundary").
    public var parameters: [MIMEParameter]
    /// Content-ID, as written.
    public var id: String?
    /// Content-Description, as written (encoded words kept).
    public var description: String?
    /// Content-Transfer-Encoding uppercased, "7BIT" when absent (RFC 2045 §6.1).
    public var encoding: String
    /// Octets in the body, `end - bodyStart`.
    public var size: Int
    /// Lines in the body, for text/* and message/rfc822 parts only: the number of line breaks
    /// (a last line without one is not counted, as Dovecot counts).
    public var lines: Int?
    /// Content-MD5, as written.
    public var md5: String?
    public var disposition: ContentDisposition?
    /// Content-Language tags (RFC 3282).
    public var language: [String]
    /// Content-Location, as written (RFC 2557).
    public var location: String?
    public var headerStart: Int
    public var bodyStart: Int
    public var end: Int
    public var content: Content

    public init(
        type: String, subtype: String, parameters: [MIMEParameter] = [], id: String? = nil,
        description: String? = nil, encoding: String = "7BIT", size: Int = 0, lines: Int? = nil,
        md5: String? = nil, disposition: ContentDisposition? = nil, language: [String] = [],
        location: String? = nil, headerStart: Int = 0, bodyStart: Int = 0, end: Int = 0,
        content: Content = .single
    ) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
        self.id = id
        self.description = description
        self.encoding = encoding
        self.size = size
        self.lines = lines
        self.md5 = md5
        self.disposition = disposition
        self.language = language
        self.location = location
        self.headerStart = headerStart
        self.bodyStart = bodyStart
        self.end = end
        self.content = content
    }

    /// The same entity with every offset, its children's included, `count` bytes later.
    public func shifted(by count: Int) -> BodyStructure {
        var moved = self
        moved.headerStart += count
        moved.bodyStart += count
        moved.end += count
        switch content {
        case .single: break
        case .multipart(let children): moved.content = .multipart(children.map { $0.shifted(by: count) })
        case .message(let envelope, let body): moved.content = .message(envelope: envelope, body: body.shifted(by: count))
        }
        return moved
    }

    public var headerRange: Range<Int> { headerStart..<bodyStart }
    public var bodyRange: Range<Int> { bodyStart..<end }

    public var isMultipart: Bool {
        if case .multipart = content { return true }
        return false
    }

    /// The children of a multipart; empty otherwise.
    public var children: [BodyStructure] {
        if case .multipart(let children) = content { return children }
        return []
    }

    /// For a message/rfc822 part, the embedded message's envelope.
    public var embeddedEnvelope: Envelope? {
        if case .message(let envelope, _) = content { return envelope }
        return nil
    }

    /// For a message/rfc822 part, the embedded message's top-level entity.
    public var embeddedBody: BodyStructure? {
        if case .message(_, let body) = content { return body }
        return nil
    }

    /// The parameter called `name` (case-insensitive).
    public subscript(parameter name: String) -> String? {
        parameters[parameter: name]
    }

    // RFC 3501 §6.4.5
    // section-part = nz-number *("." nz-number)
    /// The part at an IMAP section number, called on a message's top-level entity. An empty path
    /// is the message itself. "Every message has at least one part number. Non-[MIME-IMB] messages,
    /// and non-multipart [MIME-IMB] messages with no encapsulated message, only have a part 1."
    /// The parts of a message/rfc822 part are the parts of the message it encapsulates.
    public func part(at path: [Int]) -> BodyStructure? {
        guard let first = path.first else { return self }
        var node = messagePart(first)
        for number in path.dropFirst() {
            guard let current = node else { return nil }
            switch current.content {
            case .multipart(let children):
                node = children.indices.contains(number - 1) ? children[number - 1] : nil
            case .message(_, let body):
                node = body.messagePart(number)
            case .single:
                return nil
            }
        }
        return node
    }

    /// Part `number` of a message whose top-level entity is `self`.
    private func messagePart(_ number: Int) -> BodyStructure? {
        if case .multipart(let children) = content {
            return children.indices.contains(number - 1) ? children[number - 1] : nil
        }
        return number == 1 ? self : nil
    }
}
