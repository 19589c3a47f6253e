"""The log (issue 14): one line per message accepted and refused, per login (success and
failure), per administrator's change, as logfmt that a parser splits into fields (Python's
shlex here, which reads the same quoting), or as JSON with `--log-format json`. Passwords never
appear."""
import imaplib
import json
import poplib
import shlex
import smtplib
import socket

import pytest

from conftest import Loft, eventually, loopback_gateways_env


def fields(line):
    """One logfmt line as a dict."""
    out = {}
    for token in shlex.split(line):
        key, _, value = token.partition("=")
        out[key] = value
    return out


def port(env, key, n):
    return int(env[key].split(",")[n].split("/")[0].rsplit(":", 1)[1])


def traffic(loft, env):
    loft.cli("domain", "add", "example.test")
    loft.cli("account", "add", "alice@example.test", "--password-stdin", input="alice-secret-pw\n")
    loft.cli("account", "set", "alice@example.test", "--quota", "10M")
    mx = port(env, "LOFT_SMTP_LISTENERS", 0)
    eventually(lambda: _greets(mx), what="smtp up")
    s = smtplib.SMTP("127.0.0.1", mx, timeout=30)
    s.ehlo("client.test")
    s.sendmail("carol@remote.test", ["alice@example.test"], b"Subject: logged\r\n\r\nhello\r\n")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        s.sendmail("carol@remote.test", ["nobody@example.test"], b"Subject: refused\r\n\r\nx\r\n")
    s.quit()
    # Refused after its data by the session itself (a bare LF, RFC 5321 §2.3.8): logged too.
    with socket.create_connection(("127.0.0.1", mx), timeout=30) as raw:
        f = raw.makefile("rb")
        for line in (None, b"EHLO client.test", b"MAIL FROM:<carol@remote.test>", b"RCPT TO:<alice@example.test>", b"DATA"):
            if line:
                raw.sendall(line + b"\r\n")
            while (reply := f.readline())[3:4] == b"-":
                pass
        raw.sendall(b"Subject: bare\r\n\r\na bare\nline feed\r\n.\r\n")
        assert f.readline().startswith(b"550 5.6.0"), "bare LF refused"
    p = poplib.POP3("127.0.0.1", port(env, "LOFT_POP3_LISTENERS", 0), timeout=30)
    p.user("alice@example.test")
    with pytest.raises(poplib.error_proto):
        p.pass_("wrong-guess-pw")
    i = imaplib.IMAP4("127.0.0.1", port(env, "LOFT_IMAP_LISTENERS", 0), timeout=30)
    i.login("alice@example.test", "alice-secret-pw")
    i.logout()


def _greets(p):
    try:
        smtplib.SMTP("127.0.0.1", p, timeout=5).quit()
        return True
    except OSError:
        return False


def events(log_text, parse):
    out = []
    for line in log_text.splitlines():
        if line.startswith(("time=", "{")):
            out.append(parse(line))
    return out


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_messages_logins_and_changes_are_logged_as_fields(tmp_path, fmt):
    env = loopback_gateways_env()
    extra = () if fmt == "logfmt" else ("--log-format", "json")
    loft = Loft(tmp_path / "data", env=env, extra_args=extra)
    log = tmp_path / "data-serve.log"
    parse = fields if fmt == "logfmt" else json.loads
    try:
        traffic(loft, env)

        def seen():
            got = events(log.read_text(), parse)
            return any(e.get("msg") == "message refused" for e in got) and {
                (e.get("event"), e.get("result") or e.get("action")) for e in got} >= {
                ("message", "accepted"), ("message", "refused"), ("login", "ok"), ("login", "failed"),
                ("admin", "account.update")}
        eventually(seen, what="every kind of line")
    finally:
        loft.stop()
    text = log.read_text()
    assert "alice-secret-pw" not in text and "wrong-guess-pw" not in text, "a password in the log"
    got = events(text, parse)
    assert all({"time", "level", "process", "msg"} <= e.keys() for e in got), [e for e in got if "msg" not in e][:3]
    accepted = next(e for e in got if e.get("event") == "message" and e.get("result") == "accepted")
    assert accepted["process"] == "smtp" and accepted["from"] == "carol@remote.test" and accepted["to"] == "alice@example.test"
    assert accepted["client"] == "127.0.0.1" and accepted["helo"] == "client.test" and int(accepted["size"]) > 20
    assert accepted["queue_id"] and accepted["outcome"] == "alice@example.test:delivered", accepted
    refused = next(e for e in got if e.get("event") == "message" and e.get("result") == "refused")
    assert refused["msg"] == "recipient refused" and refused["to"] == "nobody@example.test", refused
    assert refused["reply"] == "550 5.1.1", refused
    bare = next(e for e in got if e.get("msg") == "message refused")
    assert bare["reply"] == "550 5.6.0" and bare["to"] == "alice@example.test" and bare["result"] == "refused", bare
    assert bare["from"] == "carol@remote.test" and bare["client"] == "127.0.0.1", bare
    failed = next(e for e in got if e.get("event") == "login" and e.get("result") == "failed")
    assert (failed["user"], failed["service"], failed["client"], failed["mechanism"]) == (
        "alice@example.test", "pop3", "127.0.0.1", "password"), failed
    ok = next(e for e in got if e.get("event") == "login" and e.get("result") == "ok")
    assert ok["service"] == "imap" and ok["level"] == "info", ok
    change = next(e for e in got if e.get("action") == "account.update")
    assert change["target"] == "alice@example.test" and change["fields"] == "quotaBytes", change
