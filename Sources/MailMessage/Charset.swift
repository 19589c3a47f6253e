import Foundation

#if canImport(CoreFoundation)
    import CoreFoundation
#endif

/// Turns bytes in a MIME charset (RFC 2046 §4.1.2, names from the IANA registry) into text.
enum Charset {
    /// Decodes `bytes` as `name`; nil when the charset is unknown or the bytes are invalid in it.
    static func decode(_ bytes: [UInt8], charset name: String) -> String? {
        // RFC 2231 §5: a charset may carry a language suffix, "utf-8*en".
        let bare = name.split(separator: "*", maxSplits: 1).first.map(String.init) ?? name
        let key = bare.trimmingCharacters(in: .whitespaces).lowercased()
        switch key {
        case "utf-8", "utf8":
            return String(bytes: bytes, encoding: .utf8)
        case "us-ascii", "ascii", "ansi_x3.4-1968":
            // Mislabelled 8-bit text is common; read it as UTF-8, then Latin-1, rather than fail.
            return lenientString(bytes)
        case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
            return latin1(bytes)
        default:
            guard let encoding = encoding(named: key) else { return nil }
            return String(bytes: bytes, encoding: encoding)
        }
    }

    /// UTF-8 when the bytes are valid UTF-8, otherwise Latin-1 (which accepts every byte).
    static func lenientString(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(bytes: bytes, encoding: .utf8) {
            return text
        }
        return latin1(bytes)
    }

    static func latin1(_ bytes: some Collection<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            scalars.append(Unicode.Scalar(byte))
        }
        return String(scalars)
    }

    private static func encoding(named key: String) -> String.Encoding? {
        switch key {
        case "windows-1250", "cp1250": return .windowsCP1250
        case "windows-1251", "cp1251": return .windowsCP1251
        case "windows-1252", "cp1252": return .windowsCP1252
        case "windows-1253", "cp1253": return .windowsCP1253
        case "windows-1254", "cp1254": return .windowsCP1254
        case "iso-8859-2", "latin2": return .isoLatin2
        case "iso-2022-jp": return .iso2022JP
        case "shift_jis", "shift-jis", "sjis": return .shiftJIS
        case "euc-jp": return .japaneseEUC
        case "utf-16": return .utf16
        case "utf-16be": return .utf16BigEndian
        case "utf-16le": return .utf16LittleEndian
        default: return registeredEncoding(named: key)
        }
    }

    /// Other IANA names (iso-8859-3..16, windows-1255..1258, koi8-r, big5, gb2312, ...) through
    /// CoreFoundation's registry, which both Darwin and Linux Foundation ship.
    private static func registeredEncoding(named key: String) -> String.Encoding? {
        #if canImport(CoreFoundation)
            let name = NSString(string: key)
            let cfEncoding: CFStringEncoding = withExtendedLifetime(name) {
                #if canImport(Darwin)
                    CFStringConvertIANACharSetNameToEncoding(name as CFString)
                #else
                    // swift-corelibs-foundation lays NSString out as a CFString (its own `_cfObject`
                    // is this same cast), so the reinterpretation is sound for the call's duration.
                    CFStringConvertIANACharSetNameToEncoding(unsafeBitCast(name, to: CFString.self))
                #endif
            }
            guard cfEncoding != kCFStringEncodingInvalidId else { return nil }
            return String.Encoding(rawValue: UInt(CFStringConvertEncodingToNSStringEncoding(cfEncoding)))
        #else
            return nil
        #endif
    }
}
