"""SMTP end to end: `loft serve` with its SMTP gateway, driven by clients nobody here wrote —
Python's smtplib, swaks (Debian package `swaks`) and curl — each message read back byte-exact
through the back-end RPC. Issue 3."""
import base64
import hashlib
import hmac
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import child_env, eventually, free_port, Loft, login

DOTTY = (b"From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: dots\r\n\r\n"
         b".a line that starts with a dot\r\n..two dots\r\n.\r\n. space\r\nlast line\r\n")


def wait_for_port(port, timeout=30, greeting=True):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.settimeout(12)  # an MX greeting may wait smtp.mx_greeting_delay_ms (at most 10 s)
                if not greeting or s.recv(512).startswith(b"220"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing answers SMTP on port {port}")


def split_stored(stored):
    """Return-Path line, Received field (with its continuation lines), and the client's bytes."""
    first, rest = stored.split(b"\r\n", 1)
    lines = rest.split(b"\r\n")
    n = 1
    while lines[n].startswith((b"\t", b" ")):
        n += 1
    received = b"\r\n".join(lines[:n]) + b"\r\n"
    return first + b"\r\n", received, b"\r\n".join(lines[n:])


class SMTPServer:
    """`loft serve` with SMTP on three free loopback ports: MX with STARTTLS, submission with
    STARTTLS, submission with implicit TLS. Plaintext AUTH is refused before TLS even on
    loopback, and no network is trusted, so the tests see the production policy."""

    def __init__(self, tmp_path, extra="", cap="2M", env=None):
        self.mx_port, self.sub_port, self.tls_port = free_port(), free_port(), free_port()
        self.config = tmp_path / "loft.yaml"
        self.config.write_text(
            "serve:\n  gateways: [smtp]\n"
            "smtp:\n  hostname: mx.example.test\n  allow_plaintext_on_loopback: false\n"
            + (f"  max_message_size: {cap}\n" if cap else "")
            + f"{extra}  listeners:\n"
            f"    - {{address: 127.0.0.1, port: {self.mx_port}, tls: starttls, mode: mx}}\n"
            f"    - {{address: 127.0.0.1, port: {self.sub_port}, tls: starttls, mode: submission}}\n"
            f"    - {{address: 127.0.0.1, port: {self.tls_port}, tls: implicit, mode: submission}}\n")
        self.loft = Loft(tmp_path / "data", extra_args=("--config", str(self.config)), env=env)
        wait_for_port(self.mx_port)
        wait_for_port(self.sub_port)
        wait_for_port(self.tls_port, greeting=False)
        a = self.loft.admin()
        a.call("domain.add", {"name": "example.test"})
        a.call("account.add", {"address": "alice@example.test", "password": "alice-pw"})
        a.call("account.add", {"address": "bob@example.test", "password": "bob-pw", "apopSecret": "bob-apop"})
        a.call("account.add", {"address": "full@example.test", "password": "full-pw", "quotaBytes": 4096})
        a.call("account.add", {"address": "small@example.test", "password": "small-pw", "maxMessageBytes": 1024})
        a.close()
        self.rpc = self.loft.gateway()
        if "offer_cram_md5" not in extra:
            # auto: the gateway offers CRAM-MD5 once it has heard that bob has a secret.
            eventually(lambda: "CRAM-MD5" in self.ehlo_auth(), what="CRAM-MD5 in EHLO")

    def ehlo_auth(self, port=None):
        s = smtplib.SMTP("127.0.0.1", port or self.sub_port, timeout=30)
        try:
            s.ehlo("laptop.test")
            return s.esmtp_features.get("auth", "").split()
        finally:
            s.quit()

    def inbox(self, user, password):
        """Every message in the account's INBOX, whole, as stored."""
        g, s = login(self.loft, user, password)
        uids = [m["uid"] for m in g.call("message.list", {"session": s, "mailbox": "INBOX"})["messages"]]
        out = [g.read_all(s, "INBOX", uid) for uid in uids]
        g.close()
        return out

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=str(self.loft.data / "tls" / "cert.pem"))
        ctx.check_hostname = False  # the self-signed certificate names this host, not 127.0.0.1
        return ctx

    def gateway_pid(self):
        out = subprocess.run(["pgrep", "-P", str(self.loft.proc.pid)], capture_output=True, text=True).stdout.split()
        for pid in out:
            try:  # a child may exit between being listed and being looked at (the killed gateway)
                args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if len(args) > 1 and args[1] == b"smtp":
                return int(pid)
        return None

    def backend_pid(self):
        out = subprocess.run(["pgrep", "-P", str(self.loft.proc.pid)], capture_output=True, text=True).stdout.split()
        for pid in out:
            args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            if len(args) > 1 and args[1] == b"backend":
                return int(pid)
        return None

    def stop(self):
        self.rpc.close()
        self.loft.stop()


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    server = SMTPServer(tmp_path_factory.mktemp("smtp"))
    yield server
    server.stop()


