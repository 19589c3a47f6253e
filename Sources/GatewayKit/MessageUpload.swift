public import NIOCore
public import RPCProtocol
public import RPCTransport

/// One message on its way to the back-end, with memory bounded whatever its size (issue 3 §4):
/// a delivery (SMTP's DATA and BDAT, web mail's submission) or a message put into a mailbox
/// (IMAP APPEND, web mail's Sent and Drafts).
///
/// The first `chunkBytes` are held: a delivery that ends within them goes in one
/// `delivery.submit`. A longer one, and every mailbox upload, opens an upload (`delivery.begin`,
/// `message.append`) and streams in `upload.append` calls of `chunkBytes`, which the RPC
/// connection carries in order; the commit follows the last append. `isBackedUp` tells the connection to stop reading from the client
/// while too much is held or in flight.
///
/// Not Sendable: it lives on its connection's event loop, where every callback lands.
public final class MessageUpload {
    public typealias Completion = (Result<UploadCommitResult, any Error>) -> Void

    /// Who the message is from and for, as `delivery.begin`/`delivery.submit` take it.
    public struct Envelope: Sendable {
        public var sender: String
        public var recipients: [String]
        public var clientAddress: String
        /// The logged-in sender's session (submission), or nil (MX).
        public var session: String?
        /// True when the client is in the trusted networks and may relay.
        public var trustedRelay: Bool?
        /// RFC 3461 parameters, when the client gave any.
        public var dsn: DeliveryDSN?

        public init(
            sender: String, recipients: [String], clientAddress: String, session: String?, trustedRelay: Bool?, dsn: DeliveryDSN? = nil
        ) {
            self.sender = sender
            self.recipients = recipients
            self.clientAddress = clientAddress
            self.session = session
            self.trustedRelay = trustedRelay
            self.dsn = dsn
        }
    }

    private enum Upload {
        /// Everything is still in `pending`.
        case none
        case beginning
        case open(String)
        case failed(any Error)
        case finished
    }

    /// Where the message goes.
    public enum Target: Sendable {
        case delivery(Envelope)
        /// Into a mailbox of the logged-in account (`message.append`; `size` is checked against
        /// quota and limits before any byte is sent).
        case mailbox(MessageAppendParams)
    }

    let client: RPCClient
    let eventLoop: any EventLoop
    let chunkBytes: Int
    private let target: Target
    /// A delivery's idempotency key (Protocol §8): when the answer to its commit is lost (the
    /// back-end died after committing, before its answer arrived), the outcome is asked for
    /// by it, so that a committed message is not refused and then sent and stored again.
    public let idempotencyKey: String
    /// How long to keep asking for a lost answer's outcome, while the back-end restarts or the
    /// commit is still in progress there (each `delivery.outcome` waits up to 30 s for it):
    /// within the 10 minutes an SMTP client waits for the reply to its data (RFC 5321
    /// §4.5.3.2.6), so the answer is the truth, not a guess.
    public var outcomeWait: TimeAmount = .minutes(5)
    /// Header text the gateway writes in front of the client's bytes (Received, and on
    /// submission the missing Date and Message-ID).
    private var prefix: String
    private let completeHeader: ((ByteBuffer) -> String)?
    private var pending = ByteBuffer()
    private var upload = Upload.none
    private var inFlightBytes = 0
    private var appendFailure: (any Error)?
    /// The upload whose commit waits for appends still in flight.
    private var commitAwaitingAppends: String?
    private var completion: Completion?
    /// Called when a call in flight has finished, so the connection may read again.
    public var onProgress: () -> Void = {}

    /// `completeHeader` sees the start of the message once, before anything is sent, and
    /// returns header text to add after `prefix`.
    public init(
        client: RPCClient, eventLoop: any EventLoop, chunkBytes: Int, target: Target, prefix: String = "",
        completeHeader: ((ByteBuffer) -> String)? = nil
    ) {
        self.client = client
        self.eventLoop = eventLoop
        self.chunkBytes = max(4096, chunkBytes)
        self.target = target
        self.idempotencyKey = "gw-" + UniqueID.make()
        self.prefix = prefix
        self.completeHeader = completeHeader
    }

    /// True while the connection should not read more of the message.
    public var isBackedUp: Bool {
        pending.readableBytes > 2 * chunkBytes || inFlightBytes > 2 * chunkBytes
    }

