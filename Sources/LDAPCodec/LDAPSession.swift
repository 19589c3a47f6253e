/// One LDAP connection's protocol state, as a value that returns actions (STYLE §3): the bind
/// state, StartTLS only with nothing outstanding, Abandon, Unbind, the refusal of every
/// request that would change the read-only directory, and the answers `LDAPCodecError.reply`
/// gives. It performs nothing: the gateway runs each action (write, ask the back-end, start TLS,
/// close) and feeds the outcome back as an event.
///
/// Searches and name/password binds are the back-end's; SASL is not offered yet (every SASL
/// bind is answered authMethodNotSupported).
public struct LDAPSession: Sendable {
    public let configuration: LDAPSessionConfiguration
    public private(set) var bindState = LDAPBindState.anonymous
    public private(set) var isTLSActive: Bool
    /// Searches handed to the back-end and not yet done.
    public private(set) var outstandingSearches: Set<LDAPMessageID> = []
    private var state = State.open
    /// Messages that arrived while a Bind was in progress, to read once it is done.
    private var deferred: [[UInt8]] = []

    private enum State: Sendable, Hashable {
        case open
        /// A name/password bind is with the back-end (RFC 4511 §4.2.1: "servers SHOULD NOT
        /// process or respond to requests received while processing a BindRequest").
        case binding(messageID: LDAPMessageID, name: String)
        /// The StartTLS response went out; the next octets are the TLS handshake.
        case startingTLS
        case closed
    }

    public init(configuration: LDAPSessionConfiguration = LDAPSessionConfiguration()) {
        self.configuration = configuration
        isTLSActive = configuration.implicitTLS
    }

    /// The operations this read-only directory refuses, each with its own response and
    /// unwillingToPerform (53), as OpenLDAP's slapd answers writes with `readonly on`
    /// ("operation restricted"). Compare is not implemented: the same answer.
    public static let refusedOperations: [LDAPOperation: String] = [
        .addRequest: "the directory is read-only",
        .modifyRequest: "the directory is read-only",
        .deleteRequest: "the directory is read-only",
        .modifyDNRequest: "the directory is read-only",
        .compareRequest: "compare is not supported",
    ]

    public mutating func receive(_ event: LDAPSessionEvent) -> [LDAPSessionAction] {
        guard state != .closed else { return [] }
        switch event {
        case .received(let pdu):
            return received(pdu)
        case .framingFailed(let error):
            return disconnect(error.reply)
        case .bindCompleted(let messageID, let result, let authorizationID):
            guard case .binding(messageID, let name) = state else { return [] }
            bindState = result.resultCode == .success ? .bound(authorizationID ?? "dn:" + name) : .anonymous
            state = .open
            return [.send(LDAPMessage(messageID: messageID, .bindResponse(LDAPBindResponse(result))))] + readDeferred()
        case .searchEntry(let messageID, let entry):
            guard outstandingSearches.contains(messageID) else { return [] }
            return [.send(LDAPMessage(messageID: messageID, .searchResultEntry(entry)))]
        case .searchCompleted(let messageID, let result, let controls):
            guard outstandingSearches.remove(messageID) != nil else { return [] }
            return [.send(LDAPMessage(messageID: messageID, .searchResultDone(result), controls: controls))]
        case .tlsEstablished:
            guard state == .startingTLS else { return [] }
            state = .open
            isTLSActive = true
            return []
        case .peerClosed:
            return close()
        }
    }

    // MARK: Requests

    private mutating func received(_ pdu: [UInt8]) -> [LDAPSessionAction] {
        switch state {
        case .closed: return []
        case .startingTLS:
            // RFC 4511 §4.14.1: nothing may follow the request until TLS is up. The gateway
            // discarded what was buffered with it; anything more is a client out of step.
            return close()
        case .binding:
            guard deferred.count < configuration.maximumDeferredRequests else {
                return disconnect(.disconnect(.noticeOfDisconnection(.busy, diagnosticMessage: "too many requests during a bind")))
            }
            deferred.append(pdu)
            return []
        case .open: break
        }
        let message: LDAPMessage
        do {
            message = try LDAPMessage(decoding: pdu, limits: configuration.limits)
        } catch {
            return answer(error)
        }
        let operation = message.protocolOp.operation
        guard operation.isRequest else {
            // §4.1.1: "the tag of the protocolOp is not recognized as a request".
            return disconnect(.disconnect(.noticeOfDisconnection(.protocolError, diagnosticMessage: "not a request")))
        }
        let controls: LDAPRequestControls
        do {
            controls = try LDAPRequestControls(of: message)
        } catch {
            return answer(error)
        }
        if let critical = controls.unavailableCriticalControl {
            return answer(
                message, LDAPResult(.unavailableCriticalExtension, diagnosticMessage: "control \(critical.type) is not supported"))
        }
        if let reason = Self.refusedOperations[operation] {
            return answer(message, LDAPResult(.unwillingToPerform, diagnosticMessage: reason))
        }
        switch message.protocolOp {
        case .bindRequest(let request): return bind(message.messageID, request)
        case .unbindRequest: return close()
        case .searchRequest(let request):
            outstandingSearches.insert(message.messageID)
            return [.search(messageID: message.messageID, request, controls, bindState: bindState)]
        case .abandonRequest(let target):
            // §4.11: "Servers MUST discard Abandon requests for messageIDs they do not recognize".
            guard outstandingSearches.remove(target) != nil else { return [] }
            return [.cancel(messageID: target)]
        case .extendedRequest(let request): return extended(message.messageID, request)
        default: return answer(message, LDAPResult(.protocolError, diagnosticMessage: "not a request"))
        }
    }

