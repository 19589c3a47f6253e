import IMAPCodec
import MailCore
import RPCProtocol

/// CONDSTORE and QRESYNC (RFC 7162), over the back-end's per-message modseq and its record of
/// expunged UIDs (`message.vanished`): what the session has enabled, HIGHESTMODSEQ, VANISHED
/// in place of EXPUNGE, and the resynchronisation of SELECT (QRESYNC …) and
/// UID FETCH (CHANGEDSINCE … VANISHED).
extension IMAPCommandRunner {
    /// RFC 5161 ENABLE: `* ENABLED` with the extensions this command turned on. QRESYNC
    /// implies CONDSTORE (RFC 7162 §3.2.3); IMAP4rev2 switches to RFC 9051's rules; anything
    /// else is not enabled (and not listed).
    func enable(_ names: [String], into out: inout ResponseWriter) async -> IMAPCompletion {
        var enabled: [String] = []
        for name in names {
            switch name {
            case "CONDSTORE" where !condstore:
                await enableCondstore(into: &out)
                enabled.append(name)
            case "QRESYNC" where !qresync:
                qresync = true
                await enableCondstore(into: &out)
                enabled.append(name)
            case "IMAP4REV2" where !rev2:
                // RFC 9051 §6.3.1: from now on, rev2's rules (see `rev2`).
                rev2 = true
                naming.useUTF8()
                enabled.append("IMAP4rev2")
            default: break
            }
        }
        out.line((["* ENABLED"] + enabled).joined(separator: " "))
        return IMAPCompletion(.ok, "ENABLE completed")
    }

    /// §3.1: a CONDSTORE enabling command. The first one with a mailbox selected reports its
    /// HIGHESTMODSEQ.
    func enableCondstore(into out: inout ResponseWriter) async {
        guard !condstore else { return }
        condstore = true
        guard let name = selected?.name,
            let status = try? await client.call(Methods.mailboxStatus, MailboxStatusParams(session: token, mailbox: name))
        else { return }
        out.line("* OK [HIGHESTMODSEQ \(status.highestModseq)] highest mailbox mod-sequence")
    }

    /// `MODSEQ (n)` to follow FLAGS in a FETCH response once CONDSTORE is on (§3.1).
    func modseqItem(_ modseq: Int64) -> String { condstore ? " MODSEQ (\(modseq))" : "" }

    /// Messages that left the selected mailbox, as `* n EXPUNGE` each or, with QRESYNC on,
    /// one `* VANISHED uids` (§3.2.10.2); the view forgets them either way.
    func writeExpunged(_ uids: [UInt32], into out: inout ResponseWriter) {
        guard selected != nil else { return }
        let known = uids.filter { selected!.view.sequenceNumber(of: $0) != nil }
        let numbers = selected!.view.remove(known)
        if qresync {
            for set in IMAPMailboxView.uidSets(known.sorted()) { out.line("* VANISHED \(set)") }
        } else {
            for seq in numbers { out.line("* \(seq) EXPUNGE") }
        }
    }

    /// §3.2.5.1 and §3.2.6: the UIDs of `within` (all when nil) expunged since `modseq`, as
    /// `* VANISHED (EARLIER) …`, then a FETCH (UID FLAGS MODSEQ) for each message of `within`
    /// the session knows that changed since then.
    func resynchronise(since modseq: Int64, within: UIDSet?, into out: inout ResponseWriter) async throws {
        try await writeVanished(since: modseq, within: within, into: &out)
        try await writeChanged(since: modseq, within: within, uid: true, into: &out)
    }

    /// `* VANISHED (EARLIER) …` for the UIDs of `within` (all when nil) expunged since `modseq`,
    /// a page of `message.vanished` at a time.
    func writeVanished(since modseq: Int64, within: UIDSet?, into out: inout ResponseWriter) async throws {
        guard let name = selected?.name else { return }
        var after: UInt32?
        repeat {
            let page = try await client.call(
                Methods.messageVanished,
                MessageVanishedParams(session: token, mailbox: name, sinceModseq: modseq, uids: within, afterUid: after))
            if let uids = page.uids { out.line("* VANISHED (EARLIER) \(uids)") }
            after = page.nextAfterUid
            await emit(&out)
        } while after != nil
    }

    /// A FETCH (UID FLAGS MODSEQ) for each message of `within` changed since `modseq`.
    func writeChanged(since modseq: Int64, within: UIDSet?, uid: Bool, into out: inout ResponseWriter) async throws {
        guard let name = selected?.name else { return }
        var after: UInt32?
        repeat {
            let page = try await client.call(
                Methods.messageList,
                MessageListParams(
                    session: token, mailbox: name, uids: within, changedSince: modseq, limit: configuration.listPageSize, afterUid: after))
            for message in page.messages {
                guard let seq = selected?.view.sequenceNumber(of: message.uid) else { continue }
                let names = flagNames(message).joined(separator: " ")
                out.line("* \(seq) FETCH (UID \(message.uid) FLAGS (\(names)) MODSEQ (\(message.modseq)))")
            }
            after = page.nextAfterUid
            await emit(&out)
        } while after != nil
    }

    /// A client's sequence set of UIDs as the RPC's UID set (`*` kept as `*`).
    static func uidSet(_ set: IMAPSequenceSet) -> UIDSet? {
        let text = set.ranges.map { range -> String in
            func number(_ n: IMAPSequenceNumber) -> String {
                switch n {
                case .number(let value): String(value)
                case .star: "*"
                }
            }
            return range.first == range.last ? number(range.first) : "\(number(range.first)):\(number(range.last))"
        }
        return UIDSet(text.joined(separator: ","))
    }

    /// SELECT and EXAMINE's RFC 7162 parameters, checked before the mailbox is opened (§3.2.5:
    /// a malformed one is BAD and nothing is selected).
    func selectOptions(_ parameters: [IMAPSelectParameter]) throws -> (condstore: Bool, qresync: IMAPQResyncParameter?) {
        var condstore = false
        var qresync: IMAPQResyncParameter?
        for parameter in parameters {
            switch parameter.name {
            case "CONDSTORE" where parameter.value == nil:
                condstore = true
            case "QRESYNC":
                guard self.qresync else { throw IMAPCommandError(.bad, "QRESYNC has not been enabled") }
                guard let value = parameter.value, let parsed = IMAPQResyncParameter(value) else {
                    throw IMAPCommandError(.bad, "invalid QRESYNC parameter")
                }
                qresync = parsed
            default:
                throw IMAPCommandError(.bad, "unknown SELECT parameter \(parameter.name)")
            }
        }
        return (condstore, qresync)
    }
}