def ehlo_size(port):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    try:
        s.ehlo("laptop.test")
        return int(s.esmtp_features["size"])
    finally:
        s.quit()


def test_size_advertised_is_the_server_limit_as_enforced(tmp_path):
    """Issue 14: EHLO's SIZE is the server-wide limit (`loft settings --max-message`), followed
    live, above smtp's old 50M default too, and enforced at MAIL and while the data arrives;
    `smtp.max_message_size` lowers it for the gateway and never raises it."""
    for name in ("free", "capped"):
        (tmp_path / name).mkdir()
    server = SMTPServer(tmp_path / "free", cap=None)
    try:
        assert ehlo_size(server.mx_port) == 50 << 20
        server.loft.cli("settings", "--max-message", "10K")
        # The notification reaches the gateway before `loft settings` is answered, but the
        # gateway reads it on its own thread: the next sessions see it at once or nearly.
        eventually(lambda: ehlo_size(server.mx_port) == 10 << 10, what="SIZE 10240 after loft settings")
        assert ehlo_size(server.sub_port) == 10 << 10
        s = smtplib.SMTP("127.0.0.1", server.mx_port, timeout=30)
        s.ehlo("laptop.test")
        assert s.mail("carol@remote.test", ["SIZE=10241"])[0] == 552
        assert s.mail("carol@remote.test", ["SIZE=10240"])[0] == 250
        assert s.rcpt("alice@example.test")[0] == 250
        code, _ = s.data(b"Subject: big\r\n\r\n" + (b"y" * 78 + b"\r\n") * 200)
        assert code == 552
        s.quit()
        server.loft.cli("settings", "--max-message", "60M")
        eventually(lambda: ehlo_size(server.mx_port) == 60 << 20, what="SIZE above the old 50M gateway default")
    finally:
        server.stop()
    capped = SMTPServer(tmp_path / "capped", cap="2M")
    try:
        assert ehlo_size(capped.mx_port) == 2 << 20
        capped.loft.cli("settings", "--max-message", "1M")
        eventually(lambda: ehlo_size(capped.mx_port) == 1 << 20, what="the server's smaller limit")
        capped.loft.cli("settings", "--max-message", "10M")
        eventually(lambda: ehlo_size(capped.mx_port) == 2 << 20, what="the gateway's cap")
    finally:
        capped.stop()


def talk_first(port, source, lines=b"EHLO early.test\r\n"):
    """Connect from `source` and send `lines` before any greeting; everything the server says."""
    with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0)) as s:
        s.sendall(lines)
        out = b""
        while chunk := s.recv(4096):
            out += chunk
            if b"\r\n250 " in out or out.startswith(b"554 "):
                break
        return out


