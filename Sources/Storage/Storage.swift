/// Storage: everything that touches SQL or the data directory's files — the SQLite schema and
/// its numbered migrations, queries behind a Swift API, and content-addressed message bodies.
/// Imports MailCore, GRDB and swift-crypto only; the back-end calls it, nothing else does
/// (DESIGN §3, §6). The API is synchronous: callers run it off their event loops.
