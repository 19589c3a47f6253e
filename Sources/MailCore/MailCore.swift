/// MailCore: value types every Loft module shares — addresses, domains, mailbox names, UID sets,
/// flags, byte sizes. Pure values: it imports only the standard library and Foundation, and
/// never does I/O (DESIGN §6).
