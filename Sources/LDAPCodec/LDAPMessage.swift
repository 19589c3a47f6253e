public import NIOCore
import SwiftASN1

/// MessageID ::= INTEGER (0 .. maxInt) (RFC 4511 §4.1.1). Zero is reserved for unsolicited
/// notifications (§4.1.1.1).
public typealias LDAPMessageID = Int32

/// The envelope of every LDAP PDU (RFC 4511 §4.1.1):
///
///     LDAPMessage ::= SEQUENCE {
///          messageID       MessageID,
///          protocolOp      CHOICE { bindRequest BindRequest, ... },
///          controls       [0] Controls OPTIONAL }
public struct LDAPMessage: Sendable, Hashable {
    public var messageID: LDAPMessageID
    public var protocolOp: LDAPProtocolOp
    public var controls: [LDAPControl]

    public init(messageID: LDAPMessageID, _ protocolOp: LDAPProtocolOp, controls: [LDAPControl] = []) {
        self.messageID = messageID
        self.protocolOp = protocolOp
        self.controls = controls
    }

    /// Decodes one whole message as `LDAPFramer.nextMessage()` hands it out. An error carries
    /// the messageID and operation when they could be read (`LDAPCodecError.reply`).
    public init(decoding pdu: [UInt8], limits: LDAPLimits = .default) throws(LDAPCodecError) {
        guard pdu.count <= limits.pduSize else { throw LDAPCodecError(.pduTooLarge, "\(pdu.count) octets") }
        let envelope = try BERStructure.check(pdu)
        do throws(LDAPCodecError) {
            let root: ASN1Node
            do {
                root = try BER.parse(pdu)
            } catch {
                throw LDAPCodecError(.malformed, "\(error)")
            }
            var decoder = LDAPDecoder(limits: limits)
            self = try decoder.message(root)
        } catch {
            throw error.located(messageID: envelope.messageID, operation: envelope.operation)
        }
    }

    /// The message in BER: swift-asn1 writes DER, which is valid BER, with the elements of
    /// every SET OF in the order given (they are not sorted: LDAP does not ask it, and a filter
    /// comes back as it went).
    public func encoded() -> [UInt8] {
        var serializer = DER.Serializer()
        serializer.constructed(.sequence) { body in
            body.integer(Int(messageID))
            protocolOp.encode(into: &body)
            if !controls.isEmpty {
                body.constructed(.context(0)) { list in
                    for control in controls { control.encode(into: &list) }
                }
            }
        }
        return serializer.serializedBytes
    }

    public func write(into buffer: inout ByteBuffer) {
        buffer.writeBytes(encoded())
    }

    /// The Notice of Disconnection (RFC 4511 §4.4.1): an unsolicited ExtendedResponse with
    /// messageID 0 and responseName 1.3.6.1.4.1.1466.20036, sent just before the server closes.
    public static func noticeOfDisconnection(_ resultCode: LDAPResultCode, diagnosticMessage: String = "") -> LDAPMessage {
        LDAPMessage(
            messageID: 0,
            .extendedResponse(
                LDAPExtendedResponse(
                    LDAPResult(resultCode, diagnosticMessage: diagnosticMessage), name: LDAPExtendedOperation.noticeOfDisconnection)))
    }
}

/// The protocolOp of an LDAPMessage (RFC 4511 §4.1.1). IntermediateResponse (§4.13) is not
/// here: no operation this server performs uses it.
public enum LDAPProtocolOp: Sendable, Hashable {
    case bindRequest(LDAPBindRequest)
    case bindResponse(LDAPBindResponse)
    /// UnbindRequest ::= [APPLICATION 2] NULL
    case unbindRequest
    case searchRequest(LDAPSearchRequest)
    case searchResultEntry(LDAPSearchResultEntry)
    /// SearchResultDone ::= [APPLICATION 5] LDAPResult
    case searchResultDone(LDAPResult)
    /// SearchResultReference ::= [APPLICATION 19] SEQUENCE SIZE (1..MAX) OF uri URI
    case searchResultReference([String])
    case modifyRequest(LDAPModifyRequest)
    case modifyResponse(LDAPResult)
    case addRequest(LDAPAddRequest)
    case addResponse(LDAPResult)
    /// DelRequest ::= [APPLICATION 10] LDAPDN
    case deleteRequest(String)
    case deleteResponse(LDAPResult)
    case modifyDNRequest(LDAPModifyDNRequest)
    case modifyDNResponse(LDAPResult)
    case compareRequest(LDAPCompareRequest)
    case compareResponse(LDAPResult)
    /// AbandonRequest ::= [APPLICATION 16] MessageID
    case abandonRequest(LDAPMessageID)
    case extendedRequest(LDAPExtendedRequest)
    case extendedResponse(LDAPExtendedResponse)

