import Dispatch
import Foundation
import MailCore
import NIOConcurrencyHelpers
import RPCProtocol
import RPCTransport
import Storage

/// A message arriving in chunks: `delivery.begin` or `message.append`, then `upload.append`s,
/// then `upload.commit`. Its body goes to the store's body writer: in memory while it is small
/// enough to be stored inline, then a staged file, so memory stays bounded whatever its size.
///
/// `@unchecked Sendable`: every mutable field is touched only on `queue`, a serial queue that
/// also keeps pipelined chunks of one upload in the order they arrived; the registry that
/// hands uploads out is locked.
final class Upload: @unchecked Sendable {
    enum Purpose {
        case delivery(sender: String, recipients: [String], mayRelay: Bool, idempotencyKey: String?, dsn: DeliveryDSN?)
        case append(accountID: Int64, mailbox: String, flags: MessageFlags, internalDate: Int64?)
    }

    let id: String
    let purpose: Purpose
    let maxBytes: Int64
    let queue: DispatchQueue
    /// Header lines the back-end stores before the client's bytes (the Return-Path line); counted
    /// in `received` and `maxBytes`, kept apart from the body so that one body can be shared.
    let prefix: [UInt8]
    var prefixBytes: Int64 { Int64(prefix.count) }
    /// The exact size the client announced (an IMAP literal), checked at commit.
    let announcedSize: Int64?
    var body: (any BodyWriter)?
    var received: Int64 = 0
    /// Set once the upload went wrong; every later call reports it.
    var failure: RPCError?

    var idempotencyKey: String? {
        if case .delivery(_, _, _, let key, _) = purpose { return key }
        return nil
    }

    init(id: String, purpose: Purpose, maxBytes: Int64, body: any BodyWriter, prefix: [UInt8], announcedSize: Int64?) {
        self.announcedSize = announcedSize
        self.id = id
        self.purpose = purpose
        self.maxBytes = maxBytes
        self.body = body
        self.prefix = prefix
        self.received = Int64(prefix.count)
        self.queue = DispatchQueue(label: "loft.upload")
    }

    /// Appends decoded bytes, refusing past `maxBytes` (the upload then fails for good).
    func append(_ bytes: [UInt8]) throws(RPCError) -> Int64 {
        if let failure { throw failure }
        guard let body else { throw RPCError(.noSuchUpload, "upload \(id) is finished") }
        if received + Int64(bytes.count) > maxBytes {
            let error = RPCError(.tooBig, "message exceeds the size limit of \(maxBytes) bytes")
            failure = error
            body.discard()
            self.body = nil
            throw error
        }
        do {
            try body.append(bytes)
        } catch {
            // A full disk is temporary (`storage_full`); the upload is over either way.
            let failed =
                (error as? StorageError)?.kind == .storageFull
                ? RPCError(.storageFull, "the server's storage is full; try again later", temporary: true)
                : RPCError(.internalError, "could not write the message: \(error)", temporary: true)
            failure = failed
            body.discard()
            self.body = nil
            throw failed
        }
        received += Int64(bytes.count)
        return received
    }

    func discard() {
        body?.discard()
        body = nil
    }
}

/// The uploads in progress, by id; each dies with its connection.
final class UploadRegistry: Sendable {
    struct Entry {
        let upload: Upload
        /// Compared by identity: connection ids are per socket, so the two sockets share them.
        let owner: RPCConnection
        /// Discards the upload if the connection closes first; removed with the upload.
        var hook: RPCConnection.CloseHook?
    }
    let uploads = NIOLockedValueBox([String: Entry]())
    static let maxPerConnection = 64
    static let maxTotal = 4096

    func add(_ upload: Upload, connection: RPCConnection) throws {
        try uploads.withLockedValue { u throws in
            guard u.count < Self.maxTotal else {
                throw RPCError(.overloaded, "too many uploads in progress", temporary: true)
            }
            guard u.values.filter({ $0.owner === connection }).count < Self.maxPerConnection else {
                throw RPCError(.limitExceeded, "at most \(Self.maxPerConnection) uploads per connection at once", temporary: true)
            }
            u[upload.id] = Entry(upload: upload, owner: connection)
        }
        let id = upload.id
        let hook = connection.onClose { [weak self] in
            if let upload = self?.remove(id) { upload.queue.async { upload.discard() } }
        }
        let registered = uploads.withLockedValue { u -> Bool in
            guard u[id] != nil else { return false }
            u[id]?.hook = hook
            return true
        }
        // Removed meanwhile (the connection closed and the hook ran): nothing to keep.
        if !registered { connection.removeCloseHook(hook) }
    }

    /// The upload, if `connection` started it: another connection cannot touch it.
    func get(_ id: String, connection: RPCConnection) throws(RPCError) -> Upload {
        guard let entry = uploads.withLockedValue({ $0[id] }), entry.owner === connection else {
            throw RPCError(.noSuchUpload, "no upload \(id) in progress")
        }
        return entry.upload
    }

    @discardableResult
    func remove(_ id: String, connection: RPCConnection? = nil) -> Upload? {
        let entry = uploads.withLockedValue { u -> Entry? in
            guard let entry = u[id], connection == nil || entry.owner === connection else { return nil }
            u[id] = nil
            return entry
        }
        if let entry, let hook = entry.hook { entry.owner.removeCloseHook(hook) }
        return entry?.upload
    }
}
