extension DNSMessage {
    /// Parses a whole message. Every way the octets can be wrong is a thrown `DNSCodecError`,
    /// never a trap: each read checks what is left, and each index comes from the reader. Octets
    /// after the last record the header counts are ignored (RFC 1035 does not forbid them).
    public static func parse(_ bytes: some Collection<UInt8>, limits: DNSLimits = .default) throws(DNSCodecError) -> DNSMessage {
        var reader = try DNSMessageReader(bytes, limits: limits)
        let (header, counts) = try reader.readHeader()
        var message = DNSMessage(header: header)
        for _ in 0..<counts.questions { message.questions.append(try reader.readQuestion()) }
        for _ in 0..<counts.answers { message.answers.append(try reader.readRecord()) }
        for _ in 0..<counts.authorities { message.authorities.append(try reader.readRecord()) }
        for _ in 0..<counts.additionals { message.additionals.append(try reader.readRecord()) }
        return message
    }

    /// Parses the header and the question section only: enough to match a reply to its query
    /// and to see TC, when a truncated datagram's records are cut short (RFC 2181 §9 lets a
    /// server drop records without lowering the counts).
    public static func parseQuestions(
        _ bytes: some Collection<UInt8>, limits: DNSLimits = .default
    ) throws(DNSCodecError) -> (DNSHeader, [DNSQuestion]) {
        var reader = try DNSMessageReader(bytes, limits: limits)
        let (header, counts) = try reader.readHeader()
        var questions: [DNSQuestion] = []
        for _ in 0..<counts.questions { questions.append(try reader.readQuestion()) }
        return (header, questions)
    }
}

/// Reads a message front to back. `offset` only moves forward; compression pointers are
/// followed with a separate index inside `readName`.
struct DNSMessageReader {
    struct Counts {
        var questions, answers, authorities, additionals: Int
    }

    let bytes: [UInt8]
    let limits: DNSLimits
    private(set) var offset = 0

    init(_ bytes: some Collection<UInt8>, limits: DNSLimits) throws(DNSCodecError) {
        guard bytes.count <= DNSLimits.maximumMessageSize else { throw DNSCodecError(.messageTooLarge) }
        self.bytes = Array(bytes)
        self.limits = limits
    }

    private func error(_ code: DNSCodecError.Code, at position: Int? = nil) -> DNSCodecError {
        DNSCodecError(code, offset: position ?? offset)
    }

    mutating func readUInt8() throws(DNSCodecError) -> UInt8 {
        guard offset < bytes.count else { throw error(.truncated) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws(DNSCodecError) -> UInt16 {
        guard bytes.count - offset >= 2 else { throw error(.truncated) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32() throws(DNSCodecError) -> UInt32 {
        UInt32(try readUInt16()) << 16 | UInt32(try readUInt16())
    }

    mutating func readBytes(_ count: Int) throws(DNSCodecError) -> [UInt8] {
        guard count >= 0, bytes.count - offset >= count else { throw error(.truncated) }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// RFC 1035 §4.1.1; the counts are checked against the limits before anything is read.
    mutating func readHeader() throws(DNSCodecError) -> (DNSHeader, Counts) {
        let id = try readUInt16()
        let flags = try readUInt16()
        let counts = Counts(
            questions: Int(try readUInt16()), answers: Int(try readUInt16()), authorities: Int(try readUInt16()),
            additionals: Int(try readUInt16()))
        guard counts.questions <= limits.maximumQuestions else { throw error(.tooManyQuestions, at: 4) }
        guard counts.answers + counts.authorities + counts.additionals <= limits.maximumRecords else {
            throw error(.tooManyRecords, at: 6)
        }
        return (DNSHeader(id: id, flags: flags), counts)
    }

    /// RFC 1035 §4.1.2
    mutating func readQuestion() throws(DNSCodecError) -> DNSQuestion {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        return DNSQuestion(name: name, type: type, recordClass: DNSClass(rawValue: try readUInt16()))
    }

    /// RFC 1035 §4.1.3: NAME TYPE CLASS TTL RDLENGTH RDATA. RDATA is read for the types in
    /// `DNSRecordData` and must end exactly where RDLENGTH says.
    mutating func readRecord() throws(DNSCodecError) -> DNSResourceRecord {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let recordClass = DNSClass(rawValue: try readUInt16())
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        let start = offset
        guard bytes.count - start >= length else { throw error(.truncated) }
        let end = start + length
        let data: DNSRecordData
        switch type {
        case .a:
            guard length == 4 else { throw error(.invalidRecordData, at: start) }
            data = .a(IPv4Address(rawValue: try readUInt32()))
        case .aaaa:
            guard length == 16, let address = IPv6Address(octets: try readBytes(16)) else {
                throw error(.invalidRecordData, at: start)
            }
            data = .aaaa(address)
        case .cname:
            data = .cname(try readName(within: end))
        case .mx:
            guard length >= 3 else { throw error(.invalidRecordData, at: start) }
            let preference = try readUInt16()
            data = .mx(preference: preference, exchange: try readName(within: end))
        case .soa:
            let primary = try readName(within: end)
            let mailbox = try readName(within: end)
            guard end - offset == 20 else { throw error(.invalidRecordData, at: start) }
            data = .soa(
                DNSStartOfAuthority(
                    primaryServer: primary, mailbox: mailbox, serial: try readUInt32(), refresh: try readUInt32(),
                    retry: try readUInt32(), expire: try readUInt32(), minimum: try readUInt32()))
        default:
            data = .opaque(try readBytes(length))
        }
        guard offset == end else { throw error(.invalidRecordData, at: start) }
        return DNSResourceRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
    }

    /// A name inside RDATA, which must not run past the RDATA's end.
    private mutating func readName(within end: Int) throws(DNSCodecError) -> DNSName {
        let start = offset
        let name = try readName()
        guard offset <= end else { throw error(.invalidRecordData, at: start) }
        return name
    }

    /// RFC 1035 §4.1.4: a sequence of labels ending in the zero octet or in a pointer
    /// (`11` and a 14-bit offset) to labels elsewhere in the message.
    ///
    /// Each pointer must point before the labels that precede it in the current run, so the
    /// start of the run falls strictly at every hop and a loop cannot be written; the hop count
    /// and the decompressed length are bounded as well.
    mutating func readName() throws(DNSCodecError) -> DNSName {
        var labels: [[UInt8]] = []
        var length = 1
        var position = offset
        var runStart = offset
        var hops = 0
        var jumped = false
        while true {
            guard position < bytes.count else { throw error(.truncated, at: position) }
            let octet = bytes[position]
            switch octet & 0xC0 {
            case 0x00:
                let count = Int(octet)
                if count == 0 {
                    if !jumped { offset = position + 1 }
                    return DNSName(validatedLabels: labels)
                }
                guard bytes.count - position - 1 >= count else { throw error(.truncated, at: position) }
                length += 1 + count
                guard length <= DNSLimits.maximumNameLength else { throw error(.nameTooLong, at: position) }
                labels.append(Array(bytes[(position + 1)...(position + count)]))
                position += 1 + count
            case 0xC0:
                guard bytes.count - position >= 2 else { throw error(.truncated, at: position) }
                let target = Int(octet & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < runStart else { throw error(.invalidPointer, at: position) }
                hops += 1
                guard hops <= limits.maximumPointerHops else { throw error(.tooManyPointers, at: position) }
                if !jumped {
                    offset = position + 2
                    jumped = true
                }
                position = target
                runStart = target
            default:
                throw error(.invalidLabelType, at: position)
            }
        }
    }
}
