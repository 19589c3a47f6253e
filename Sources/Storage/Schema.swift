import Foundation
import GRDB

/// The database schema as numbered migrations. A released migration never changes; a new
/// schema is a new migration appended here. `MailStore` backs up the database file before it
/// applies any (DESIGN §3).
enum Schema {
    static func migrator(defaultMailboxes: [DefaultMailbox] = StoreOptions.standardMailboxes) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE domain (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        created_at INTEGER NOT NULL
                    );
                    -- One row per mailbox owner. address is canonical (lower case).
                    CREATE TABLE account (
                        id INTEGER PRIMARY KEY,
                        domain_id INTEGER NOT NULL REFERENCES domain(id),
                        address TEXT NOT NULL UNIQUE,
                        display_name TEXT,
                        password_hash TEXT NOT NULL,
                        -- SCRAM-SHA-256 verifier (RFC 5802 §3): salt, iterations, StoredKey, ServerKey.
                        scram_sha256 TEXT,
                        quota_bytes INTEGER NOT NULL DEFAULT 0,
                        max_message_bytes INTEGER NOT NULL DEFAULT 0,
                        forward_to TEXT,
                        forward_keep_copy INTEGER NOT NULL DEFAULT 1,
                        -- APOP/CRAM-MD5 secret sealed with AES-GCM; NULL means APOP is off.
                        apop_secret BLOB,
                        may_manage_mailboxes INTEGER NOT NULL DEFAULT 1,
                        enabled INTEGER NOT NULL DEFAULT 1,
                        -- Bumped when the password changes or the account is disabled: sessions
                        -- signed with an older generation stop working.
                        session_generation INTEGER NOT NULL DEFAULT 0,
                        used_bytes INTEGER NOT NULL DEFAULT 0,
                        message_count INTEGER NOT NULL DEFAULT 0,
                        created_at INTEGER NOT NULL
                    );
                    CREATE INDEX account_domain ON account(domain_id);
                    CREATE TABLE alias (
                        address TEXT NOT NULL,
                        target TEXT NOT NULL,
                        PRIMARY KEY (address, target)
                    ) WITHOUT ROWID;
                    CREATE TABLE mail_group (
                        id INTEGER PRIMARY KEY,
                        address TEXT NOT NULL UNIQUE,
                        name TEXT,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE group_member (
                        group_id INTEGER NOT NULL REFERENCES mail_group(id) ON DELETE CASCADE,
                        member TEXT NOT NULL,
                        PRIMARY KEY (group_id, member)
                    ) WITHOUT ROWID;
                    CREATE TABLE setting (
                        key TEXT PRIMARY KEY,
                        value TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE mailbox (
                        id INTEGER PRIMARY KEY,
                        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        uid_validity INTEGER NOT NULL,
                        uid_next INTEGER NOT NULL DEFAULT 1,
                        highest_modseq INTEGER NOT NULL DEFAULT 1,
                        subscribed INTEGER NOT NULL DEFAULT 1,
                        special_use TEXT,
                        UNIQUE (account_id, name)
                    );
                    -- Message bodies, named by SHA-256; refs counts the messages and queue
                    -- entries that use one. A row exists only while its file is durable.
                    CREATE TABLE blob (
                        sha256 TEXT PRIMARY KEY,
                        size INTEGER NOT NULL,
                        refs INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE message (
                        id INTEGER PRIMARY KEY,
                        mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                        uid INTEGER NOT NULL,
                        blob TEXT NOT NULL REFERENCES blob(sha256),
                        size INTEGER NOT NULL,
                        internal_date INTEGER NOT NULL,
                        flags INTEGER NOT NULL DEFAULT 0,
                        keywords TEXT,
                        modseq INTEGER NOT NULL,
                        -- MailMessage.ParsedMessage as JSON: envelope and body structure.
                        structure TEXT,
                        UNIQUE (mailbox_id, uid)
                    );
                    CREATE INDEX message_modseq ON message(mailbox_id, modseq);
                    CREATE INDEX message_blob ON message(blob);
                    -- Expunged UIDs with their modseq, for RFC 7162 QRESYNC VANISHED.
                    CREATE TABLE expunged (
                        mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                        uid INTEGER NOT NULL,
                        modseq INTEGER NOT NULL,
                        PRIMARY KEY (mailbox_id, uid)
                    ) WITHOUT ROWID;
                    -- The outbound queue: one row per message, one per recipient of it.
                    CREATE TABLE queue (
                        id INTEGER PRIMARY KEY,
                        sender TEXT NOT NULL,
                        blob TEXT NOT NULL REFERENCES blob(sha256),
                        -- Bytes of the body to skip when sending: the Return-Path line that
                        -- local copies of the same body carry (RFC 5321 §4.4).
                        body_offset INTEGER NOT NULL DEFAULT 0,
                        size INTEGER NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE queue_recipient (
                        queue_id INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
                        recipient TEXT NOT NULL,
                        status TEXT NOT NULL DEFAULT 'pending',
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL,
                        last_error TEXT,
                        PRIMARY KEY (queue_id, recipient)
                    ) WITHOUT ROWID;
                    CREATE INDEX queue_recipient_due ON queue_recipient(status, next_attempt_at);
                    """)
        }
        // Issue 7: what each delivery with an idempotency key answered, written in the
        // transaction that stored it, so a caller that lost the answer can ask for it again
        // and a repeated delivery is not stored twice. Pruned after `deliveryOutcomeRetention`.
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    CREATE TABLE delivery_outcome (
                        key TEXT PRIMARY KEY,
                        -- The commit's answer as JSON (the RPC's UploadCommitResult).
                        result TEXT NOT NULL,
                        -- Rows are inserted in time order, so the oldest are the lowest rowids
                        -- and pruning needs no index of its own: one B-tree page less written
                        -- with every delivery.
                        created_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v3") { db in try migrateToV3(db) }
        migrator.registerMigration("v4") { db in try migrateToV4(db) }
        migrator.registerMigration("v5") { db in try migrateToV5(db) }
        migrator.registerMigration("v6") { db in try migrateToV6(db, defaultMailboxes: defaultMailboxes) }
        migrator.registerMigration("v7") { db in try migrateToV7(db) }
        migrator.registerMigration("v8") { db in try migrateToV8(db) }
        migrator.registerMigration("v9") { db in try migrateToV9(db) }
        return migrator
    }

    /// The most header bytes `body_header` keeps of one body (v4); a longer header is searched
    /// in its first 256 KiB.
    static let maxStoredHeaderBytes = 256 * 1024

    /// Issue 9, what IMAP needs (Protocol/STORAGE.md):
    /// - `subscription`: RFC 3501 §6.3.6 subscriptions as a list of their own, of names that
    ///   need not be mailboxes, instead of `mailbox.subscribed`; the subscribed mailboxes'
    ///   names move into it.
    /// - `mailbox.noselect`: a mailbox deleted while it had children keeps its name (§6.3.4).
    /// - `message_unseen` and `message_keywords`: partial indexes for SELECT's first unseen
    ///   message and the keywords in use, which otherwise read every row of the mailbox.
    /// - `body_header`: each body's header block (at most 256 KiB), for SEARCH by header
    ///   without reading bodies or their files. Bodies in files get theirs when stored from
    ///   now on; until then a search reads the file.
    static func migrateToV4(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE subscription (
                    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    PRIMARY KEY (account_id, name)
                ) WITHOUT ROWID;
                INSERT INTO subscription (account_id, name) SELECT account_id, name FROM mailbox WHERE subscribed != 0;
                ALTER TABLE mailbox DROP COLUMN subscribed;
                -- RFC 3501 \\Noselect: only the name is left (deleted while it had children).
                ALTER TABLE mailbox ADD COLUMN noselect INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX message_unseen ON message(mailbox_id, uid) WHERE (flags & 1) = 0;
                CREATE INDEX message_keywords ON message(mailbox_id, keywords) WHERE keywords IS NOT NULL;
                CREATE TABLE body_header (
                    blob_id INTEGER PRIMARY KEY REFERENCES blob(id) ON DELETE CASCADE,
                    -- The body's header block, blank line included, at most 256 KiB: what SEARCH
                    -- reads for header keys. Apart from body, whose inline bytes would be read too.
                    data BLOB NOT NULL
                );
                INSERT INTO body_header (blob_id, data)
                    SELECT blob_id, substr(data, 1, min(json_extract(structure, '$.body.bodyStart'), \(maxStoredHeaderBytes)))
                    FROM body WHERE data IS NOT NULL AND json_valid(structure) AND json_extract(structure, '$.body.bodyStart') > 0;
                """)
    }

    /// Issue 9, IMAP's speed: `body_envelope`, each body's envelope (the `envelope` member of
    /// its structure) in a table of small rows, for FETCH ENVELOPE over a whole mailbox. Cut
    /// out of the structure per row it cost SQLite a parse of the whole JSON, and the structure
    /// of an inline body shares overflow pages with its bytes. Filled from every structure.
    /// Issue 10, SPECIAL-USE (RFC 6154): every account gets `defaultMailboxes`, as new
    /// accounts do. A use the account already gave a mailbox is
    /// left where it is; a mailbox of the default name without a use gets it (a "Sent" an
    /// IMAP client made earlier becomes the `\Sent` one); otherwise the mailbox is created,
    /// subscribed. An account at its mailbox limit gets only what fits.
    static func migrateToV6(_ db: Database, defaultMailboxes: [DefaultMailbox]) throws {
        let accounts = try Int64.fetchAll(db, sql: "SELECT id FROM account ORDER BY id")
        for account in accounts {
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, name, special_use, noselect FROM mailbox WHERE account_id = ?", arguments: [account])
            let uses = Set(rows.flatMap { (($0["special_use"] as String?) ?? "").split(separator: " ").map(String.init) })
            var count = rows.count
            for box in defaultMailboxes where !uses.contains(box.specialUse) {
                if let row = rows.first(where: { $0["name"] == box.name }) {
                    let noselect: Bool = row["noselect"]
                    if (row["special_use"] as String?) == nil, !noselect {
                        try db.execute(
                            sql: "UPDATE mailbox SET special_use = ? WHERE id = ?", arguments: [box.specialUse, row["id"] as Int64])
                    }
                } else if count < SQLiteStore.maxMailboxesPerAccount {
                    try db.execute(
                        sql: "INSERT INTO mailbox (account_id, name, uid_validity, special_use) VALUES (?, ?, ?, ?)",
                        arguments: [account, box.name, try SQLiteStore.nextUIDValidity(db), box.specialUse])
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO subscription (account_id, name) VALUES (?, ?)", arguments: [account, box.name])
                    count += 1
                }
            }
        }
    }

    /// Issue 10, SORT and THREAD (RFC 5256): `body_sort`, per blob, the keys they compare
    /// (`MailCore.SortKeys`). Filled by the back-end the first time a SORT or THREAD reads a
    /// body without them, so neither this migration nor a delivery parses anything for it.
    static func migrateToV7(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE body_sort (
                    blob_id INTEGER PRIMARY KEY REFERENCES blob(id) ON DELETE CASCADE,
                    -- Seconds since 1970 UTC; NULL when the Date field names no instant.
                    sent_date INTEGER,
                    subject TEXT NOT NULL,
                    reply INTEGER NOT NULL,
                    from_key TEXT NOT NULL,
                    to_key TEXT NOT NULL,
                    cc_key TEXT NOT NULL,
                    message_id TEXT,
                    -- Message IDs separated by LF, nearest ancestor last.
                    refs TEXT NOT NULL
                );
                """)
    }

    /// Issue 11, the outbound queue (Protocol/README §15): what a relay needs to send a queued
    /// message and the back-end needs to schedule it and report on it. Nothing moves; entries
    /// queued before get the defaults (7bit, no DSN parameters, a lifetime from now).
    static func migrateToV8(_ db: Database) throws {
        try db.execute(
            sql: """
                -- RFC 3461 §4.3 ENVID and §4.4 RET (full, hdrs) as the sender gave them.
                ALTER TABLE queue ADD COLUMN envid TEXT;
                ALTER TABLE queue ADD COLUMN ret TEXT;
                -- RFC 6152 / 3030 BODY: 7bit, 8bitmime or binarymime; RFC 6531 SMTPUTF8 needed.
                ALTER TABLE queue ADD COLUMN body_type TEXT NOT NULL DEFAULT '7bit';
                ALTER TABLE queue ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;
                -- submission, forward, group, bounce (for the log, and never to bounce a bounce).
                ALTER TABLE queue ADD COLUMN origin TEXT NOT NULL DEFAULT 'submission';
                ALTER TABLE queue ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE queue_recipient ADD COLUMN domain TEXT NOT NULL DEFAULT '';
                -- NULL: no NOTIFY given; '' NEVER; else a comma list of success, failure, delay.
                ALTER TABLE queue_recipient ADD COLUMN notify TEXT;
                ALTER TABLE queue_recipient ADD COLUMN orcpt TEXT;
                ALTER TABLE queue_recipient ADD COLUMN lease_id TEXT;
                ALTER TABLE queue_recipient ADD COLUMN lease_until INTEGER;
                ALTER TABLE queue_recipient ADD COLUMN warned INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE queue_recipient ADD COLUMN last_attempt_at INTEGER;
                -- The remote reply of the last attempt: code, enhanced code and text.
                ALTER TABLE queue_recipient ADD COLUMN last_code INTEGER;
                ALTER TABLE queue_recipient ADD COLUMN last_enhanced TEXT;
                ALTER TABLE queue_recipient ADD COLUMN remote_mta TEXT;
                UPDATE queue SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) + 5 * 86400;
                UPDATE queue_recipient SET domain = lower(substr(recipient, instr(recipient, '@') + 1));
                DROP INDEX queue_recipient_due;
                -- What a lease looks for: the due recipients, oldest first, then one domain's.
                CREATE INDEX queue_recipient_due ON queue_recipient(status, next_attempt_at);
                CREATE INDEX queue_recipient_domain ON queue_recipient(domain, status);
                CREATE INDEX queue_recipient_lease ON queue_recipient(lease_id) WHERE lease_id IS NOT NULL;
                """)
    }

    /// Issue 12, what the LDAP directory shows of an account: its given name and surname
    /// (inetOrgPerson `givenName`, `sn`), and whether it is hidden from the directory.
    static func migrateToV9(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE account ADD COLUMN given_name TEXT;
                ALTER TABLE account ADD COLUMN surname TEXT;
                ALTER TABLE account ADD COLUMN directory_hidden INTEGER NOT NULL DEFAULT 0;
                """)
    }

