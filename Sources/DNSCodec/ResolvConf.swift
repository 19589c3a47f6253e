/// The parts of resolv.conf(5) a stub resolver needs: the nameservers and `options timeout:n
/// attempts:n`, read the way glibc reads them. `search` and `domain` are ignored on purpose:
/// a relay "MUST NOT" complete partial names (RFC 5321 §5.1), so every name is absolute.
public struct ResolvConf: Hashable, Sendable {
    /// glibc's MAXNS: later `nameserver` lines are ignored.
    public static let maximumNameservers = 3
    /// glibc's RES_TIMEOUT, seconds per try.
    public static let defaultTimeoutSeconds = 5
    /// glibc's RES_MAXRETRANS: a larger `timeout:` is lowered to it.
    public static let maximumTimeoutSeconds = 30
    /// glibc's RES_DFLRETRY: rounds over the nameservers.
    public static let defaultAttempts = 2
    /// glibc's RES_MAXRETRY: a larger `attempts:` is lowered to it.
    public static let maximumAttempts = 5
    /// What glibc asks when no nameserver is configured (or the file is missing).
    public static let defaultNameserver = IPAddress.v4(IPv4Address(127, 0, 0, 1))

    public var nameservers: [IPAddress]
    public var timeoutSeconds: Int
    public var attempts: Int

    public init(
        nameservers: [IPAddress] = [Self.defaultNameserver], timeoutSeconds: Int = Self.defaultTimeoutSeconds,
        attempts: Int = Self.defaultAttempts
    ) {
        self.nameservers = nameservers
        self.timeoutSeconds = timeoutSeconds
        self.attempts = attempts
    }

    /// The settings when there is no file: 127.0.0.1, 5 seconds, 2 attempts.
    public static let `default` = ResolvConf()

    /// Reads the file's text. Lines are a keyword and its arguments separated by spaces or tabs;
    /// a line starting with `#` or `;` is a comment, and so is anything after the first argument
    /// of `nameserver`. Nameservers that are not an IPv4 or IPv6 address are skipped (a zone
    /// index such as `fe80::1%eth0` included: the socket layer takes no scope here); timeouts
    /// and attempts below 1 become 1, above glibc's maximum its maximum; unknown options and
    /// keywords are ignored, as glibc ignores them.
    public static func parse(_ text: String) -> ResolvConf {
        var configuration = ResolvConf(nameservers: [])
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = fields.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver":
                guard fields.count >= 2, configuration.nameservers.count < maximumNameservers,
                    let address = IPAddress(fields[1])
                else { continue }
                configuration.nameservers.append(address)
            case "options":
                for option in fields.dropFirst() {
                    if let value = number(after: "timeout:", in: option) {
                        configuration.timeoutSeconds = min(max(value, 1), maximumTimeoutSeconds)
                    } else if let value = number(after: "attempts:", in: option) {
                        configuration.attempts = min(max(value, 1), maximumAttempts)
                    }
                }
            default: continue
            }
        }
        if configuration.nameservers.isEmpty { configuration.nameservers = [defaultNameserver] }
        return configuration
    }

    /// The decimal after `prefix`; one too long for an `Int` is as good as the maximum.
    private static func number(after prefix: String, in option: Substring) -> Int? {
        guard option.hasPrefix(prefix) else { return nil }
        let digits = option.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return digits.count > 9 ? Int.max : Int(digits)
    }
}