    /// RFC 4511 §4.2 and RFC 4513 §5: the simple mechanisms; SASL is not offered.
    private mutating func bind(_ messageID: LDAPMessageID, _ request: LDAPBindRequest) -> [LDAPSessionAction] {
        // §4.2.1: "Before processing a BindRequest, all uncompleted operations MUST either
        // complete or be abandoned."
        let actions = cancelOutstanding()
        bindState = .anonymous
        func respond(_ code: LDAPResultCode, _ message: String = "") -> [LDAPSessionAction] {
            actions + [
                .send(LDAPMessage(messageID: messageID, .bindResponse(LDAPBindResponse(LDAPResult(code, diagnosticMessage: message)))))
            ]
        }
        guard request.version == 3 else { return respond(.protocolError, "only LDAPv3 is supported") }
        switch request.authentication {
        case .simple(let password) where password.isEmpty:
            // §5.1.1 anonymous; §5.1.2: "Servers SHOULD by default fail Unauthenticated Bind
            // requests with a resultCode of unwillingToPerform".
            return request.name.isEmpty
                ? respond(.success) : respond(.unwillingToPerform, "unauthenticated bind (DN with no password) disallowed")
        case .simple(let password):
            // §5.1.3: behaviour for a password without a name is undefined; slapd answers 49.
            guard !request.name.isEmpty else { return respond(.invalidCredentials) }
            guard isTLSActive || configuration.allowsPlaintextBind else {
                return respond(.confidentialityRequired, "a password needs TLS: use StartTLS first")
            }
            state = .binding(messageID: messageID, name: request.name)
            return actions + [.authenticate(messageID: messageID, name: request.name, password: password)]
        case .sasl(let mechanism, _):
            // RFC 4511 §4.2.1: an empty mechanism "MUST" be answered authMethodNotSupported.
            return respond(.authMethodNotSupported, mechanism.isEmpty ? "no SASL mechanism" : "SASL \(mechanism) is not supported")
        case .unrecognized:
            return respond(.authMethodNotSupported, "unknown authentication method")
        }
    }

    private mutating func extended(_ messageID: LDAPMessageID, _ request: LDAPExtendedRequest) -> [LDAPSessionAction] {
        func respond(_ response: LDAPExtendedResponse) -> LDAPSessionAction {
            .send(LDAPMessage(messageID: messageID, .extendedResponse(response)))
        }
        switch request.name {
        case LDAPExtendedOperation.startTLS:
            // RFC 4513 §3.1.1: not with TLS up nor with responses outstanding: operationsError.
            // RFC 4511 §4.14.1: "If the server does not support TLS ... protocolError".
            if isTLSActive { return [respond(.startTLS(LDAPResult(.operationsError, diagnosticMessage: "TLS is already established")))] }
            if !outstandingSearches.isEmpty {
                return [respond(.startTLS(LDAPResult(.operationsError, diagnosticMessage: "operations are outstanding")))]
            }
            guard configuration.startTLSAvailable else {
                return [respond(LDAPExtendedResponse(LDAPResult(.protocolError, diagnosticMessage: "StartTLS is not available")))]
            }
            state = .startingTLS
            return [respond(.startTLS(.success)), .startTLS]
        case LDAPExtendedOperation.whoAmI:
            // RFC 4532 §3: empty for an anonymous client, otherwise the authzId (RFC 4513 §5.2.1.8).
            switch bindState {
            case .anonymous: return [respond(.whoAmI(authorizationID: ""))]
            case .bound(let authorizationID): return [respond(.whoAmI(authorizationID: authorizationID))]
            }
        default:
            // RFC 4511 §4.12: an unrecognised requestName is answered with protocolError.
            return [respond(LDAPExtendedResponse(LDAPResult(.protocolError, diagnosticMessage: "unsupported extended operation")))]
        }
    }

    // MARK: Helpers

    private func answer(_ message: LDAPMessage, _ result: LDAPResult) -> [LDAPSessionAction] {
        guard let response = LDAPProtocolOp.response(to: message.protocolOp.operation, result) else { return [] }
        return [.send(LDAPMessage(messageID: message.messageID, response))]
    }