    public var operation: LDAPOperation {
        switch self {
        case .bindRequest: .bindRequest
        case .bindResponse: .bindResponse
        case .unbindRequest: .unbindRequest
        case .searchRequest: .searchRequest
        case .searchResultEntry: .searchResultEntry
        case .searchResultDone: .searchResultDone
        case .searchResultReference: .searchResultReference
        case .modifyRequest: .modifyRequest
        case .modifyResponse: .modifyResponse
        case .addRequest: .addRequest
        case .addResponse: .addResponse
        case .deleteRequest: .deleteRequest
        case .deleteResponse: .deleteResponse
        case .modifyDNRequest: .modifyDNRequest
        case .modifyDNResponse: .modifyDNResponse
        case .compareRequest: .compareRequest
        case .compareResponse: .compareResponse
        case .abandonRequest: .abandonRequest
        case .extendedRequest: .extendedRequest
        case .extendedResponse: .extendedResponse
        }
    }

    /// The response to a request of kind `operation` that carries `result` alone; nil for
    /// Unbind and Abandon, which have none, and for anything that is not a request.
    public static func response(to operation: LDAPOperation, _ result: LDAPResult) -> LDAPProtocolOp? {
        switch operation.response {
        case .bindResponse: .bindResponse(LDAPBindResponse(result))
        case .searchResultDone: .searchResultDone(result)
        case .modifyResponse: .modifyResponse(result)
        case .addResponse: .addResponse(result)
        case .deleteResponse: .deleteResponse(result)
        case .modifyDNResponse: .modifyDNResponse(result)
        case .compareResponse: .compareResponse(result)
        case .extendedResponse: .extendedResponse(LDAPExtendedResponse(result))
        default: nil
        }
    }

    func encode(into serializer: inout DER.Serializer) {
        let tag = ASN1Identifier.application(UInt(operation.rawValue))
        switch self {
        case .bindRequest(let request): request.encode(into: &serializer)
        case .bindResponse(let response): response.encode(into: &serializer)
        case .unbindRequest: serializer.octets([], tag)
        case .searchRequest(let request): request.encode(into: &serializer)
        case .searchResultEntry(let entry): entry.encode(into: &serializer)
        case .searchResultReference(let uris):
            serializer.constructed(tag) { body in
                for uri in uris { body.string(uri) }
            }
        case .modifyRequest(let request): request.encode(into: &serializer)
        case .addRequest(let request): request.encode(into: &serializer)
        case .deleteRequest(let dn): serializer.string(dn, tag)
        case .modifyDNRequest(let request): request.encode(into: &serializer)
        case .compareRequest(let request): request.encode(into: &serializer)
        case .abandonRequest(let id): serializer.integer(Int(id), tag)
        case .extendedRequest(let request): request.encode(into: &serializer)
        case .extendedResponse(let response): response.encode(into: &serializer)
        case .searchResultDone(let result), .modifyResponse(let result), .addResponse(let result), .deleteResponse(let result),
            .modifyDNResponse(let result), .compareResponse(let result):
            serializer.constructed(tag) { result.encodeComponents(into: &$0) }
        }
    }
}

/// Decoding state for one message: the bounds, and the filter components counted so far.
struct LDAPDecoder {
    let limits: LDAPLimits
    var filterComponents = 0

    init(limits: LDAPLimits) {
        self.limits = limits
    }