def test_mx_refuses_a_client_that_talks_before_the_greeting(tmp_path):
    """Issue 14, Postfix's pregreet test: on MX listeners the greeting waits
    `smtp.mx_greeting_delay_ms`; a client that talks first gets 554 and the connection closes,
    nothing it sent is run; a client that waited is passed and greeted at once for a day;
    submission never waits. Each client comes from its own loopback address."""
    env = child_env()
    env["LOFT_SMTP_MX_GREETING_DELAY_MS"] = "3000"
    server = SMTPServer(tmp_path, env=env)  # wait_for_port's probe from 127.0.0.1 waited
    try:
        mail = (b"EHLO spam.test\r\nMAIL FROM:<spam@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
                b"DATA\r\nSubject: early\r\n\r\nearly\r\n.\r\nQUIT\r\n")
        out = talk_first(server.mx_port, "127.0.0.3", mail)
        assert out.startswith(b"554 mx.example.test ") and b"talked before the greeting" in out, out
        assert out.count(b"\r\n") == 1, out  # and then the connection closed: nothing else ran
        assert talk_first(server.mx_port, "127.0.0.3").startswith(b"554 "), "a refused client is not passed"
        # A client that waits (smtplib reads the greeting first) is served, then passed.
        s = smtplib.SMTP("127.0.0.1", server.mx_port, timeout=30, source_address=("127.0.0.2", 0))
        assert s.ehlo("patient.test")[0] == 250
        s.sendmail("carol@remote.test", ["alice@example.test"], b"Subject: patient\r\n\r\nwaited\r\n")
        s.quit()
        passed = talk_first(server.mx_port, "127.0.0.2")
        assert passed.startswith(b"220 mx.example.test ") and b"\r\n250 " in passed, passed
        # Submission ports greet at once, so a pipelining client is not refused there.
        assert talk_first(server.sub_port, "127.0.0.3").startswith(b"220 "), "submission never waits"
        bodies = server.inbox("alice@example.test", "alice-pw")
        assert [b"waited" in b for b in bodies] == [True], bodies
    finally:
        server.stop()


@pytest.fixture
def fresh(tmp_path):
    server = SMTPServer(tmp_path)
    yield server
    server.stop()


def test_smtplib_mx_plain_byte_exact_with_received_header(smtp):
    before = len(smtp.inbox("alice@example.test", "alice-pw"))
    s = smtplib.SMTP("127.0.0.1", smtp.mx_port, timeout=30)
    code, features = s.ehlo("client.remote.test")
    assert code == 250
    for ext in ("size", "8bitmime", "pipelining", "enhancedstatuscodes", "starttls", "chunking", "dsn", "smtputf8"):
        assert s.has_extn(ext), ext
    # DSN (RFC 3461) is offered: a malformed RET is refused, a good one taken.
    assert s.mail("carol@remote.test", ["RET=SOME"])[0] == 501
    assert s.mail("carol@remote.test", ["RET=HDRS"])[0] == 250
    s.rset()
    assert s.mail("carol@remote.test")[0] == 250
    assert s.rcpt("alice@example.test", ["NOTIFY=SOMETIMES"])[0] == 501
    assert s.rcpt("alice@example.test", ["NOTIFY=FAILURE"])[0] == 250
    s.rset()
    assert s.esmtp_features["size"] == str(2 << 20)
    assert not s.has_extn("auth")  # no AUTH on the MX port
    refused = s.sendmail("carol@remote.test", ["alice@example.test", "nobody@example.test"], DOTTY)
    assert refused == {"nobody@example.test": (550, b"5.1.1 No such user")}
    s.quit()
    stored = smtp.inbox("alice@example.test", "alice-pw")[before:]
    assert len(stored) == 1
    return_path, received, rest = split_stored(stored[0])
    assert return_path == b"Return-Path: <carol@remote.test>\r\n"
    assert received.startswith(b"Received: from client.remote.test ([127.0.0.1])\r\n\tby mx.example.test (Loft) with ESMTP id ")
    assert rest == DOTTY


