public import JSONCodec

// `message.sort` and `message.thread` answer with a UID for every message of a mailbox (10,000
// and more), which Codable's encoder took longer to write than the back-end took to sort
// (Tests/bench/IMAP.md). The shapes are the synthesized ones.

extension MessageSortResult: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var uids: [UInt32]?
        var total: Int?
        var highestModseq: Int64?
        try reader.readObject { reader, key in
            switch key {
            case "uids": uids = try reader.readArray { try $0.readUInt32() }
            case "total": total = try reader.readInt()
            case "highestModseq": highestModseq = try reader.readInt64()
            default: try reader.skipValue()
            }
        }
        guard let uids, let total, let highestModseq else { throw reader.error("a sort result without uids, total or highestModseq") }
        self.init(uids: uids, total: total, highestModseq: highestModseq)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("uids", uids)
            writer.member("total", total)
            writer.member("highestModseq", highestModseq)
        }
    }
}

extension MessageThreadResult: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var uids: [UInt32]?
        var depths: [Int]?
        var threads: Int?
        var nextOffset: Int?
        var highestModseq: Int64?
        try reader.readObject { reader, key in
            switch key {
            case "uids": uids = try reader.readArray { try $0.readUInt32() }
            case "depths": depths = try reader.readArray { try $0.readInt() }
            case "threads": threads = try reader.readInt()
            case "nextOffset": nextOffset = reader.readNull() ? nil : try reader.readInt()
            case "highestModseq": highestModseq = try reader.readInt64()
            default: try reader.skipValue()
            }
        }
        guard let uids, let depths, let threads, let highestModseq else {
            throw reader.error("a thread result without uids, depths, threads or highestModseq")
        }
        self.init(uids: uids, depths: depths, threads: threads, nextOffset: nextOffset, highestModseq: highestModseq)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("uids", uids)
            writer.member("depths", depths)
            writer.member("threads", threads)
            writer.member("nextOffset", nextOffset)
            writer.member("highestModseq", highestModseq)
        }
    }
}