    mutating func message(_ root: ASN1Node) throws(LDAPCodecError) -> LDAPMessage {
        var elements = try BERElements(root, .sequence, "LDAPMessage")
        let idNode = try elements.next("messageID")
        guard idNode.identifier == .integer, let id = try? idNode.nonNegative("messageID") else {
            throw LDAPCodecError(.invalidMessageID)
        }
        let op = try protocolOp(elements.next("protocolOp"))
        var controls: [LDAPControl] = []
        if let node = elements.next(ifTagged: .context(0)) {
            var list = try BERElements(node, .context(0), "Controls")
            let nodes = list.rest()
            guard nodes.count <= limits.controls else {
                throw LDAPCodecError(.tooManyControls, "\(nodes.count) controls", messageID: id, operation: op.operation)
            }
            for node in nodes { controls.append(try LDAPControl(ber: node)) }
        }
        return LDAPMessage(messageID: id, op, controls: controls)
    }

    mutating func protocolOp(_ node: ASN1Node) throws(LDAPCodecError) -> LDAPProtocolOp {
        guard node.identifier.tagClass == .application, let number = UInt8(exactly: node.identifier.tagNumber),
            let operation = LDAPOperation(rawValue: number), operation != .intermediateResponse
        else {
            throw LDAPCodecError(.unknownOperation, "\(node.identifier)")
        }
        let tag = ASN1Identifier.application(UInt(number))
        switch operation {
        case .bindRequest: return .bindRequest(try LDAPBindRequest(ber: node))
        case .bindResponse: return .bindResponse(try LDAPBindResponse(ber: node))
        case .unbindRequest:
            guard try node.octets(tag, "UnbindRequest").isEmpty else { throw LDAPCodecError(.malformed, "UnbindRequest is NULL") }
            return .unbindRequest
        case .searchRequest: return .searchRequest(try LDAPSearchRequest(ber: node, decoder: &self))
        case .searchResultEntry: return .searchResultEntry(try LDAPSearchResultEntry(ber: node, limits: limits))
        case .searchResultDone: return .searchResultDone(try LDAPResult(ber: node, tag, "SearchResultDone"))
        case .searchResultReference:
            var elements = try BERElements(node, tag, "SearchResultReference")
            var uris: [String] = []
            for uri in elements.rest() { uris.append(try uri.string(.octetString, "URI")) }
            guard !uris.isEmpty else { throw LDAPCodecError(.invalidValue, "SearchResultReference SIZE (1..MAX)") }
            return .searchResultReference(uris)
        case .modifyRequest: return .modifyRequest(try LDAPModifyRequest(ber: node, limits: limits))
        case .modifyResponse: return .modifyResponse(try LDAPResult(ber: node, tag, "ModifyResponse"))
        case .addRequest: return .addRequest(try LDAPAddRequest(ber: node, limits: limits))
        case .addResponse: return .addResponse(try LDAPResult(ber: node, tag, "AddResponse"))
        case .deleteRequest: return .deleteRequest(try node.dn(tag, "DelRequest"))
        case .deleteResponse: return .deleteResponse(try LDAPResult(ber: node, tag, "DelResponse"))
        case .modifyDNRequest: return .modifyDNRequest(try LDAPModifyDNRequest(ber: node))
        case .modifyDNResponse: return .modifyDNResponse(try LDAPResult(ber: node, tag, "ModifyDNResponse"))
        case .compareRequest: return .compareRequest(try LDAPCompareRequest(ber: node, limits: limits))
        case .compareResponse: return .compareResponse(try LDAPResult(ber: node, tag, "CompareResponse"))
        case .abandonRequest:
            let value = try node.integer(tag, "AbandonRequest")
            guard let id = Int32(exactly: value), id >= 0 else { throw LDAPCodecError(.invalidValue, "AbandonRequest \(value)") }
            return .abandonRequest(id)
        case .extendedRequest: return .extendedRequest(try LDAPExtendedRequest(ber: node))
        case .extendedResponse: return .extendedResponse(try LDAPExtendedResponse(ber: node))
        case .intermediateResponse: throw LDAPCodecError(.unknownOperation, "IntermediateResponse")
        }
    }
}