    static func migrateToV5(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE body_envelope (
                    blob_id INTEGER PRIMARY KEY REFERENCES blob(id) ON DELETE CASCADE,
                    -- MailMessage.Envelope as JSON, as in body.structure.
                    envelope TEXT NOT NULL
                );
                INSERT INTO body_envelope (blob_id, envelope)
                    SELECT blob_id, json_extract(structure, '$.envelope') FROM body
                    WHERE json_valid(structure) AND json_type(structure, '$.envelope') = 'object';
                """)
    }

    /// Issue 8, storage at scale (Protocol/STORAGE.md has the why of each table):
    /// - `blob` gets an integer id, its SHA-256 as 32 bytes, and says whether the body is
    ///   inline; `body` holds, per blob, the parsed structure (moved out of `message`, where it
    ///   made rows ~30 times larger than the rest of the row) and, for inline bodies, the bytes.
    /// - `message` and `queue` refer to the blob by id; `message.prefix` holds the header lines
    ///   the back-end adds per envelope (Return-Path), so one shared body can carry different
    ///   trace headers. Rows from before keep their Return-Path inside the body (prefix NULL).
    /// - `mailbox` gets counters, kept by triggers in the transaction that changes them.
    /// Body files stay where they are: they are named by the same SHA-256.
    static func migrateToV3(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE blob3 (
                    id INTEGER PRIMARY KEY,
                    sha256 BLOB NOT NULL UNIQUE,
                    size INTEGER NOT NULL,
                    refs INTEGER NOT NULL,
                    -- 1: the bytes are in body.data; 0: a file named by the SHA-256 in hex.
                    inline INTEGER NOT NULL
                );
                """)
        let insertBlob = try db.makeStatement(sql: "INSERT INTO blob3 (sha256, size, refs, inline) VALUES (?, ?, ?, 0)")
        for row in try Row.fetchAll(db, sql: "SELECT sha256, size, refs FROM blob ORDER BY sha256") {
            let hex: String = row["sha256"]
            guard let digest = BodyDigest(hex: hex) else { throw StorageError(.corrupt, "blob row with a malformed SHA-256 \(hex)") }
            try insertBlob.execute(arguments: [digest.data, row["size"] as Int64, row["refs"] as Int64])
        }
        try db.execute(
            sql: """
                CREATE TABLE body (
                    blob_id INTEGER PRIMARY KEY REFERENCES blob(id) ON DELETE CASCADE,
                    -- MailMessage.ParsedMessage of the body as JSON; ranges are relative to the
                    -- body (add the message's prefix length).
                    structure TEXT,
                    -- The body itself when it is inline; NULL when it is a file.
                    data BLOB
                );
                CREATE TABLE message3 (
                    id INTEGER PRIMARY KEY,
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                    uid INTEGER NOT NULL,
                    blob_id INTEGER NOT NULL REFERENCES blob(id),
                    -- Header lines stored before the body for this copy (Return-Path), or NULL.
                    prefix BLOB,
                    -- The message's size as clients see it: prefix and body.
                    size INTEGER NOT NULL,
                    internal_date INTEGER NOT NULL,
                    flags INTEGER NOT NULL DEFAULT 0,
                    keywords TEXT,
                    modseq INTEGER NOT NULL,
                    UNIQUE (mailbox_id, uid)
                );
                CREATE TABLE queue3 (
                    id INTEGER PRIMARY KEY,
                    sender TEXT NOT NULL,
                    blob_id INTEGER NOT NULL REFERENCES blob(id),
                    body_offset INTEGER NOT NULL DEFAULT 0,
                    size INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );
                """)
        // Temporary map from the old text key to the new id, for the copies below.
        try db.execute(sql: "CREATE TEMP TABLE blob_key (sha256 TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID")
        let insertKey = try db.makeStatement(sql: "INSERT INTO blob_key (sha256, id) VALUES (?, ?)")
        for row in try Row.fetchAll(db, sql: "SELECT id, sha256 FROM blob3") {
            try insertKey.execute(arguments: [BodyDigest(row["sha256"] as Data).hex, row["id"] as Int64])
        }
        try db.execute(
            sql: """
                INSERT INTO body (blob_id, structure, data)
                    SELECT k.id, (SELECT m.structure FROM message m WHERE m.blob = k.sha256 AND m.structure IS NOT NULL LIMIT 1), NULL
                    FROM blob_key k;
                INSERT INTO message3 (id, mailbox_id, uid, blob_id, prefix, size, internal_date, flags, keywords, modseq)
                    SELECT m.id, m.mailbox_id, m.uid, k.id, NULL, m.size, m.internal_date, m.flags, m.keywords, m.modseq
                    FROM message m JOIN blob_key k ON k.sha256 = m.blob;
                INSERT INTO queue3 (id, sender, blob_id, body_offset, size, created_at)
                    SELECT q.id, q.sender, k.id, q.body_offset, q.size, q.created_at
                    FROM queue q JOIN blob_key k ON k.sha256 = q.blob;
                DROP TABLE blob_key;
                DROP TABLE message;
                DROP TABLE queue;
                DROP TABLE blob;
                ALTER TABLE blob3 RENAME TO blob;
                ALTER TABLE message3 RENAME TO message;
                ALTER TABLE queue3 RENAME TO queue;
                CREATE INDEX message_modseq ON message(mailbox_id, modseq);
                -- Foreign-key checks on deleting a blob need it; ids grow, so it is appended to.
                CREATE INDEX message_blob ON message(blob_id);
                CREATE INDEX queue_blob ON queue(blob_id);

                ALTER TABLE mailbox ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE mailbox ADD COLUMN unseen_count INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE mailbox ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
                -- RFC 3501 \\Recent: messages with uid >= first_recent_uid have not been seen by a
                -- session that claimed them (SELECT); recent_count counts them.
                ALTER TABLE mailbox ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE mailbox ADD COLUMN recent_count INTEGER NOT NULL DEFAULT 0;
                UPDATE mailbox SET
                    message_count = (SELECT count(*) FROM message m WHERE m.mailbox_id = mailbox.id),
                    unseen_count = (SELECT count(*) FROM message m WHERE m.mailbox_id = mailbox.id AND (m.flags & 1) = 0),
                    size_bytes = (SELECT coalesce(sum(m.size), 0) FROM message m WHERE m.mailbox_id = mailbox.id),
                    first_recent_uid = uid_next,
                    recent_count = 0;
                """)
        try db.execute(sql: mailboxCounterTriggers)
    }

    /// The mailbox counters follow every insert, delete and change of a message row, whichever
    /// code path makes it (delivery, copy, move, expunge, rename of INBOX, cascades).
    static let mailboxCounterTriggers = """
        CREATE TRIGGER message_counted AFTER INSERT ON message BEGIN
            UPDATE mailbox SET message_count = message_count + 1, size_bytes = size_bytes + NEW.size,
                unseen_count = unseen_count + ((NEW.flags & 1) = 0),
                recent_count = recent_count + (NEW.uid >= first_recent_uid)
            WHERE id = NEW.mailbox_id;
        END;
        CREATE TRIGGER message_uncounted AFTER DELETE ON message BEGIN
            UPDATE mailbox SET message_count = message_count - 1, size_bytes = size_bytes - OLD.size,
                unseen_count = unseen_count - ((OLD.flags & 1) = 0),
                recent_count = recent_count - (OLD.uid >= first_recent_uid)
            WHERE id = OLD.mailbox_id;
        END;
        CREATE TRIGGER message_recounted AFTER UPDATE OF mailbox_id, uid, flags, size ON message
        WHEN OLD.mailbox_id != NEW.mailbox_id OR OLD.uid != NEW.uid OR (OLD.flags & 1) != (NEW.flags & 1) OR OLD.size != NEW.size
        BEGIN
            UPDATE mailbox SET message_count = message_count - 1, size_bytes = size_bytes - OLD.size,
                unseen_count = unseen_count - ((OLD.flags & 1) = 0),
                recent_count = recent_count - (OLD.uid >= first_recent_uid)
            WHERE id = OLD.mailbox_id;
            UPDATE mailbox SET message_count = message_count + 1, size_bytes = size_bytes + NEW.size,
                unseen_count = unseen_count + ((NEW.flags & 1) = 0),
                recent_count = recent_count + (NEW.uid >= first_recent_uid)
            WHERE id = NEW.mailbox_id;
        END;
        """
}
