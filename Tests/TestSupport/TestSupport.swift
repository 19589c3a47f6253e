/// LoftTestSupport: what the Swift test targets share instead of each keeping a copy — the
/// in-process back-end on its real sockets in a temporary directory (`BackendHarness`, closed
/// by `withBackend` whatever the test does), the TLS test certificate, a line-level network
/// client (`LineClient`) and a manual clock for code that takes the time as a function.
///
/// Test targets only; nothing in Sources imports it.