    public func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        switch upload {
        case .failed, .finished:
            return
        case .none:
            pending.writeBuffer(&bytes)
            if pending.readableBytes + prefix.utf8.count > chunkBytes { begin() }
        case .beginning:
            pending.writeBuffer(&bytes)
        case .open(let id):
            pending.writeBuffer(&bytes)
            sendChunks(id, final: false)
        }
    }

    /// The whole message: prefix, header completion and client bytes.
    private func takeMessage() -> ByteBuffer {
        if let completeHeader { prefix += completeHeader(pending) }
        var message = ByteBuffer()
        message.reserveCapacity(prefix.utf8.count + pending.readableBytes)
        message.writeString(prefix)
        message.writeBuffer(&pending)
        pending = ByteBuffer()
        return message
    }

    private func begin() {
        pending = takeMessage()
        upload = .beginning
        let started: EventLoopFuture<UploadStarted>
        switch target {
        case .delivery(let envelope):
            let params = DeliveryBeginParams(
                sender: envelope.sender, recipients: envelope.recipients, clientAddress: envelope.clientAddress,
                session: envelope.session, trustedRelay: envelope.trustedRelay, idempotencyKey: idempotencyKey, dsn: envelope.dsn)
            started = client.callFuture(Methods.deliveryBegin, params)
        case .mailbox(let params):
            started = client.callFuture(Methods.messageAppend, params)
        }
        started.hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
            switch (result, upload) {
            case (.success(let started), .beginning):
                upload = .open(started.upload)
                sendChunks(started.upload, final: completion != nil)
                if completion != nil { sendCommit(started.upload) }
            case (.success(let started), _):
                // Aborted while beginning.
                abort(upload: started.upload)
            case (.failure(let error), .beginning):
                upload = .failed(error)
                pending = ByteBuffer()
                finish(.failure(error))
            case (.failure, _):
                break
            }
            onProgress()
        }
    }

    private func sendChunks(_ id: String, final: Bool) {
        while pending.readableBytes >= chunkBytes || (final && pending.readableBytes > 0) {
            let chunk = pending.readSlice(length: min(chunkBytes, pending.readableBytes))!
            let size = chunk.readableBytes
            inFlightBytes += size
            client.callFuture(Methods.uploadAppend, UploadAppendParams(upload: id, data: Self.payload(chunk)))
                .hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
                    inFlightBytes -= size
                    if case .failure(let error) = result, appendFailure == nil { appendFailure = error }
                    if inFlightBytes == 0, let waiting = commitAwaitingAppends {
                        commitAwaitingAppends = nil
                        sendCommit(waiting)
                    }
                    onProgress()
                }
        }
        if pending.readableBytes == 0 {
            pending.clear()
        } else if pending.readerIndex >= chunkBytes {
            pending.discardReadBytes()
        }
    }

    /// Commits the message; `done` runs once the back-end has made it durable, or failed.
    public func commit(_ done: @escaping Completion) {
        completion = done
        switch upload {
        case .none:
            guard case .delivery(let envelope) = target else {
                // A mailbox upload has no one-call form: begin, and its answer sends the rest.
                return begin()
            }
            upload = .finished
            let message = takeMessage()
            let params = DeliverySubmitParams(
                sender: envelope.sender, recipients: envelope.recipients, data: Self.payload(message),
                clientAddress: envelope.clientAddress, session: envelope.session, trustedRelay: envelope.trustedRelay,
                idempotencyKey: idempotencyKey, dsn: envelope.dsn)
            client.callFuture(Methods.deliverySubmit, params).hop(to: eventLoop).assumeIsolated().whenComplete { [self] in
                committed($0)
            }
        case .beginning:
            break  // begin's answer sends the rest and the commit
        case .open(let id):
            sendChunks(id, final: true)
            sendCommit(id)
        case .failed(let error):
            finish(.failure(error))
        case .finished:
            break
        }
    }

    /// Commits once every append has been answered: a chunk the back-end refused (`too_big`,
    /// `overloaded`, the connection gone) must never be followed by a commit of what arrived
    /// without it. After such a refusal the upload is aborted and the refusal reported.
    private func sendCommit(_ id: String) {
        upload = .finished
        guard inFlightBytes == 0 else {
            commitAwaitingAppends = id
            return
        }
        if let appendFailure {
            abort(upload: id)
            return finish(.failure(appendFailure))
        }
        client.callFuture(Methods.uploadCommit, UploadParams(upload: id)).hop(to: eventLoop).assumeIsolated().whenComplete {
            [self] result in
            committed(result)
        }
    }

    /// The commit's answer. A failure that may be a lost answer (the connection dropped or the
    /// call timed out while the commit was on its way) is not trusted for a delivery: the
    /// outcome is asked for by the idempotency key.
    private func committed(_ result: Result<UploadCommitResult, any Error>) {
        guard case .failure(let error) = result else { return finish(result) }
        guard case .delivery = target, Self.answerMayBeLost(error) else { return finish(.failure(error)) }
        askOutcome(reporting: error, until: .now() + outcomeWait)
    }

    /// True for failures after which the back-end may have done what was asked.
    static func answerMayBeLost(_ error: any Error) -> Bool {
        guard let error = error as? RPCError else { return true }
        return error.is(.unavailable) || error.is(.timeout)
    }

    /// Asks `delivery.outcome` until the back-end answers (it may be restarting) or `deadline`:
    /// a committed delivery succeeds with its recorded result; otherwise `reported` stands.
    private func askOutcome(reporting reported: any Error, until deadline: NIODeadline) {
        guard completion != nil else { return }
        client.callFuture(
            Methods.deliveryOutcome, DeliveryOutcomeParams(idempotencyKey: idempotencyKey), timeout: .seconds(35)
        ).hop(to: eventLoop).assumeIsolated().whenComplete { [self] answer in
            switch answer {
            case .success(let outcome):
                if outcome.committed, let result = outcome.result {
                    finish(.success(result))
                } else {
                    finish(.failure(reported))
                }
            case .failure(let error) where Self.answerMayBeLost(error) && NIODeadline.now() < deadline:
                eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(200)) { [self] in
                    askOutcome(reporting: reported, until: deadline)
                }
            case .failure:
                finish(.failure(reported))
            }
        }
    }

    private func finish(_ result: Result<UploadCommitResult, any Error>) {
        guard let done = completion else { return }
        completion = nil
        done(result)
    }

    /// Throws the message away (RSET, a refused message, the client gone). An open upload is
    /// aborted; one still beginning is aborted when its id arrives.
    public func abort() {
        completion = nil
        pending = ByteBuffer()
        if case .open(let id) = upload { abort(upload: id) }
        if let waiting = commitAwaitingAppends {
            commitAwaitingAppends = nil
            abort(upload: waiting)
        }
        upload = .failed(CancellationError())
    }

    private func abort(upload id: String) {
        client.callFuture(Methods.uploadAbort, UploadParams(upload: id)).whenComplete { _ in }
    }

    static func payload(_ bytes: ByteBuffer) -> Base64Data {
        Base64Data(copying: bytes.readableBytesView)
    }
}
