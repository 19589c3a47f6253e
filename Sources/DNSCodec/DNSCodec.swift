/// DNSCodec: the DNS messages (RFC 1035 §4) the relay needs for its MX lookups (RFC 5321 §5.1):
/// queries for MX, A, AAAA and CNAME, and the answers to them, with name compression. Pure: no
/// I/O, no clock; `Relay` sends and receives the bytes. Written here rather than calling
/// libresolv's `res_nquery` so that the nameserver address and port are plain settings (tests
/// point them at a DNS server on loopback), every limit is ours, and the parser can be fuzzed.
public enum DNSCodec {}
