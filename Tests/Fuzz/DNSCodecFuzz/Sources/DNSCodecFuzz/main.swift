import DNSCodec

#if canImport(Glibc)
    import Glibc
#endif

/// libFuzzer entry point: the input is a DNS message as it came from a nameserver. It goes
/// through `DNSMessage.parse` and `parseQuestions` (which must agree), and when it parses, out
/// through the encoder and back (uncompressed it must come back equal; compressed, equal or an
/// error, since re-compressing may chain more pointers than the limit), then through
/// `DNSAnswer` and `MXPlan` for its own question. The same bytes are framed as a TCP stream
/// (cut into reads whose size comes from the input's length), read as a resolv.conf, and as
/// names and addresses in text. Nothing may crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    let parsed = try? DNSMessage.parse(bytes)
    let questions = try? DNSMessage.parseQuestions(bytes)
    if let parsed {
        guard let (header, asked) = questions else { fatalError("parse succeeded, parseQuestions failed") }
        precondition(header == parsed.header && asked == parsed.questions, "parseQuestions disagrees")
        if let wire = try? parsed.encoded(compressingNames: false) {
            precondition((try? DNSMessage.parse(wire)) == parsed, "uncompressed round trip changed the message")
        }
        if let wire = try? parsed.encoded(), let again = try? DNSMessage.parse(wire) {
            precondition(again == parsed, "compressed round trip changed the message")
        }
        let question = parsed.questions.first ?? DNSQuestion(name: .root, type: .mx)
        let answer = DNSAnswer(question: question, response: parsed, aliasesFollowed: [])
        var generator = SystemRandomNumberGenerator()
        if case .exchanges(let list) = MXPlan(answer: answer, using: &generator) {
            precondition(zip(list, list.dropFirst()).allSatisfy { $0.preference <= $1.preference }, "exchanges out of order")
            precondition(!list.contains { $0.host.isRoot }, "the root as an exchange")
        }
    }

    var framer = DNSTCPFramer()
    let step = size % 32 + 1
    var index = 0
    framing: while index < bytes.count {
        framer.append(bytes[index..<min(index + step, bytes.count)])
        index += step
        while true {
            guard let message = try? framer.nextMessage() else { break framing }
            _ = try? DNSMessage.parse(message)
        }
    }

    let text = String(decoding: bytes, as: UTF8.self)
    precondition(ResolvConf.parse(text).nameservers.count <= ResolvConf.maximumNameservers, "too many nameservers")
    if let name = try? DNSName(text) {
        precondition(name.wireLength <= DNSLimits.maximumNameLength, "name too long")
        precondition((try? DNSName(name.description)) == name, "a name's text does not parse back")
    }
    for line in text.split(separator: "\n").prefix(16) {
        if let address = IPAddress(line) {
            precondition(IPAddress(address.description) == address, "an address's text does not parse back")
        }
    }
    return 0
}

// SwiftPM binds an executable target's `main` to this file's top-level code, so libFuzzer's
// own `main` is never used: hand the command line to libFuzzer's driver (as SMTPCodecFuzz does).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

var argumentCount = CommandLine.argc
var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argumentCount, &arguments) { data, size in fuzz(data, size) })