def test_smtputf8_sender_and_headers_arrive_byte_exact(smtp):
    """RFC 6531: an internationalized sender and UTF-8 header fields, sent by smtplib with the
    SMTPUTF8 parameter (which it adds only when the server offers the extension)."""
    before = len(smtp.inbox("alice@example.test", "alice-pw"))
    message = ("From: Jörg <jörg@bücher.test>\r\nTo: alice@example.test\r\nSubject: Grüße, 日本語\r\n\r\n"
               "Straße\r\n").encode()
    s = smtplib.SMTP("127.0.0.1", smtp.mx_port, timeout=30)
    s.ehlo("client.remote.test")
    assert s.has_extn("smtputf8")
    assert s.sendmail("jörg@bücher.test", ["alice@example.test"], message, mail_options=["SMTPUTF8", "BODY=8BITMIME"]) == {}
    s.quit()
    stored = smtp.inbox("alice@example.test", "alice-pw")[before:]
    assert len(stored) == 1
    return_path, _, rest = split_stored(stored[0])
    # Domains are kept as A-labels (RFC 5890), so the envelope's bücher.test is xn--bcher-kva.test.
    assert return_path == "Return-Path: <jörg@xn--bcher-kva.test>\r\n".encode()
    assert rest == message
    # A local account whose address is not ASCII receives too (RFC 6531 §3.3).
    a = smtp.loft.admin()
    a.call("account.add", {"address": "zoë@example.test", "password": "zoe-pw"})
    a.close()
    s = smtplib.SMTP("127.0.0.1", smtp.mx_port, timeout=30)
    assert s.sendmail("jörg@bücher.test", ["zoë@example.test"], message, mail_options=["SMTPUTF8"]) == {}
    s.quit()
    assert split_stored(smtp.inbox("zoë@example.test", "zoe-pw")[-1])[2] == message
    # An internationalized local domain is one domain in both its forms: added as U-labels,
    # reached by an MTA that writes A-labels (no SMTPUTF8 needed) and by one that writes U-labels.
    a = smtp.loft.admin()
    assert a.call("domain.add", {"name": "Bücher.example"})["name"] == "xn--bcher-kva.example"
    a.call("account.add", {"address": "info@bücher.example", "password": "info-pw"})
    a.close()
    s = smtplib.SMTP("127.0.0.1", smtp.mx_port, timeout=30)
    assert s.sendmail("carol@remote.test", ["info@xn--bcher-kva.example"], b"Subject: a\r\n\r\nA-label\r\n") == {}
    assert s.sendmail("carol@remote.test", ["info@bücher.example"], b"Subject: u\r\n\r\nU-label\r\n",
                      mail_options=["SMTPUTF8"]) == {}
    s.quit()
    got = [split_stored(m)[2] for m in smtp.inbox("info@xn--bcher-kva.example", "info-pw")]
    assert got == [b"Subject: a\r\n\r\nA-label\r\n", b"Subject: u\r\n\r\nU-label\r\n"]


