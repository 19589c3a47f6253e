import LDAPCodec
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Small limits, so that the fuzzer reaches every bound with short inputs.
let limits = LDAPLimits(
    pduSize: 4096, bufferedBytes: 6000, filterDepth: 12, filterComponents: 64, searchAttributes: 8, valueLength: 256, controls: 4)

/// A decoded message must encode to octets that decode to the same message, and its controls
/// must be judged without a crash; a refused one must say what to answer, and that answer must
/// itself encode and decode.
func check(_ pdu: [UInt8]) {
    do {
        let message = try LDAPMessage(decoding: pdu, limits: limits)
        let again = try? LDAPMessage(decoding: message.encoded(), limits: limits)
        precondition(again == message, "a decoded message does not survive its own encoding")
        _ = try? LDAPRequestControls(of: message)
    } catch {
        if let id = error.messageID { precondition(id >= 0, "a negative messageID") }
        switch error.reply {
        case .respond(let response):
            precondition(response.messageID == error.messageID, "a response to another message")
            precondition((try? LDAPMessage(decoding: response.encoded())) == response, "a response that does not decode")
        case .disconnect(let notice?):
            precondition(notice.messageID == 0, "a notice that is not unsolicited")
            precondition((try? LDAPMessage(decoding: notice.encoded())) == notice, "a notice that does not decode")
        case .disconnect(nil), .ignore: break
        }
    }
}

/// libFuzzer entry point. The input is, in turn: one whole message; a stream of messages cut
/// into reads whose size comes from the first octet (every message framed must be a prefix of
/// what is left, and decodes as above); and an RFC 4515 filter string, which must print back to
/// a string that parses to the same filter and survive BER in a SearchRequest. Nothing may crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    check(bytes)

    var framer = LDAPFramer(limits: limits)
    let step = Int(bytes.first ?? 0) % 31 + 1
    var consumed = 0
    var index = 0
    framing: while index < bytes.count {
        do {
            try framer.append(ByteBuffer(bytes: bytes[index..<min(index + step, bytes.count)]))
            while let pdu = try framer.nextMessage() {
                precondition(Array(bytes[consumed..<(consumed + pdu.count)]) == pdu, "a frame that is not the next octets")
                consumed += pdu.count
                check(pdu)
            }
        } catch {
            precondition(error.code.isFraming && error.messageID == nil, "a framing error that is not one")
            break framing
        }
        index += step
    }

    let text = String(decoding: bytes, as: UTF8.self)
    if let filter = try? LDAPFilter(parsing: text, limits: limits) {
        precondition((try? LDAPFilter(parsing: filter.description, limits: limits)) == filter, "a printed filter parses differently")
        let search = LDAPMessage(messageID: 1, .searchRequest(LDAPSearchRequest(baseObject: "", filter: filter)))
        let encoded = search.encoded()
        if encoded.count <= limits.pduSize {
            precondition((try? LDAPMessage(decoding: encoded, limits: limits)) == search, "a parsed filter does not survive BER")
        }
    }
    return 0
}

// SwiftPM binds an executable target's `main` to this file's top-level code, so libFuzzer's
// own `main` is never used: hand the command line to libFuzzer's driver (as DNSCodecFuzz does).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

var argumentCount = CommandLine.argc
var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argumentCount, &arguments) { data, size in fuzz(data, size) })