    /// What `LDAPCodecError.reply` says, as actions.
    private mutating func answer(_ error: LDAPCodecError) -> [LDAPSessionAction] {
        switch error.reply {
        case .respond(let response): return [.send(response)]
        case .ignore: return []
        case .disconnect: return disconnect(error.reply)
        }
    }

    private mutating func readDeferred() -> [LDAPSessionAction] {
        var actions: [LDAPSessionAction] = []
        while state == .open, !deferred.isEmpty {
            actions += received(deferred.removeFirst())
        }
        return actions
    }

    private mutating func cancelOutstanding() -> [LDAPSessionAction] {
        let cancelled = outstandingSearches.sorted().map { LDAPSessionAction.cancel(messageID: $0) }
        outstandingSearches = []
        return cancelled
    }

    private mutating func disconnect(_ reply: LDAPErrorReply) -> [LDAPSessionAction] {
        guard case .disconnect(let notice?) = reply else { return close() }
        return [.send(notice)] + close()
    }

    private mutating func close() -> [LDAPSessionAction] {
        let actions = cancelOutstanding() + [.close]
        state = .closed
        deferred = []
        return actions
    }
}

/// The client's authorization state (RFC 4513 §4): anonymous until a name/password bind
/// succeeds; any bind starts from anonymous again.
public enum LDAPBindState: Sendable, Hashable {
    case anonymous
    /// Bound; the authzId of RFC 4513 §5.2.1.8 ("dn:" + the entry's DN, or "u:" + an account
    /// without an entry), which Who am I? answers.
    case bound(String)
}

public struct LDAPSessionConfiguration: Sendable, Hashable {
    public var limits: LDAPLimits
    /// Whether a certificate is configured, so that StartTLS can succeed.
    public var startTLSAvailable: Bool
    /// The connection is TLS from its first octet (LDAPS).
    public var implicitTLS: Bool
    /// Whether a password may be sent without TLS (DESIGN §5: from loopback, or when the
    /// configuration allows it; RFC 4513 §5.1.3: not "suitable for authentication in
    /// environments without confidentiality protection"). Otherwise confidentialityRequired.
    public var allowsPlaintextBind: Bool
    /// Messages held while a bind is with the back-end; one more ends the session.
    public var maximumDeferredRequests: Int

    public init(
        limits: LDAPLimits = .default, startTLSAvailable: Bool = true, implicitTLS: Bool = false, allowsPlaintextBind: Bool = false,
        maximumDeferredRequests: Int = 8
    ) {
        self.limits = limits
        self.startTLSAvailable = startTLSAvailable
        self.implicitTLS = implicitTLS
        self.allowsPlaintextBind = allowsPlaintextBind
        self.maximumDeferredRequests = maximumDeferredRequests
    }
}

public enum LDAPSessionEvent: Sendable, Hashable {
    /// A whole message as `LDAPFramer.nextMessage()` handed it out.
    case received([UInt8])
    /// `LDAPFramer` threw: the stream cannot be read further.
    case framingFailed(LDAPCodecError)
    /// The back-end's answer to `.authenticate`. Success binds as `authorizationID` (the
    /// authzId of RFC 4513 §5.2.1.8: the bind name may be a mail address, not the entry's DN);
    /// nil: as "dn:" + the name asked for.
    case bindCompleted(messageID: LDAPMessageID, result: LDAPResult, authorizationID: String? = nil)
    /// One entry of a `.search`.
    case searchEntry(messageID: LDAPMessageID, LDAPSearchResultEntry)
    /// The end of a `.search`, with its response controls (paged results).
    case searchCompleted(messageID: LDAPMessageID, LDAPResult, controls: [LDAPControl])
    /// The TLS handshake after `.startTLS` finished.
    case tlsEstablished
    /// The client closed the connection.
    case peerClosed
}

public enum LDAPSessionAction: Sendable, Hashable {
    case send(LDAPMessage)
    /// Check the name and password with the back-end; answer with `.bindCompleted`.
    case authenticate(messageID: LDAPMessageID, name: String, password: [UInt8])
    /// Run the search as `bindState` may; feed back `.searchEntry` and `.searchCompleted`.
    case search(messageID: LDAPMessageID, LDAPSearchRequest, LDAPRequestControls, bindState: LDAPBindState)
    /// Stop that search and send nothing more for it (abandoned, rebound, or closing).
    case cancel(messageID: LDAPMessageID)
    /// The StartTLS response has been sent: discard every octet read after the request (they
    /// came in the clear, RFC 4511 §4.14.1), start a new `LDAPFramer`, run the TLS handshake,
    /// then feed `.tlsEstablished`.
    case startTLS
    /// Flush what was sent and close the connection (RFC 4511 §5.3).
    case close
}
