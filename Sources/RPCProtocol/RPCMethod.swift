/// A method of the RPC: its name, its param and result types, and which sockets may call it.
/// Client and server both use these values, so a call and its handler cannot disagree on types.
public struct RPCMethod<Params: Codable & Sendable, Result: Codable & Sendable>: Sendable {
    public let name: String
    public let roles: Set<RPCRole>

    public init(_ name: String, roles: Set<RPCRole>) {
        self.name = name
        self.roles = roles
    }
}

/// For methods that take or return nothing: encodes as `{}` and accepts any object.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

private let both: Set<RPCRole> = [.gateway, .admin]
private let admin: Set<RPCRole> = [.admin]
private let relay: Set<RPCRole> = [.relay, .admin]
private let everyone: Set<RPCRole> = [.gateway, .admin, .relay]

/// Every method of protocol version 1. `Protocol/openrpc.json` documents each; a test checks that
/// this list and that document name the same methods.
public enum Methods {
    // Connection
    public static let hello = RPCMethod<HelloParams, HelloResult>("hello", roles: everyone)
    public static let ping = RPCMethod<Empty, Empty>("ping", roles: everyone)

    // Authentication and sessions
    public static let authLogin = RPCMethod<LoginParams, SessionResult>("auth.login", roles: both)
    public static let authAPOP = RPCMethod<APOPParams, SessionResult>("auth.apop", roles: both)
    public static let authCRAMMD5 = RPCMethod<CRAMMD5Params, SessionResult>("auth.cram_md5", roles: both)
    public static let authChallenge = RPCMethod<ChallengeParams, ChallengeResult>("auth.challenge", roles: both)
    public static let authMechanisms = RPCMethod<Empty, MechanismsResult>("auth.mechanisms", roles: both)
    public static let authSCRAMBegin = RPCMethod<SCRAMBeginParams, SCRAMChallenge>("auth.scram_begin", roles: both)
    public static let authSCRAMFinish = RPCMethod<SCRAMFinishParams, SCRAMResult>("auth.scram_finish", roles: both)
    public static let authMaySendAs = RPCMethod<SendAsParams, SendAsResult>("auth.may_send_as", roles: both)
    public static let authImpersonate = RPCMethod<ImpersonateParams, SessionResult>("auth.impersonate", roles: admin)
    public static let sessionInfo = RPCMethod<SessionParams, SessionResult>("session.info", roles: both)
    public static let sessionRefresh = RPCMethod<SessionParams, SessionResult>("session.refresh", roles: both)

    // Mailboxes
    public static let mailboxList = RPCMethod<MailboxListParams, MailboxListResult>("mailbox.list", roles: both)
    public static let mailboxCreate = RPCMethod<MailboxCreateParams, MailboxInfo>("mailbox.create", roles: both)
    public static let mailboxRename = RPCMethod<MailboxRenameParams, Empty>("mailbox.rename", roles: both)
    public static let mailboxDelete = RPCMethod<MailboxParams, Empty>("mailbox.delete", roles: both)
    public static let mailboxSubscribe = RPCMethod<MailboxSubscribeParams, Empty>("mailbox.subscribe", roles: both)
    public static let mailboxStatus = RPCMethod<MailboxStatusParams, MailboxStatus>("mailbox.status", roles: both)
    public static let mailboxSelect = RPCMethod<MailboxSelectParams, MailboxSelectResult>("mailbox.select", roles: both)
    public static let mailboxSubscriptions = RPCMethod<SessionParams, SubscriptionListResult>("mailbox.subscriptions", roles: both)

    // Messages
    public static let messageList = RPCMethod<MessageListParams, MessageListResult>("message.list", roles: both)
    public static let messageUids = RPCMethod<MessageUidsParams, MessageUidsResult>("message.uids", roles: both)
    public static let messageVanished = RPCMethod<MessageVanishedParams, MessageUidsResult>("message.vanished", roles: both)
    public static let messageSort = RPCMethod<MessageSortParams, MessageSortResult>("message.sort", roles: both)
    public static let messageThread = RPCMethod<MessageThreadParams, MessageThreadResult>("message.thread", roles: both)
    public static let messageSearch = RPCMethod<MessageSearchParams, MessageSearchResult>("message.search", roles: both)
    public static let messageRead = RPCMethod<MessageReadParams, MessageReadResult>("message.read", roles: both)
    public static let messageReadBatch = RPCMethod<MessageReadBatchParams, MessageReadBatchResult>("message.read_batch", roles: both)
    public static let messageFlags = RPCMethod<MessageFlagsParams, MessageFlagsResult>("message.flags", roles: both)
    public static let messageCopy = RPCMethod<MessageCopyParams, MessageCopyResult>("message.copy", roles: both)
    public static let messageMove = RPCMethod<MessageCopyParams, MessageCopyResult>("message.move", roles: both)
    public static let messageExpunge = RPCMethod<MessageExpungeParams, MessageExpungeResult>("message.expunge", roles: both)
    public static let messageAppend = RPCMethod<MessageAppendParams, UploadStarted>("message.append", roles: both)