def test_smtplib_starttls_and_auth_plain_login_on_submission(smtp):
    s = smtplib.SMTP("127.0.0.1", smtp.sub_port, timeout=30)
    s.ehlo("laptop.test")
    # Plaintext mechanisms are withheld before TLS (loopback is not exempted here).
    assert s.esmtp_features.get("auth", "").split() == ["CRAM-MD5", "SCRAM-SHA-256"]
    code, msg = s.mail("alice@example.test")
    assert (code, msg) == (530, b"5.7.0 Authentication required")
    s.starttls(context=smtp.tls_context())
    s.ehlo("laptop.test")
    assert "STARTTLS" not in s.esmtp_features
    assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"]
    s.user, s.password = "alice@example.test", "alice-pw"
    assert s.auth("PLAIN", s.auth_plain)[0] == 235
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        s.sendmail("bob@example.test", ["bob@example.test"], b"Subject: forged\r\n\r\nno\r\n")
    assert refused.value.smtp_code == 553 and refused.value.smtp_error.startswith(b"5.7.1")
    s.rset()
    # An alias that delivers to alice, and alice's sub-addresses, are hers to send as.
    smtp.loft.admin().call("alias.add", {"address": "sales@example.test", "targets": ["alice@example.test"]})
    assert s.sendmail("sales@example.test", ["bob@example.test"], b"Subject: as alias\r\n\r\nhi\r\n") == {}
    assert s.sendmail("alice+news@example.test", ["bob@example.test"], b"Subject: as tag\r\n\r\nhi\r\n") == {}
    msg = b"Subject: from alice\r\n\r\nhello bob\r\n"
    assert s.sendmail("alice@example.test", ["bob@example.test", "friend@remote.test"], msg) == {}
    s.quit()

    s = smtplib.SMTP("127.0.0.1", smtp.sub_port, timeout=30)
    s.starttls(context=smtp.tls_context())
    s.ehlo("laptop.test")
    s.user, s.password = "bob@example.test", "bob-pw"
    assert s.auth("LOGIN", s.auth_login)[0] == 235
    s.sendmail("bob@example.test", ["alice@example.test"], b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n")
    s.quit()

    stored = smtp.inbox("bob@example.test", "bob-pw")[-1]
    _, received, rest = split_stored(stored)
    assert b"with ESMTPSA id" in received
    assert b"\r\n\t(Authenticated sender: alice@example.test)\r\n" in received  # RFC 4954 §7
    # Submission adds the Date and Message-ID the client left out (RFC 6409 §8).
    assert rest.startswith(b"Date: ") and b"\r\nMessage-ID: <" in rest and rest.endswith(b"\r\n" + msg)
    _, _, rest = split_stored(smtp.inbox("alice@example.test", "alice-pw")[-1])
    assert rest == b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n"


def test_smtplib_smtp_ssl_and_cram_md5_with_the_apop_secret(smtp):
    s = smtplib.SMTP_SSL("127.0.0.1", smtp.tls_port, context=smtp.tls_context(), timeout=30)
    s.ehlo("laptop.test")
    assert not s.has_extn("starttls")
    s.login("bob@example.test", "bob-apop")  # smtplib prefers CRAM-MD5; its secret is the APOP one
    msg = b"Subject: over 465\r\n\r\n.dot\r\n"
    s.sendmail("bob@example.test", ["alice@example.test"], msg)
    s.quit()
    assert split_stored(smtp.inbox("alice@example.test", "alice-pw")[-1])[2].endswith(b"\r\n" + msg)

    # CRAM-MD5 on the plain submission port, by hand so the mechanism is certain.
    s = smtplib.SMTP("127.0.0.1", smtp.sub_port, timeout=30)
    s.ehlo("laptop.test")
    code, challenge = s.docmd("AUTH", "CRAM-MD5")
    assert code == 334
    digest = hmac.new(b"bob-apop", base64.b64decode(challenge), hashlib.md5).hexdigest()
    code, _ = s.docmd(base64.b64encode(f"bob@example.test {digest}".encode()).decode())
    assert code == 235
    s.quit()


def test_bare_postmaster_reaches_the_primary_domains_postmaster(smtp):
    """RFC 5321 §4.5.1: RCPT TO:<Postmaster> (no domain) must be accepted; it goes to
    postmaster@ the first domain added (example.test, an alias of alice's here), and the reply
    says the message was delivered, not queued."""
    a = smtp.loft.admin()
    a.call("alias.add", {"address": "postmaster@example.test", "targets": ["alice@example.test"]})
    before = len(smtp.inbox("alice@example.test", "alice-pw"))
    s = smtplib.SMTP("127.0.0.1", smtp.mx_port, timeout=30)
    s.ehlo("client.remote.test")
    assert s.mail("carol@remote.test")[0] == 250
    assert s.rcpt("Postmaster") == (250, b"2.1.5 Recipient OK")
    code, text = s.data(b"Subject: who runs this?\r\n\r\nhello\r\n")
    assert code == 250 and text.startswith(b"2.0.0 OK: delivered as "), text
    s.quit()
    inbox = smtp.inbox("alice@example.test", "alice-pw")
    assert len(inbox) == before + 1 and b"who runs this?" in inbox[-1]
    a.call("alias.remove", {"address": "postmaster@example.test"})
    a.close()


def test_every_rcpt_reply_code(smtp):
    a = smtp.rpc
    # full@ has a 4096-byte quota; fill half of it.
    r = a.deliver("x@remote.test", ["full@example.test"], b"Subject: filler\r\n\r\n" + b"x" * 2000 + b"\r\n")
    assert r["recipients"][0]["status"] == "delivered"
    s = smtplib.SMTP("127.0.0.1", smtp.mx_port, timeout=30)
    s.ehlo("client.remote.test")
    # 552 5.3.4 at MAIL: SIZE= over the server's limit (2M here).
    assert s.mail("carol@remote.test", ["SIZE=3000000"]) == (552, b"5.3.4 Message size exceeds fixed limit")
    assert s.mail("carol@remote.test", ["SIZE=3000"])[0] == 250
    assert s.rcpt("nobody@example.test") == (550, b"5.1.1 No such user")
    assert s.rcpt("someone@elsewhere.test") == (550, b"5.7.1 Relay access denied")  # never an open relay
    assert s.rcpt("full@example.test")[0:1] == (452,) and s.rcpt("full@example.test")[1].startswith(b"4.2.2")
    assert s.rcpt("small@example.test")[1].startswith(b"5.3.4") and s.rcpt("small@example.test")[0] == 552
    assert s.rcpt("alice@example.test")[0] == 250
    s.rset()
    assert s.mail("carol@remote.test", ["SIZE=5000"])[0] == 250
    code, text = s.rcpt("full@example.test")  # larger than the whole quota: never fits
    assert code == 552 and text.startswith(b"5.2.2")
    s.quit()


def test_commit_time_failures_are_per_recipient(smtp):
    # Without SIZE= the RCPT check cannot know the size; the quota is enforced at commit.
    big = b"Subject: too big for full\r\n\r\n" + b"y" * 3000 + b"\r\n"
    s = smtplib.SMTP("127.0.0.1", smtp.mx_port, timeout=30)
    s.ehlo("client.remote.test")
    assert s.mail("carol@remote.test")[0] == 250
    assert s.rcpt("full@example.test")[0] == 250
    assert s.rcpt("bob@example.test")[0] == 250
    assert s.data(big)[0] == 250  # bob got it; full's failure is the back-end's to report
    assert s.mail("carol@remote.test")[0] == 250
    assert s.rcpt("full@example.test")[0] == 250
    code, text = s.data(big)  # the only recipient failed: its reply is the message's
    assert code == 452 and text.startswith(b"4.2.2")
    s.quit()
    assert split_stored(smtp.inbox("bob@example.test", "bob-pw")[-1])[2] == big


def test_trusted_network_may_relay(tmp_path):
    server = SMTPServer(tmp_path, extra="  trusted_networks: [127.0.0.0/8]\n")
    try:
        s = smtplib.SMTP("127.0.0.1", server.mx_port, timeout=30)
        assert s.sendmail("app@example.test", ["someone@elsewhere.test"], b"Subject: out\r\n\r\nbody\r\n") == {}
        s.quit()
        a = server.loft.admin()
        queued = a.call("queue.list", {})
        a.close()
        assert any("someone@elsewhere.test" in str(entry) for entry in queued["entries"])
    finally:
        server.stop()


def test_cram_md5_can_be_left_unoffered(tmp_path):
    server = SMTPServer(tmp_path, extra="  offer_cram_md5: false\n")
    try:
        s = smtplib.SMTP_SSL("127.0.0.1", server.tls_port, timeout=30, context=ssl._create_unverified_context())
        s.ehlo("client.example")
        assert "CRAM-MD5" not in s.esmtp_features["auth"].split()
        assert s.docmd("AUTH", "CRAM-MD5")[0] == 504
        assert s.login("alice@example.test", "alice-pw")[0] == 235  # smtplib's own pick works
        s.quit()
    finally:
        server.stop()


def test_relay_refused_on_submission_without_auth(smtp):
    s = smtplib.SMTP("127.0.0.1", smtp.sub_port, timeout=30)
    s.ehlo("client.remote.test")
    assert s.mail("carol@remote.test")[0] == 530
    assert s.rcpt("someone@elsewhere.test")[0] == 503
    s.quit()


def test_backend_unavailable_is_451_and_recovers(smtp):
    s = smtplib.SMTP("127.0.0.1", smtp.mx_port, timeout=30)
    s.ehlo("client.remote.test")
    assert s.mail("carol@remote.test")[0] == 250
    os.kill(smtp.backend_pid(), signal.SIGKILL)
    code, text = s.rcpt("alice@example.test")
    assert (code, text) == (451, b"4.3.0 Local error in processing")
    deadline = time.time() + 30
    while True:
        code, _ = s.rcpt("alice@example.test")
        if code == 250 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert code == 250
    s.quit()


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed (Debian package swaks)")
def test_swaks_pipelining_and_starttls_auth(smtp, tmp_path):
    before = len(smtp.inbox("alice@example.test", "alice-pw"))
    message = tmp_path / "message.eml"
    message.write_bytes(DOTTY[:-2])  # swaks ends the data with CRLF "." CRLF itself
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(smtp.mx_port), "--ehlo", "swaks.test",
                        "--from", "carol@remote.test", "--to", "alice@example.test", "--pipeline",
                        "--data", str(message)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PIPELINING" in r.stdout and "250 2.0.0 OK: delivered as" in r.stdout
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(smtp.sub_port), "--ehlo", "swaks.test",
                        "--tls", "--auth", "PLAIN", "--auth-user", "alice@example.test", "--auth-password", "alice-pw",
                        "--from", "alice@example.test", "--to", "alice@example.test", "--pipeline",
                        "--data", str(message)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    stored = smtp.inbox("alice@example.test", "alice-pw")[before:]
    assert len(stored) == 2
    assert split_stored(stored[0])[2] == DOTTY
    assert b"with ESMTP id" in split_stored(stored[0])[1]
    assert b"with ESMTPSA id" in split_stored(stored[1])[1] and split_stored(stored[1])[2].endswith(DOTTY)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_sends_a_file(smtp, tmp_path):
    before = len(smtp.inbox("alice@example.test", "alice-pw"))
    message = tmp_path / "curl.eml"
    message.write_bytes(DOTTY)
    r = subprocess.run(["curl", "-sS", f"smtp://127.0.0.1:{smtp.mx_port}/curl.test", "--mail-from", "carol@remote.test",
                        "--mail-rcpt", "alice@example.test", "--upload-file", str(message)],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["curl", "-sS", f"smtp://127.0.0.1:{smtp.sub_port}/curl.test", "--ssl-reqd",
                        "--cacert", str(smtp.loft.data / "tls" / "cert.pem"), "--insecure",
                        # curl prefers CRAM-MD5, whose secret is the APOP one alice lacks: ask for PLAIN.
                        "--user", "alice@example.test:alice-pw", "--login-options", "AUTH=PLAIN",
                        "--mail-from", "alice@example.test",
                        "--mail-rcpt", "alice@example.test", "--upload-file", str(message)],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    stored = smtp.inbox("alice@example.test", "alice-pw")[before:]
    assert len(stored) == 2
    assert split_stored(stored[0])[2] == DOTTY
    assert split_stored(stored[1])[2].endswith(DOTTY)


def test_large_message_streams_byte_exact(smtp):
    before = len(smtp.inbox("alice@example.test", "alice-pw"))
    body = b"".join(b"line %d with some text to make the message longer than one chunk\r\n" % n for n in range(25000))
    msg = b"Subject: large\r\n\r\n" + body
    assert len(msg) > (1 << 20)
    s = smtplib.SMTP("127.0.0.1", smtp.mx_port, timeout=60)
    s.sendmail("carol@remote.test", ["alice@example.test"], msg)
    s.quit()
    stored = smtp.inbox("alice@example.test", "alice-pw")[before:]
    assert len(stored) == 1 and split_stored(stored[0])[2] == msg


def test_auth_throttling_is_454_with_the_delay(fresh):
    s = smtplib.SMTP_SSL("127.0.0.1", fresh.tls_port, context=fresh.tls_context(), timeout=30)
    s.ehlo("laptop.test")
    codes = []
    for _ in range(5):
        blob = base64.b64encode(b"\0alice@example.test\0wrong").decode()
        code, text = s.docmd("AUTH", "PLAIN " + blob)
        codes.append(code)
        if code == 454:
            assert text.startswith(b"4.7.0 Too many failed logins; try again in ")
            break
    assert codes[:3] == [535, 535, 535] and codes[-1] == 454
    s.quit()


def test_idle_timeout_and_error_limit(tmp_path):
    server = SMTPServer(tmp_path, extra="  idle_timeout_seconds: 2\n  max_errors: 3\n  max_connections_per_address: 2\n"
                                         "  max_recipients_per_message: 2\n")
    try:
        # Recipients per message (RFC 5321 §4.5.3.1.10: 452 asks for another transaction).
        c = smtplib.SMTP("127.0.0.1", server.mx_port, timeout=10)
        c.ehlo("client.test")
        c.mail("carol@remote.test")
        assert c.rcpt("alice@example.test")[0] == 250 and c.rcpt("bob@example.test")[0] == 250
        assert c.rcpt("alice@example.test")[:1] == (452,)
        # Connections per client address: the third is turned away.
        d = socket.create_connection(("127.0.0.1", server.mx_port), timeout=10)
        assert d.makefile("rb").readline().startswith(b"220")
        e = socket.create_connection(("127.0.0.1", server.mx_port), timeout=10)
        assert e.makefile("rb").readline().startswith(b"421 4.7.0")
        for sock in (d, e):
            sock.close()
        c.quit()
        time.sleep(0.3)
        s = socket.create_connection(("127.0.0.1", server.mx_port), timeout=10)
        f = s.makefile("rb")
        assert f.readline().startswith(b"220")
        s.sendall(b"BOGUS\r\nBOGUS\r\nBOGUS\r\n")
        replies = [f.readline() for _ in range(4)]
        assert replies[0].startswith(b"500") and replies[3].startswith(b"421 4.7.0")
        assert f.readline() == b""
        s.close()
        s = socket.create_connection(("127.0.0.1", server.mx_port), timeout=10)
        f = s.makefile("rb")
        assert f.readline().startswith(b"220")
        s.sendall(b"EHLO x\r\n" + b"A" * 600 + b"\r\n")
        line = f.readline()
        while line.startswith(b"250"):
            line = f.readline()
        assert line.startswith(b"500 5.5.6 Line too long")
        assert f.readline().startswith(b"421 4.4.2")  # after 2 s of silence
        s.close()
    finally:
        server.stop()


def test_killing_the_gateway_mid_message_delivers_nothing_and_it_comes_back(fresh):
    s = socket.create_connection(("127.0.0.1", fresh.mx_port), timeout=30)
    f = s.makefile("rb")
    assert f.readline().startswith(b"220")
    s.sendall(b"HELO client.test\r\nMAIL FROM:<carol@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
    assert [f.readline()[:3] for _ in range(4)] == [b"250", b"250", b"250", b"354"]
    s.sendall(b"Subject: half\r\n\r\n" + b"x" * (3 << 19) + b"\r\n")  # more than one upload chunk
    time.sleep(0.5)
    old = fresh.gateway_pid()
    os.kill(old, signal.SIGKILL)
    with pytest.raises((ConnectionError, OSError, AssertionError)):
        s.sendall(b"more\r\n.\r\n")
        assert f.readline() != b""
        raise ConnectionError("unreachable")
    s.close()
    deadline = time.time() + 30
    while fresh.gateway_pid() in (None, old) and time.time() < deadline:
        time.sleep(0.1)
    wait_for_port(fresh.mx_port)
    assert fresh.inbox("alice@example.test", "alice-pw") == []
    c = smtplib.SMTP("127.0.0.1", fresh.mx_port, timeout=30)
    c.sendmail("carol@remote.test", ["alice@example.test"], b"Subject: whole\r\n\r\nok\r\n")
    c.quit()
    stored = fresh.inbox("alice@example.test", "alice-pw")
    assert len(stored) == 1 and split_stored(stored[0])[2] == b"Subject: whole\r\n\r\nok\r\n"
