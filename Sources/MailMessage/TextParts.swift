public import Foundation

/// Where the text of a message is, for searching it: each `text/*` leaf with its transfer
/// encoding and charset, those inside attached messages included.
public struct TextPart: Sendable, Equatable {
    /// The part's body, in the coordinates of the structure it came from.
    public var bodyRange: Range<Int>
    /// The Content-Transfer-Encoding, as `BodyStructure.encoding` has it.
    public var encoding: String
    public var charset: String?

    public init(bodyRange: Range<Int>, encoding: String, charset: String?) {
        self.bodyRange = bodyRange
        self.encoding = encoding
        self.charset = charset
    }

    /// The text leaves of an entity, in order.
    public static func of(_ entity: BodyStructure) -> [TextPart] {
        switch entity.content {
        case .single:
            return entity.type == "text"
                ? [TextPart(bodyRange: entity.bodyRange, encoding: entity.encoding, charset: entity[parameter: "charset"])] : []
        case .multipart(let children): return children.flatMap(of)
        case .message(_, let body): return of(body)
        }
    }

    /// The text leaves of a `ParsedMessage` stored as JSON, read without building the rest of
    /// it (envelopes, dispositions, …): what a body search needs of each message, several times
    /// cheaper than decoding the whole. Nil when the JSON is not a parsed message.
    public static func of(parsedMessageJSON json: Data) -> [TextPart]? {
        guard let view = try? JSONDecoder().decode(MessageView.self, from: json) else { return nil }
        var parts: [TextPart] = []
        view.body.collect(into: &parts)
        return parts
    }

    /// The members of `ParsedMessage` and `BodyStructure` (their synthesized coding) that say
    /// where text is; the others are skipped unread.
    private struct MessageView: Decodable {
        var body: EntityView
    }

    private struct EntityView: Decodable {
        var type: String
        var parameters: [MIMEParameter]
        var encoding: String
        var bodyStart: Int
        var end: Int
        var content: ContentView

        func collect(into parts: inout [TextPart]) {
            switch content {
            case .single:
                if type == "text" {
                    parts.append(
                        TextPart(bodyRange: bodyStart..<max(bodyStart, end), encoding: encoding, charset: parameters[parameter: "charset"]))
                }
            case .multipart(let children): for child in children { child.collect(into: &parts) }
            case .message(let body): body.collect(into: &parts)
            }
        }
    }

    /// `BodyStructure.Content` as Swift codes it: `{"single":{}}`, `{"multipart":{"_0":[…]}}`,
    /// `{"message":{"envelope":…,"body":…}}`.
    private indirect enum ContentView: Decodable {
        case single
        case multipart([EntityView])
        case message(EntityView)

        private enum Case: String, CodingKey { case single, multipart, message }
        private enum Payload: String, CodingKey {
            case children = "_0"
            case body
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Case.self)
            if c.contains(.multipart) {
                self = .multipart(
                    try c.nestedContainer(keyedBy: Payload.self, forKey: .multipart).decode([EntityView].self, forKey: .children))
            } else if c.contains(.message) {
                self = .message(try c.nestedContainer(keyedBy: Payload.self, forKey: .message).decode(EntityView.self, forKey: .body))
            } else {
                self = .single
            }
        }
    }
}