    // Uploads (message content in chunks) and delivery
    public static let deliveryCheck = RPCMethod<DeliveryCheckParams, RecipientOutcome>("delivery.check", roles: both)
    public static let deliveryBegin = RPCMethod<DeliveryBeginParams, UploadStarted>("delivery.begin", roles: both)
    public static let deliverySubmit = RPCMethod<DeliverySubmitParams, UploadCommitResult>("delivery.submit", roles: both)
    public static let deliveryOutcome = RPCMethod<DeliveryOutcomeParams, DeliveryOutcomeResult>("delivery.outcome", roles: both)
    public static let uploadAppend = RPCMethod<UploadAppendParams, UploadProgress>("upload.append", roles: both)
    public static let uploadCommit = RPCMethod<UploadParams, UploadCommitResult>("upload.commit", roles: both)
    public static let uploadAbort = RPCMethod<UploadParams, Empty>("upload.abort", roles: both)

    // Events, quota, locks
    public static let eventsSubscribe = RPCMethod<EventsSubscribeParams, SubscriptionResult>("events.subscribe", roles: both)
    public static let eventsUnsubscribe = RPCMethod<UnsubscribeParams, Empty>("events.unsubscribe", roles: both)
    public static let quotaGet = RPCMethod<SessionParams, QuotaInfo>("quota.get", roles: both)
    public static let lockAcquire = RPCMethod<LockAcquireParams, LockInfo>("lock.acquire", roles: both)
    public static let lockRenew = RPCMethod<LockParams, LockInfo>("lock.renew", roles: both)
    public static let lockRelease = RPCMethod<LockParams, Empty>("lock.release", roles: both)

    // The directory's public fields, for `loft ldap` (§16)
    public static let directoryList = RPCMethod<DirectoryListParams, DirectoryListResult>("directory.list", roles: both)
    public static let directoryLookup = RPCMethod<AddressParams, DirectoryLookupResult>("directory.lookup", roles: both)
    public static let directoryVersion = RPCMethod<Empty, DirectoryVersionResult>("directory.version", roles: both)
    public static let directoryWatch = RPCMethod<Empty, DirectoryVersionResult>("directory.watch", roles: both)

    // Administration (admin.sock only)
    public static let domainAdd = RPCMethod<DomainParams, DomainInfo>("domain.add", roles: admin)
    public static let domainList = RPCMethod<Empty, DomainListResult>("domain.list", roles: admin)
    public static let domainRemove = RPCMethod<DomainParams, Empty>("domain.remove", roles: admin)
    public static let accountAdd = RPCMethod<AccountAddParams, AccountInfo>("account.add", roles: admin)
    public static let accountGet = RPCMethod<AddressParams, AccountInfo>("account.get", roles: admin)
    public static let accountList = RPCMethod<ListParams, AccountListResult>("account.list", roles: admin)
    public static let accountUpdate = RPCMethod<AccountUpdateParams, AccountInfo>("account.update", roles: admin)
    public static let accountRemove = RPCMethod<AddressParams, Empty>("account.remove", roles: admin)
    public static let aliasAdd = RPCMethod<AliasParams, AliasInfo>("alias.add", roles: admin)
    public static let aliasRemove = RPCMethod<AliasRemoveParams, Empty>("alias.remove", roles: admin)
    public static let aliasList = RPCMethod<ListParams, AliasListResult>("alias.list", roles: admin)
    public static let groupAdd = RPCMethod<GroupAddParams, GroupInfo>("group.add", roles: admin)
    public static let groupMembers = RPCMethod<GroupMembersParams, GroupInfo>("group.members", roles: admin)
    public static let groupRemove = RPCMethod<AddressParams, Empty>("group.remove", roles: admin)
    public static let groupList = RPCMethod<ListParams, GroupListResult>("group.list", roles: admin)
    public static let settingsGet = RPCMethod<Empty, ServerSettings>("settings.get", roles: admin)
    public static let settingsSet = RPCMethod<ServerSettingsUpdate, ServerSettings>("settings.set", roles: admin)
    public static let queueList = RPCMethod<QueueListParams, QueueListResult>("queue.list", roles: admin)
    public static let queueShow = RPCMethod<QueueIDParams, QueueEntry>("queue.show", roles: admin)
    public static let queueRetry = RPCMethod<QueueRetryParams, QueueChangeResult>("queue.retry", roles: admin)
    public static let queueRemove = RPCMethod<QueueRemoveParams, QueueChangeResult>("queue.remove", roles: admin)
    public static let queueStatus = RPCMethod<Empty, QueueStatusResult>("queue.status", roles: admin)

