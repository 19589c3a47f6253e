/// The text of a body part for searching and display: transfer-decoded bytes in their MIME
/// charset made into a Swift string.
public enum PartText {
    /// `bytes` (already transfer-decoded, `TransferDecoding`) in `charset` as text: converted
    /// where the charset is known and the bytes are valid in it, else read as UTF-8, else as
    /// Latin-1, so every input gives text.
    public static func decode(_ bytes: [UInt8], charset: String?) -> String {
        if let charset, let text = Charset.decode(bytes, charset: charset) { return text }
        return Charset.lenientString(bytes)
    }

    /// Whether text in `charset` may be cut after any line feed and each piece converted on its
    /// own: true for the ASCII-compatible charsets, where a line feed byte is never part of a
    /// multi-byte character; false for UTF-16 and UTF-32, whose characters span zero bytes.
    public static func splitsAtLineFeeds(charset: String?) -> Bool {
        guard let name = charset?.lowercased() else { return true }
        return !(name.hasPrefix("utf-16") || name.hasPrefix("utf-32") || name.hasPrefix("ucs-") || name == "utf16" || name == "utf32")
    }
}
