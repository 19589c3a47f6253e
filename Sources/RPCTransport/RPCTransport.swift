/// RPCTransport: the RPC's wire — newline-delimited JSON framing with a hard line cap, the
/// JSON-RPC 2.0 envelope, a server dispatcher over Unix-domain sockets and a pipelining client
/// with deadlines and reconnection. SwiftNIO at the edge. Imports RPCProtocol and NIO only
/// (DESIGN §6): it knows nothing of mail, storage or any outside protocol.
