extension DNSMessage {
    /// The message in wire form (RFC 1035 §4.1), names compressed (§4.1.4) where they repeat:
    /// question and owner names, and the names inside CNAME, MX and SOA data (RFC 3597 §4
    /// allows it for those types only). Throws when the result would be over 65535 octets, or
    /// when opaque data is over 65535.
    public func encoded(compressingNames: Bool = true) throws(DNSCodecError) -> [UInt8] {
        var writer = DNSMessageWriter(compressing: compressingNames)
        writer.writeUInt16(header.id)
        writer.writeUInt16(header.flags)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            guard count <= Int(UInt16.max) else { throw DNSCodecError(.messageTooLarge) }
            writer.writeUInt16(UInt16(count))
        }
        for question in questions {
            writer.writeName(question.name)
            writer.writeUInt16(question.type.rawValue)
            writer.writeUInt16(question.recordClass.rawValue)
        }
        for record in answers + authorities + additionals { try writer.writeRecord(record) }
        guard writer.bytes.count <= DNSLimits.maximumMessageSize else { throw DNSCodecError(.messageTooLarge) }
        return writer.bytes
    }
}

struct DNSMessageWriter {
    private(set) var bytes: [UInt8] = []
    let compressing: Bool
    /// Where each name suffix already written starts, by its lower-case labels.
    private var suffixes: [ArraySlice<[UInt8]>: Int] = [:]

    init(compressing: Bool) { self.compressing = compressing }

    mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(value >> 16))
        writeUInt16(UInt16(truncatingIfNeeded: value))
    }

    /// The labels until a suffix already in the message, then a pointer to it; pointers reach
    /// only the first 16383 octets (14 bits).
    mutating func writeName(_ name: DNSName) {
        let lowered = name.lowercased.labels
        for index in lowered.indices {
            let suffix = lowered[index...]
            if compressing, let target = suffixes[suffix] {
                writeUInt16(0xC000 | UInt16(target))
                return
            }
            if compressing, bytes.count <= 0x3FFF { suffixes[suffix] = bytes.count }
            let label = name.labels[index]
            bytes.append(UInt8(label.count))
            bytes += label
        }
        bytes.append(0)
    }

    mutating func writeRecord(_ record: DNSResourceRecord) throws(DNSCodecError) {
        writeName(record.name)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.recordClass.rawValue)
        writeUInt32(record.ttl)
        let lengthAt = bytes.count
        writeUInt16(0)
        switch record.data {
        case .a(let address): writeUInt32(address.rawValue)
        case .aaaa(let address): bytes += address.octets
        case .cname(let name): writeName(name)
        case .mx(let preference, let exchange):
            writeUInt16(preference)
            writeName(exchange)
        case .soa(let soa):
            writeName(soa.primaryServer)
            writeName(soa.mailbox)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { writeUInt32(value) }
        case .opaque(let data): bytes += data
        }
        let length = bytes.count - lengthAt - 2
        guard length <= Int(UInt16.max) else { throw DNSCodecError(.invalidRecordData) }
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(truncatingIfNeeded: length)
    }
}
