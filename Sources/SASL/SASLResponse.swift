import MailCore

/// The optional initial response of an authentication command, decoded. The three profiles spell
/// it alike:
///
///     RFC 4954 §4 (SMTP):   auth-command = "AUTH" SP sasl-mech [SP initial-response] ...
///                           initial-response = base64 / "="
///     RFC 5034 §4 (POP3):   auth-command = "AUTH" SP sasl-mech [SP initial-response] ...
///                           initial-response = base64 / "="
///     RFC 4959 §3 (IMAP):   authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]
///                                          *(CRLF base64)
///
/// `=` is an initial response of zero octets, which is not the same as no initial response.
public enum SASLInitialResponse: Sendable, Hashable {
    case empty
    case bytes([UInt8])

    public var bytes: [UInt8] {
        switch self {
        case .empty: []
        case .bytes(let bytes): bytes
        }
    }

    /// Decodes the initial-response argument as sent: `=`, or non-empty canonical base64 of at
    /// most `SASLLimits.responseLine` octets.
    public static func parse(_ argument: some Collection<UInt8>) -> Result<SASLInitialResponse, SASLError> {
        if argument.count == 1, argument.first == UInt8(ascii: "=") { return .success(.empty) }
        guard argument.count <= SASLLimits.responseLine else { return .failure(SASLError(.lineTooLong)) }
        guard !argument.isEmpty, let decoded = Base64.decode(argument) else {
            return .failure(SASLError(.invalidBase64))
        }
        return .success(decoded.isEmpty ? .empty : .bytes(decoded))
    }
}

/// One client response line of an exchange, decoded.
///
///     RFC 4954 §4:  *(CRLF [base64]) [CRLF cancel-response] CRLF
///                   cancel-response = "*"
///     RFC 5034 §4:  *(CRLF [base64]) [CRLF cancel-response] CRLF
///                   cancel-response = "*"
///     RFC 3501 §6.2.2 (IMAP): "If the client wishes to cancel an authentication exchange, it
///                   issues a line consisting of a single "*"."
///
/// An empty line is an empty response; `=` is not valid here (only in an initial response).
public enum SASLResponse: Sendable, Hashable {
    case cancel
    case message([UInt8])

    public static func parse(_ line: some Collection<UInt8>) -> Result<SASLResponse, SASLError> {
        if line.count == 1, line.first == UInt8(ascii: "*") { return .success(.cancel) }
        guard line.count <= SASLLimits.responseLine else { return .failure(SASLError(.lineTooLong)) }
        guard let decoded = Base64.decode(line) else { return .failure(SASLError(.invalidBase64)) }
        return .success(.message(decoded))
    }
}
