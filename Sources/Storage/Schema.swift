import GRDB

/// The database schema as numbered migrations. A released migration never changes; a new
/// schema is a new migration appended here. `MailStore` backs up the database file before it
/// applies any (DESIGN §3).
enum Schema {
    static func migrator() -> DatabaseMigrator {
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
        return migrator
    }
}