    // The outbound queue, for the relay (relay.sock; admin.sock may call them too)
    public static let queueLease = RPCMethod<QueueLeaseParams, QueueLeaseResult>("queue.lease", roles: relay)
    public static let queueRead = RPCMethod<QueueReadParams, QueueReadResult>("queue.read", roles: relay)
    public static let queueRenew = RPCMethod<QueueRenewParams, QueueRenewResult>("queue.renew", roles: relay)
    public static let queueReport = RPCMethod<QueueReportParams, QueueReportResult>("queue.report", roles: relay)
    public static let queueUnpark = RPCMethod<Empty, QueueUnparkResult>("queue.unpark", roles: relay)
    public static let storeVerify = RPCMethod<StoreVerifyParams, StoreVerifyResult>("store.verify", roles: admin)
    public static let serverStatus = RPCMethod<Empty, ServerStatusResult>("server.status", roles: admin)
    public static let storeBackup = RPCMethod<StoreBackupParams, StoreBackupResult>("store.backup", roles: admin)

    /// Name and roles of every method, in documentation order.
    public static let all: [(name: String, roles: Set<RPCRole>)] = [
        (hello.name, hello.roles), (ping.name, ping.roles),
        (authLogin.name, authLogin.roles), (authAPOP.name, authAPOP.roles),
        (authCRAMMD5.name, authCRAMMD5.roles),
        (authChallenge.name, authChallenge.roles), (authMechanisms.name, authMechanisms.roles),
        (authSCRAMBegin.name, authSCRAMBegin.roles), (authSCRAMFinish.name, authSCRAMFinish.roles),
        (authMaySendAs.name, authMaySendAs.roles),
        (authImpersonate.name, authImpersonate.roles),
        (sessionInfo.name, sessionInfo.roles), (sessionRefresh.name, sessionRefresh.roles),
        (mailboxList.name, mailboxList.roles), (mailboxCreate.name, mailboxCreate.roles),
        (mailboxRename.name, mailboxRename.roles), (mailboxDelete.name, mailboxDelete.roles),
        (mailboxSubscribe.name, mailboxSubscribe.roles), (mailboxStatus.name, mailboxStatus.roles),
        (mailboxSelect.name, mailboxSelect.roles), (mailboxSubscriptions.name, mailboxSubscriptions.roles),
        (messageList.name, messageList.roles), (messageUids.name, messageUids.roles), (messageSearch.name, messageSearch.roles),
        (messageVanished.name, messageVanished.roles), (messageSort.name, messageSort.roles), (messageThread.name, messageThread.roles),
        (messageRead.name, messageRead.roles),
        (messageReadBatch.name, messageReadBatch.roles), (messageFlags.name, messageFlags.roles), (messageCopy.name, messageCopy.roles),
        (messageMove.name, messageMove.roles), (messageExpunge.name, messageExpunge.roles),
        (messageAppend.name, messageAppend.roles),
        (deliveryCheck.name, deliveryCheck.roles), (deliveryBegin.name, deliveryBegin.roles),
        (deliverySubmit.name, deliverySubmit.roles), (deliveryOutcome.name, deliveryOutcome.roles),
        (uploadAppend.name, uploadAppend.roles), (uploadCommit.name, uploadCommit.roles),
        (uploadAbort.name, uploadAbort.roles),
        (eventsSubscribe.name, eventsSubscribe.roles), (eventsUnsubscribe.name, eventsUnsubscribe.roles),
        (quotaGet.name, quotaGet.roles),
        (lockAcquire.name, lockAcquire.roles), (lockRenew.name, lockRenew.roles),
        (lockRelease.name, lockRelease.roles),
        (directoryList.name, directoryList.roles), (directoryLookup.name, directoryLookup.roles),
        (directoryVersion.name, directoryVersion.roles), (directoryWatch.name, directoryWatch.roles),
        (domainAdd.name, domainAdd.roles), (domainList.name, domainList.roles),
        (domainRemove.name, domainRemove.roles),
        (accountAdd.name, accountAdd.roles), (accountGet.name, accountGet.roles),
        (accountList.name, accountList.roles), (accountUpdate.name, accountUpdate.roles),
        (accountRemove.name, accountRemove.roles),
        (aliasAdd.name, aliasAdd.roles), (aliasRemove.name, aliasRemove.roles), (aliasList.name, aliasList.roles),
        (groupAdd.name, groupAdd.roles), (groupMembers.name, groupMembers.roles),
        (groupRemove.name, groupRemove.roles), (groupList.name, groupList.roles),
        (settingsGet.name, settingsGet.roles), (settingsSet.name, settingsSet.roles),
        (queueList.name, queueList.roles), (queueShow.name, queueShow.roles), (queueRetry.name, queueRetry.roles),
        (queueRemove.name, queueRemove.roles), (queueStatus.name, queueStatus.roles),
        (storeVerify.name, storeVerify.roles), (serverStatus.name, serverStatus.roles),
        (storeBackup.name, storeBackup.roles),
        (queueLease.name, queueLease.roles), (queueRead.name, queueRead.roles), (queueRenew.name, queueRenew.roles),
        (queueReport.name, queueReport.roles), (queueUnpark.name, queueUnpark.roles),
    ]

    /// The server's notification method name for change events.
    public static let eventNotification = "event"
    /// The notification `directory.watch` subscribes to; its params are a `DirectoryVersionResult`.
    public static let directoryChangedNotification = "directory.changed"
}
