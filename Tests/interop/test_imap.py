"""IMAP end to end: `loft serve` with its IMAP gateway (and SMTP to deliver), driven by
Python's imaplib, a client nobody here wrote. Issue 9."""
import email
import imaplib
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import Loft, child_env, child_pid, eventually, free_port

NESTED = (b"From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@remote.test>\r\n"
          b"To: Alice <alice@example.test>, bob@example.test\r\n"
          b"Cc: undisclosed-recipients:;\r\n"
          b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
          b"Date: Tue, 01 Dec 2026 10:00:00 +0100\r\n"
          b"Message-ID: <nested-1@remote.test>\r\n"
          b"MIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
          b"\r\n"
          b"preamble\r\n"
          b"--outer\r\n"
          b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
          b"\r\n"
          b"--inner\r\n"
          b"Content-Type: text/plain; charset=utf-8\r\n"
          b"Content-Transfer-Encoding: quoted-printable\r\n"
          b"\r\n"
          b"Gr=C3=BC=C3=9Fe, two lines\r\nsecond line\r\n"
          b"--inner\r\n"
          b"Content-Type: text/html; charset=utf-8\r\n"
          b"\r\n"
          b"<p>Gr\xc3\xbc\xc3\x9fe</p>\r\n"
          b"--inner--\r\n"
          b"--outer\r\n"
          b"Content-Type: application/pdf; name=\"report.pdf\"\r\n"
          b"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
          b"Content-Transfer-Encoding: base64\r\n"
          b"\r\n"
          b"JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\r\n"
          b"--outer\r\n"
          b"Content-Type: message/rfc822\r\n"
          b"\r\n"
          b"From: inner@remote.test\r\n"
          b"Subject: forwarded\r\n"
          b"\r\n"
          b"inner body\r\n"
          b"--outer--\r\n")


def simple(subject, body="hello\r\n", sender="carol@remote.test"):
    return (f"From: {sender}\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n{body}").encode()


def wait_for_port(port, timeout=30, greeting=b"* OK"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if greeting is None or s.recv(512).startswith(greeting):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing answers on port {port}")


class IMAPServer:
    """`loft serve` with IMAP (STARTTLS and implicit TLS) and SMTP on free loopback ports."""

    def __init__(self, tmp_path, imap_extra="", gateways="[imap, smtp]", top_extra=""):
        self.port, self.tls_port, self.mx_port = free_port(), free_port(), free_port()
        self.config = tmp_path / "loft.yaml"
        self.config.write_text(
            top_extra + f"serve:\n  gateways: {gateways}\n"
            "imap:\n" + imap_extra + "  listeners:\n"
            f"    - {{address: 127.0.0.1, port: {self.port}, tls: starttls}}\n"
            f"    - {{address: 127.0.0.1, port: {self.tls_port}, tls: implicit}}\n"
            "smtp:\n  listeners:\n"
            f"    - {{address: 127.0.0.1, port: {self.mx_port}, tls: starttls, mode: mx}}\n")
        env = child_env()
        env.pop("LOFT_IMAP_LISTENERS", None)
        env.pop("LOFT_SMTP_LISTENERS", None)
        self.loft = Loft(tmp_path / "data", extra_args=("--config", str(self.config)), env=env)
        wait_for_port(self.port)
        wait_for_port(self.tls_port, greeting=None)
        if "smtp" in gateways:
            wait_for_port(self.mx_port, greeting=b"220")
        a = self.loft.admin()
        a.call("domain.add", {"name": "example.test"})
        a.call("account.add", {"address": "alice@example.test", "password": "alice-pw"})
        a.call("account.add", {"address": "bob@example.test", "password": "bob-pw"})
        a.call("account.add", {"address": "fixed@example.test", "password": "fixed-pw", "mayManageMailboxes": False})
        a.call("account.add", {"address": "small@example.test", "password": "small-pw", "quotaBytes": 2000,
                               "maxMessageBytes": 1500})
        a.close()

    def deliver(self, data, to="alice@example.test", sender="carol@remote.test"):
        with smtplib.SMTP("127.0.0.1", self.mx_port, timeout=30) as s:
            s.sendmail(sender, [to], data)

    def client(self, user="alice@example.test", password="alice-pw"):
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        c.login(user, password)
        return c

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=str(self.loft.data / "tls" / "cert.pem"))
        ctx.check_hostname = False
        return ctx

    def gateway_pid(self):
        return child_pid(self.loft, "imap")

    def stop(self):
        self.loft.stop()


class RawIMAP:
    """A bare line-by-line IMAP client, for what imaplib cannot do (IDLE, reading untagged
    responses as they come)."""

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rwb")
        self.f.readline()

    def send(self, line):
        self.f.write(line + b"\r\n")
        self.f.flush()

    def readline(self):
        return self.f.readline()

    def until(self, prefix):
        """Reads lines up to the first that starts with `prefix`; returns them all."""
        lines = []
        while True:
            line = self.f.readline()
            assert line, "the connection closed"
            lines.append(line)
            if line.startswith(prefix):
                return lines

    def run(self, tag, command):
        """Sends `tag command`; the lines up to and including the tagged one, decoded, without CRLF."""
        self.send(tag + b" " + command)
        return [line.rstrip(b"\r\n").decode() for line in self.until(tag + b" ")]

    def close(self):
        self.sock.close()


@pytest.fixture
def imap(tmp_path):
    server = IMAPServer(tmp_path)
    yield server
    server.stop()


def ok(response):
    typ, data = response
    assert typ == "OK", data
    return data


def untagged(c, name):
    return c.untagged_responses.pop(name, [])


def test_capability_login_and_logout(imap):
    c = imaplib.IMAP4("127.0.0.1", imap.port)
    caps = c.capabilities
    assert "IMAP4REV1" in caps and "STARTTLS" in caps and "AUTH=PLAIN" in caps
    # Loopback may log in without TLS by default, so LOGINDISABLED is not advertised.
    assert "LOGINDISABLED" not in caps
    with pytest.raises(imaplib.IMAP4.error):
        c.login("alice@example.test", "wrong")
    ok(c.login("alice@example.test", "alice-pw"))
    assert c.state == "AUTH"
    ok(c.noop())
    typ, _ = c.logout()
    assert typ == "BYE"


def test_starttls_and_imaps_with_logindisabled_before_tls(tmp_path):
    server = IMAPServer(tmp_path, imap_extra="  allow_plaintext_on_loopback: false\n", gateways="[imap]")
    try:
        c = imaplib.IMAP4("127.0.0.1", server.port)
        assert "LOGINDISABLED" in c.capabilities and "AUTH=PLAIN" not in c.capabilities
        typ, data = c._simple_command("LOGIN", "alice@example.test", "alice-pw")
        assert typ == "NO" and b"PRIVACYREQUIRED" in data[0]
        ok(c.starttls(ssl_context=server.tls_context()))
        assert "LOGINDISABLED" not in c.capabilities and "STARTTLS" not in c.capabilities
        ok(c.login("alice@example.test", "alice-pw"))
        c.logout()
        s = imaplib.IMAP4_SSL("127.0.0.1", server.tls_port, ssl_context=server.tls_context())
        ok(s.authenticate("PLAIN", lambda _: b"\0alice@example.test\0alice-pw"))
        ok(s.select("INBOX"))
        s.logout()
    finally:
        server.stop()


def test_mailboxes_list_create_rename_delete_subscribe_status(imap):
    c = imap.client()
    ok(c.create("Work/Projects/2026"))
    ok(c.create("&ZeVnLIqe-"))  # 日本語 in modified UTF-7 (RFC 3501 §5.1.3)
    names = [line.decode() for line in ok(c.list())]
    assert any(n.endswith('"/" "Work"') and "\\HasChildren" in n for n in names)
    assert any(n.endswith('"/" "Work/Projects/2026"') for n in names)
    assert any(n.endswith('"&ZeVnLIqe-"') for n in names)
    top = [line.decode() for line in ok(c.list('""', "%"))]
    assert not any("Projects" in n for n in top)
    assert any('"Work"' in n for n in top) and any("INBOX" in n for n in top)
    ok(c.rename("Work/Projects", "Done"))
    names = b"\n".join(ok(c.list())).decode()
    assert '"Done/2026"' in names and "Work/Projects" not in names
    ok(c.subscribe("Done/2026"))
    ok(c.subscribe("Not/There/Yet"))  # RFC 3501 §6.3.6: a name need not exist
    lsub = b"\n".join(ok(c.lsub())).decode()
    assert '"Done/2026"' in lsub and '"Not/There/Yet"' in lsub
    ok(c.delete("Done/2026"))
    assert '"Done/2026"' in b"\n".join(ok(c.lsub())).decode()  # subscriptions outlive DELETE
    typ, data = c.delete("INBOX")
    assert typ == "NO"
    typ, data = c.create("Work")
    assert typ == "NO" and b"ALREADYEXISTS" in data[0]
    imap.deliver(simple("one"))
    status = ok(c.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY RECENT)"))[0].decode()
    assert re.search(r"MESSAGES 1\b", status) and re.search(r"UNSEEN 1\b", status) and "UIDNEXT 2" in status
    typ, data = c.select("Nowhere")
    assert typ == "NO"
    c.logout()


def test_no_mailbox_management_without_the_permission(imap):
    c = imap.client("fixed@example.test", "fixed-pw")
    for command in (lambda: c.create("X"), lambda: c.rename("INBOX", "Y"), lambda: c.delete("Trash")):
        typ, data = command()
        assert typ == "NO" and b"NOPERM" in data[0]
    other = imap.client()
    ok(other.create("Allowed"))
    other.logout()
    c.logout()


def test_append_fetch_sections_envelope_and_bodystructure(imap):
    c = imap.client()
    typ, data = c.append("INBOX", "(\\Flagged $Work)", imaplib.Time2Internaldate(1764583200), NESTED)
    assert typ == "OK" and b"APPENDUID" in data[0]
    validity, uid = re.search(rb"APPENDUID (\d+) (\d+)", data[0]).groups()
    typ, data = c.select("INBOX")
    assert data == [b"1"]
    data = ok(c.fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"))
    head = data[0] if isinstance(data[0], bytes) else data[0][0]
    text = b"".join(part if isinstance(part, bytes) else b"".join(part) for part in data).decode("utf-8", "replace")
    assert f"UID {uid.decode()}" in text
    assert "\\Flagged" in text and "$Work" in text
    assert f"RFC822.SIZE {len(NESTED)}" in text
    assert '"01-Dec-2025 10:00:00 +0000"' in text or "INTERNALDATE" in text
    # ENVELOPE carries the raw (encoded) strings, addresses split (RFC 3501 §7.4.2).
    assert '"=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?="' in text
    assert '("=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?=" NIL "juergen" "remote.test")' in text
    assert '"<nested-1@remote.test>"' in text
    # BODYSTRUCTURE: mixed(alternative(plain, html), pdf attachment, message/rfc822).
    assert '"ALTERNATIVE"' in text and '"MIXED"' in text
    # §9 body-type-mpart = 1*body SP media-subtype: the parts follow each other with no space.
    assert re.search(r'\)\("TEXT" "HTML"', text) and ') "ALTERNATIVE"' in text and ')) "ALTERNATIVE"' not in text
    assert '("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE"' in text
    assert '("ATTACHMENT" ("FILENAME" "report.pdf"))' in text
    assert '"MESSAGE" "RFC822"' in text
    assert head
    # Every part byte-exact.
    whole = ok(c.fetch("1", "(BODY.PEEK[])"))[0][1]
    assert whole == NESTED
    parsed = email.message_from_bytes(NESTED)
    plain = ok(c.fetch("1", "(BODY.PEEK[1.1])"))[0][1]
    assert plain == b"Gr=C3=BC=C3=9Fe, two lines\r\nsecond line"
    html = ok(c.fetch("1", "(BODY.PEEK[1.2])"))[0][1]
    assert html == b"<p>Gr\xc3\xbc\xc3\x9fe</p>"
    pdf_mime = ok(c.fetch("1", "(BODY.PEEK[2.MIME])"))[0][1]
    assert pdf_mime.startswith(b"Content-Type: application/pdf") and pdf_mime.endswith(b"\r\n\r\n")
    inner = ok(c.fetch("1", "(BODY.PEEK[3.HEADER])"))[0][1]
    assert inner == b"From: inner@remote.test\r\nSubject: forwarded\r\n\r\n"
    inner_text = ok(c.fetch("1", "(BODY.PEEK[3.TEXT])"))[0][1]
    assert inner_text == b"inner body"  # the CRLF before the boundary is the delimiter's (RFC 2046 §5.1.1)
    fields = ok(c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT message-id)])"))[0][1]
    assert fields == (b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\nMessage-ID: <nested-1@remote.test>\r\n\r\n")
    not_fields = ok(c.fetch("1", "(BODY.PEEK[HEADER.FIELDS.NOT (Content-Type From To Cc Subject Date Message-ID)])"))[0][1]
    assert not_fields == b"MIME-Version: 1.0\r\n\r\n"
    partial = ok(c.fetch("1", "(BODY.PEEK[]<6.10>)"))[0]
    assert b"BODY[]<6>" in partial[0] and partial[1] == NESTED[6:16]
    assert parsed is not None
    # Not PEEK: \Seen is set and reported.
    data = ok(c.fetch("1", "(BODY[TEXT])"))
    assert b"\\Seen" in b"".join(x if isinstance(x, bytes) else x[0] for x in data)
    assert b"\\Seen" in ok(c.fetch("1", "(FLAGS)"))[0]
    c.logout()


def test_store_copy_search_expunge_and_uid_forms(imap):
    for n in range(1, 6):
        imap.deliver(simple(f"message {n}", body=f"body number {n} {'needle' if n == 3 else ''}\r\n"))
    c = imap.client()
    ok(c.select("INBOX"))
    data = ok(c.store("2:3", "+FLAGS", "(\\Deleted)"))
    assert len(data) == 2 and b"\\Deleted" in data[0]
    ok(c.store("1", "+FLAGS.SILENT", "(\\Seen)"))
    assert ok(c.search(None, "SEEN")) == [b"1"]
    assert ok(c.search(None, "UNSEEN", "NOT", "DELETED")) == [b"4 5"]
    assert ok(c.search(None, "OR", "SUBJECT", "\"message 5\"", "SUBJECT", "\"message 1\"")) == [b"1 5"]
    assert ok(c.search(None, "BODY", "needle")) == [b"3"]
    assert ok(c.search(None, "BODY", "nothing-like-this")) == [b""]
    assert ok(c.search("UTF-8", "SUBJECT", "message")) == [b"1 2 3 4 5"]
    typ, data = c.search("KOI8-R", "SUBJECT", "x")
    assert typ == "NO" and b"BADCHARSET" in data[0]
    assert ok(c.uid("SEARCH", "UID", "2:*")) == [b"2 3 4 5"]
    ok(c.create("Saved"))
    typ, data = c.copy("4:5", "Saved")
    assert typ == "OK" and b"COPYUID" in data[0]
    typ, data = c.copy("1", "Missing")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    data = ok(c.expunge())
    assert data == [b"2", b"2"]  # 2 and 3: the second is numbered after the first is gone
    assert ok(c.search(None, "ALL")) == [b"1 2 3"]
    data = ok(c.uid("FETCH", "1:*", "(FLAGS)"))
    assert [re.search(rb"UID (\d+)", d).group(1) for d in data] == [b"1", b"4", b"5"]
    ok(c.uid("STORE", "4", "-FLAGS", "(\\Seen)"))
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        c.fetch("9", "(FLAGS)")
    ok(c.select("Saved", readonly=True))
    typ, data = c.store("1", "+FLAGS", "(\\Seen)")
    assert typ == "NO"
    ok(c.close())
    assert c.state == "AUTH"
    c.logout()


def test_uid_store_and_copy_of_ten_thousand_ranges(imap):
    g = imap.loft.gateway()
    s = g.call("auth.login", {"username": "alice@example.test", "password": "alice-pw", "clientAddress": "127.0.0.1",
                              "service": "test"})["session"]
    for _ in range(40):
        upload = g.call("message.append", {"session": s, "mailbox": "INBOX"})["upload"]
        import base64
        g.call("upload.append", {"upload": upload, "data": base64.b64encode(simple("x")).decode()})
        g.call("upload.commit", {"upload": upload})
    g.close()
    c = imap.client()
    ok(c.select("INBOX"))
    # 10,000 ranges, mostly naming UIDs that do not exist (ignored, RFC 3501 §6.4.8).
    ranges = ",".join(f"{n * 2 + 1}" for n in range(10_000))
    ok(c.uid("STORE", ranges, "+FLAGS.SILENT", "(\\Flagged)"))
    assert ok(c.search(None, "FLAGGED")) == [b" ".join(str(n).encode() for n in range(1, 41, 2))]
    ok(c.create("Odd"))
    typ, data = c.uid("COPY", ranges, "Odd")
    assert typ == "OK"
    assert ok(c.status("Odd", "(MESSAGES)"))[0].endswith(b"(MESSAGES 20)")
    c.logout()


def test_two_sessions_see_each_others_changes(imap):
    imap.deliver(simple("first"))
    imap.deliver(simple("second"))
    a = imap.client()
    b = imap.client()
    ok(a.select("INBOX"))
    ok(b.select("INBOX"))
    ok(a.store("1", "+FLAGS", "(\\Answered)"))
    imap.deliver(simple("third"))

    def b_saw():
        ok(b.noop())
        return b.untagged_responses.get("EXISTS") and b.untagged_responses.get("FETCH")

    eventually(b_saw, what="the other session's FETCH and EXISTS")
    assert b.untagged_responses["EXISTS"][-1] == b"3"
    assert any(b"\\Answered" in f for f in b.untagged_responses["FETCH"])
    b.untagged_responses.clear()
    ok(a.store("2", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(a.expunge())

    def b_expunged():
        ok(b.noop())
        return b.untagged_responses.get("EXPUNGE")

    assert eventually(b_expunged, what="the EXPUNGE") == [b"2"]
    assert ok(b.search(None, "ALL")) == [b"1 2"]
    a.logout()
    b.logout()


def test_fetch_of_many_whole_messages_larger_than_one_read(imap):
    """FETCH BODY[] of 150 messages of 100-300 KB: the gateway reads their first bytes 64 at a time
    with the next read in flight, answers of at most 1 MiB that leave some messages out (then read
    one by one); every body comes back byte-exact, in order, including after an expunge."""
    c = imap.client("alice@example.test", "alice-pw")
    ok(c.create("Big"))
    bodies = []
    for n in range(150):
        line = f"message {n} ".encode() * 7
        body = simple(f"big {n}", body=(line + b"\r\n") * (1500 + 1500 * (n % 3)))
        ok(c.append("Big", None, None, body))
        bodies.append(body)
    ok(c.select("Big"))
    ok(c.store("3:70", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c.expunge())
    kept = bodies[:2] + bodies[70:]
    data = ok(c.fetch("1:*", "(BODY.PEEK[])"))
    got = [part[1] for part in data if isinstance(part, tuple)]
    assert len(got) == len(kept) and got == kept
    c.logout()


def test_append_limits_and_quota(imap):
    c = imap.client("small@example.test", "small-pw")
    typ, data = c.append("INBOX", None, None, b"x" * 1600)
    assert typ == "NO" and b"TOOBIG" in data[0]
    ok(c.append("INBOX", None, None, simple("fits", body="y" * 1000 + "\r\n")))
    typ, data = c.append("INBOX", None, None, simple("over", body="z" * 1000 + "\r\n"))
    assert typ == "NO" and b"OVERQUOTA" in data[0]
    typ, data = c.append("Missing", None, None, simple("where"))
    assert typ == "NO" and b"TRYCREATE" in data[0]
    # RFC 9208 §4.3.1: COPY that would go over the quota is NO [OVERQUOTA] and copies nothing.
    ok(c.select("INBOX"))
    typ, data = c.copy("1", "Archive")
    assert typ == "NO" and b"OVERQUOTA" in data[0]
    assert ok(c.status("Archive", "(MESSAGES)"))[0].endswith(b"(MESSAGES 0)")
    # MOVE frees as much as it adds: the quota is the account's.
    imaplib.Commands.setdefault("MOVE", ("SELECTED",))
    typ, data = c._simple_command("MOVE", "1", "Archive")
    assert typ == "OK"
    c.logout()


def test_quota_getquotaroot_and_status_deleted(imap):
    """RFC 9208 through imapclient and imaplib: one quota root "" per account, STORAGE in units
    of 1024 octets, the DELETED and DELETED-STORAGE status items."""
    from imapclient import IMAPClient

    assert {"QUOTA", "QUOTA=RES-STORAGE"} <= set(imap.client().capabilities)
    small = IMAPClient("127.0.0.1", port=imap.port, ssl=False)
    small.login("small@example.test", "small-pw")
    small.append("INBOX", simple("fits", body="y" * 1000 + "\r\n"))
    roots, quotas = small.get_quota_root("INBOX")
    assert roots.mailbox == "INBOX" and roots.quota_roots == [""]
    assert [(q.quota_root, q.resource, q.usage, q.limit) for q in quotas] == [("", "STORAGE", 1, 1)]
    assert [(q.resource, q.limit) for q in small.get_quota("Archive")] == [("STORAGE", 1)]
    assert small.get_quota_root("Not/yet/made")[0].quota_roots == [""], "§4.1.2: the mailbox need not exist"
    small.logout()
    c = imap.client()
    for n in range(3):
        imap.deliver(simple(f"d{n}", body="z" * 3000 + "\r\n"))
    ok(c.select("INBOX"))
    ok(c.store("1:2", "+FLAGS.SILENT", "(\\Deleted)"))
    sizes = [int(x) for x in re.findall(rb"RFC822.SIZE (\d+)", b" ".join(ok(c.fetch("1:2", "(RFC822.SIZE)"))))]
    status = ok(c.status("INBOX", "(MESSAGES DELETED DELETED-STORAGE)"))[0].decode()
    assert status.endswith(f"(MESSAGES 3 DELETED 2 DELETED-STORAGE {sum(sizes) // 1024})"), status
    assert ok(c.status("Sent", "(DELETED DELETED-STORAGE)"))[0].endswith(b"(DELETED 0 DELETED-STORAGE 0)")
    # An account without a limit has a root with no resources (§4.2.1: an empty list).
    typ, data = c._simple_command("GETQUOTAROOT", "INBOX")
    assert typ == "OK" and c.untagged_responses.pop("QUOTAROOT") == [b'INBOX ""']
    assert c.untagged_responses.pop("QUOTA") == [b'"" ()']
    typ, data = c._simple_command("GETQUOTA", '"#user/alice"')
    assert typ == "NO" and b"NONEXISTENT" in data[0]
    c.logout()


def test_killed_gateway_restarts_and_nothing_is_lost(imap):
    imap.deliver(simple("kept"))
    c = imap.client()
    ok(c.select("INBOX"))
    ok(c.store("1", "+FLAGS", "(\\Flagged)"))
    before = ok(c.uid("FETCH", "1:*", "(FLAGS)"))
    pid = imap.gateway_pid()
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: imap.gateway_pid() not in (None, pid), timeout=30, what="a new IMAP gateway")
    wait_for_port(imap.port)
    again = imap.client()
    ok(again.select("INBOX"))
    # The same UIDs and flags; \Recent belonged to the first session only (RFC 3501 §2.3.2).
    assert ok(again.uid("FETCH", "1:*", "(FLAGS)")) == [b.replace(b" \\Recent", b"") for b in before]
    again.logout()


def test_bad_input_gets_bad_and_the_connection_survives(imap):
    s = socket.create_connection(("127.0.0.1", imap.port), timeout=10)
    f = s.makefile("rwb")
    f.readline()

    def send(line):
        f.write(line + b"\r\n")
        f.flush()
        return f.readline()

    assert send(b"a1 FROB") .startswith(b"a1 BAD")
    assert send(b"a2 LOGIN") .startswith(b"a2 BAD")
    assert send(b"a3 SELECT INBOX").startswith(b"a3 BAD")  # not logged in
    assert send(b"\x00\x01\x02").startswith(b"* BAD")
    # A literal over the limit is refused before the client sends it.
    assert send(b"a4 LOGIN {999999999}").startswith(b"a4 BAD")
    assert send(b"a5 CAPABILITY").startswith(b"* CAPABILITY")
    s.close()


def backend_pid(loft):
    return child_pid(loft, "backend")


def test_a_second_gateway_and_a_backend_restart(imap, tmp_path):
    """Two IMAP gateway processes on one back-end serve one mailbox consistently; after the
    back-end restarts, selected sessions resynchronise by themselves (issue 9 §6, §7)."""
    from conftest import STARTED, loft_bin
    port = free_port()
    log = open(tmp_path / "second-imap.log", "ab")
    second = subprocess.Popen([loft_bin(), "imap", "--data", str(imap.loft.data), "--listen", f"127.0.0.1:{port}/none"],
                              stdout=log, stderr=subprocess.STDOUT, env=child_env())
    STARTED.append(second)
    try:
        wait_for_port(port)
        imap.deliver(simple("shared"))
        a = imap.client()
        b = imaplib.IMAP4("127.0.0.1", port, timeout=30)
        b.login("alice@example.test", "alice-pw")
        ok(a.select("INBOX"))
        ok(b.select("INBOX"))
        ok(a.store("1", "+FLAGS", "(\\Flagged)"))

        def b_saw_flag():
            ok(b.noop())
            return any(b"\\Flagged" in f for f in b.untagged_responses.get("FETCH", []))

        eventually(b_saw_flag, what="the flag set through the other gateway")
        b.untagged_responses.clear()

        old = backend_pid(imap.loft)
        os.kill(old, signal.SIGKILL)
        eventually(lambda: backend_pid(imap.loft) not in (None, old), timeout=30, what="a new back-end")
        wait_for_port(imap.mx_port, greeting=b"220")

        def delivered():
            try:
                imap.deliver(simple("after the restart"))
                return True
            except (smtplib.SMTPException, OSError):
                return False

        eventually(delivered, timeout=30, what="a delivery after the restart")

        def b_saw_new_mail():
            typ, _ = b.noop()
            return typ == "OK" and b.untagged_responses.get("EXISTS", [None])[-1] == b"2"

        eventually(b_saw_new_mail, timeout=30, what="the new message after the back-end restart")
        assert ok(b.uid("SEARCH", "ALL")) == [b"1 2"]
        assert ok(a.uid("FETCH", "2", "(UID)"))  # the first gateway's session carries on too
        a.logout()
        b.logout()
    finally:
        second.terminate()
        second.wait(20)
        log.close()


def test_idle_reports_new_mail_flags_and_expunges_as_they_happen(imap):
    """RFC 2177 through the back-end's events: another session's changes and an SMTP
    delivery reach an idling client within a second, without it sending anything."""
    imap.deliver(simple("before"))
    idler = RawIMAP(imap.port, timeout=10)
    send, until, f = idler.send, idler.until, idler
    send(b"a LOGIN alice@example.test alice-pw")
    until(b"a OK")
    send(b"b SELECT INBOX")
    until(b"b OK")
    send(b"c IDLE")
    assert f.readline().startswith(b"+ ")
    start = time.time()
    imap.deliver(simple("while idling"))
    assert until(b"* 2 EXISTS")[-1] == b"* 2 EXISTS\r\n"
    assert time.time() - start < 5
    other = imap.client()
    ok(other.select("INBOX"))
    ok(other.store("1", "+FLAGS", "(\\Flagged)"))
    assert b"\\Flagged" in until(b"* 1 FETCH")[-1]
    ok(other.store("1", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(other.expunge())
    assert until(b"* 1 EXPUNGE")
    send(b"DONE")
    assert until(b"c ")[-1].startswith(b"c OK")
    send(b"d IDLE")
    assert f.readline().startswith(b"+ ")
    send(b"NOT-DONE")
    assert until(b"d ")[-1].startswith(b"d BAD")
    other.logout()
    idler.close()


def test_extensions_uidplus_move_unselect_namespace_id(imap):
    # imaplib knows these commands' names only from RFC 3501; teach it the extensions'.
    imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
    imaplib.Commands.setdefault("MOVE", ("SELECTED",))
    imaplib.Commands.setdefault("UNSELECT", ("SELECTED",))
    for n in range(3):
        imap.deliver(simple(f"m{n}"))
    c = imap.client()
    assert {"UIDPLUS", "MOVE", "UNSELECT", "NAMESPACE", "ID", "IDLE"} <= set(c.capabilities)
    typ, data = c._simple_command("ID", '("name" "imaplib")')
    assert typ == "OK" and b'"Loft"' in c.untagged_responses.pop("ID")[0]
    typ, data = c.namespace()
    assert typ == "OK" and data == [b'(("" "/")) NIL NIL']
    ok(c.create("Moved"))
    ok(c.select("INBOX"))
    typ, data = c._simple_command("MOVE", "1", "Moved")
    assert typ == "OK"
    assert c.untagged_responses.pop("EXPUNGE") == [b"1"]
    assert any(b"COPYUID" in line for line in c.untagged_responses.pop("OK", []))
    ok(c.store("1:2", "+FLAGS.SILENT", "(\\Deleted)"))
    typ, data = c.uid("EXPUNGE", "3")  # only UID 3, though UID 2 is \Deleted too
    assert typ == "OK"
    assert ok(c.uid("SEARCH", "ALL")) == [b"2"]
    typ, _ = c._simple_command("UNSELECT")
    assert typ == "OK"
    assert ok(c.status("INBOX", "(MESSAGES)"))[0].endswith(b"(MESSAGES 1)")  # UNSELECT expunged nothing
    c.logout()


def test_idle_carries_on_across_a_backend_restart(imap):
    """An IDLE outlives the back-end: the gateway's subscription is made again by itself, the
    session resynchronises, and mail delivered after the restart reaches the idler."""
    imap.deliver(simple("before"))
    idler = RawIMAP(imap.port)
    send, f = idler.send, idler

    def until(prefix):
        return idler.until(prefix)[-1]

    send(b"a LOGIN alice@example.test alice-pw")
    until(b"a OK")
    send(b"b SELECT INBOX")
    until(b"b OK")
    send(b"c IDLE")
    assert f.readline().startswith(b"+ ")
    old = backend_pid(imap.loft)
    os.kill(old, signal.SIGKILL)
    eventually(lambda: backend_pid(imap.loft) not in (None, old), timeout=30, what="a new back-end")

    def delivered():
        try:
            imap.deliver(simple("after the restart"))
            return True
        except (smtplib.SMTPException, OSError):
            return False

    eventually(delivered, timeout=30, what="a delivery after the restart")
    assert until(b"* 2 EXISTS") == b"* 2 EXISTS\r\n"
    send(b"DONE")
    assert until(b"c ").startswith(b"c OK")
    idler.close()


def test_special_use_mailboxes_and_extended_list(imap):
    """RFC 6154, RFC 5258 and RFC 5819 on the wire: every account has its special-use
    mailboxes; LIST's selection and return options, several patterns, \\NonExistent and
    CHILDINFO; CREATE with USE."""
    caps = set(imap.client().capabilities)
    assert {"LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE"} <= caps
    imap.deliver(simple("unread"))
    raw = RawIMAP(imap.port)

    def run(tag, command):
        lines = raw.run(tag, command)
        return lines[:-1], lines[-1] + "\r\n"

    assert run(b"a", b"LOGIN alice@example.test alice-pw")[1].startswith("a OK")
    lines, done = run(b"b", b'LIST (SPECIAL-USE) "" "*"')
    assert done.startswith("b OK")
    assert lines == [
        '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
    ]
    # RFC 5819: a STATUS after each selectable mailbox, from one back-end call.
    run(b"c", b"CREATE Lists/Swift")
    run(b"d", b"DELETE Lists")  # \Noselect: listed, but no STATUS
    lines, done = run(b"e", b'LIST "" ("INBOX" "Lists" "Sent") RETURN (STATUS (MESSAGES UNSEEN) CHILDREN)')
    assert done.startswith("e OK")
    assert lines == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        "* STATUS INBOX (MESSAGES 1 UNSEEN 1)",
        '* LIST (\\Noselect \\HasChildren) "/" "Lists"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* STATUS "Sent" (MESSAGES 0 UNSEEN 0)',
    ]
    # RFC 5258 §3.1: SUBSCRIBED lists subscribed names, existing or not; RECURSIVEMATCH
    # names a parent whose child is subscribed (§3.5), with CHILDINFO.
    run(b"f", b"SUBSCRIBE Gone/Away")
    run(b"g", b"UNSUBSCRIBE Lists")
    lines, done = run(b"h", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    assert done.startswith("h OK")
    assert '* LIST (\\NonExistent \\HasNoChildren) "/" "Gone" ("CHILDINFO" ("SUBSCRIBED"))' in lines
    assert '* LIST (\\Noselect \\HasChildren) "/" "Lists" ("CHILDINFO" ("SUBSCRIBED"))' in lines
    assert '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX' in lines
    lines, _ = run(b"i", b'LIST (SUBSCRIBED) "" "*"')
    assert '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Gone/Away"' in lines
    assert not any('"Lists"' in line for line in lines) and not any('"Gone"' in line for line in lines)
    lines, _ = run(b"j", b'LIST "" "*" RETURN (SUBSCRIBED)')
    assert '* LIST (\\Noselect \\HasChildren) "/" "Lists"' in lines, "unsubscribed, so no \\Subscribed"
    assert '* LIST (\\HasNoChildren \\Subscribed) "/" "Lists/Swift"' in lines
    # §3: in an extended LIST, "" matches nothing; unknown options and a lone RECURSIVEMATCH are BAD.
    assert run(b"k", b'LIST "" "" RETURN ()') == ([], "k OK LIST completed\r\n")
    assert run(b"l", b'LIST (RECURSIVEMATCH) "" "*"')[1].startswith("l BAD")
    assert run(b"m", b'LIST (FROB) "" "*"')[1].startswith("m BAD")
    # RFC 6154 §3: CREATE with USE; an unsupported use is NO [USEATTR] and makes nothing.
    assert run(b"n", b"CREATE Outbox (USE (\\Drafts \\Sent))")[1].startswith("n OK")
    assert run(b"o", b'LIST "" Outbox')[0] == ['* LIST (\\HasNoChildren \\Drafts \\Sent) "/" "Outbox"']
    assert run(b"p", b"CREATE Everything (USE (\\All))")[1].startswith("p NO [USEATTR]")
    assert run(b"q", b'LIST "" Everything')[0] == []
    raw.close()



def test_literal_minus_when_configured(tmp_path):
    """RFC 7888 §5: with imap.literal_minus, LITERAL- is advertised instead of LITERAL+; a
    non-synchronizing literal of 4096 octets works, one of 4097 is BAD [TOOBIG] and the
    connection carries on; imaplib's APPEND (synchronizing) of a larger message works."""
    server = IMAPServer(tmp_path, imap_extra="  literal_minus: true\n", gateways="[imap]")
    try:
        c = imaplib.IMAP4("127.0.0.1", server.port)
        assert "LITERAL-" in c.capabilities and "LITERAL+" not in c.capabilities
        ok(c.login("alice@example.test", "alice-pw"))
        ok(c.append("INBOX", None, None, simple("big", body="b" * 20000 + "\r\n")))
        c.logout()
        raw = RawIMAP(server.port)
        raw.send(b"a LOGIN alice@example.test alice-pw")
        raw.until(b"a OK")
        raw.send(b"b SELECT INBOX")
        raw.until(b"b OK")
        raw.send(b"c SEARCH CHARSET UTF-8 BODY {4096+}\r\n" + b"q" * 4096)
        assert raw.until(b"c ")[-1].startswith(b"c OK")
        raw.send(b"d SEARCH CHARSET UTF-8 BODY {4097+}\r\n" + b"q" * 4097)
        assert raw.until(b"d ")[-1].startswith(b"d BAD [TOOBIG]")
        raw.send(b"e APPEND INBOX {5000+}\r\n" + b"x" * 5000)
        assert raw.until(b"e ")[-1].startswith(b"e BAD [TOOBIG]")
        raw.send(b"f SEARCH BODY bbbb")
        assert raw.until(b"f ")[-2:] == [b"* SEARCH 1\r\n", b"f OK SEARCH completed\r\n"]
        raw.close()
    finally:
        server.stop()


def test_condstore_and_qresync_resynchronise_after_offline_changes(imap):
    """RFC 7162: a QRESYNC client comes back after another session flagged a message,
    expunged one and moved one out, and gets exactly those changes: VANISHED (EARLIER) with
    the two UIDs gone and one FETCH with the new flags and MODSEQ. Then CHANGEDSINCE,
    UNCHANGEDSINCE with MODIFIED, SEARCH MODSEQ and VANISHED for an expunge while selected."""
    from imapclient import IMAPClient

    for n in range(6):
        imap.deliver(simple(f"q{n}"))
    raw = RawIMAP(imap.port)

    def run(tag, command):
        return raw.run(tag, command)  # raw is a new connection later on

    assert "CONDSTORE" in imap.client().capabilities and "QRESYNC" in imap.client().capabilities
    run(b"a", b"LOGIN alice@example.test alice-pw")
    assert run(b"b", b"ENABLE QRESYNC")[0] == "* ENABLED QRESYNC"
    lines = run(b"c", b"SELECT INBOX")
    validity = int(next(re.search(r"UIDVALIDITY (\d+)", l).group(1) for l in lines if "UIDVALIDITY" in l))
    before = int(next(re.search(r"HIGHESTMODSEQ (\d+)", l).group(1) for l in lines if "HIGHESTMODSEQ" in l))
    run(b"d", b"LOGOUT")
    raw.close()

    other = IMAPClient("127.0.0.1", port=imap.port, ssl=False)
    other.login("alice@example.test", "alice-pw")
    other.select_folder("INBOX")
    other.add_flags([2], [b"\\Flagged"])
    other.add_flags([3], [b"\\Deleted"])
    other.expunge()
    other.move([5], "Archive")
    imap.deliver(simple("q6"))

    raw = RawIMAP(imap.port)
    run(b"a", b"LOGIN alice@example.test alice-pw")
    run(b"b", b"ENABLE QRESYNC")
    lines = run(b"c", f"SELECT INBOX (QRESYNC ({validity} {before} 1:6))".encode())
    assert lines[-1].startswith("c OK [READ-WRITE]")
    assert "* 5 EXISTS" in lines
    changes = [l for l in lines if "VANISHED" in l or "FETCH" in l]
    assert changes[0] == "* VANISHED (EARLIER) 3,5"
    assert len(changes) == 2 and re.fullmatch(r"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)", changes[1]), changes
    # The same through UID FETCH CHANGEDSINCE … VANISHED: the new message 7 is in 1:* too.
    lines = run(b"d", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {before} VANISHED)".encode())
    assert lines[0] == "* VANISHED (EARLIER) 3,5"
    assert [re.search(r"UID (\d+)", l).group(1) for l in lines if "FETCH (" in l] == ["2", "7"]
    assert all("MODSEQ (" in l for l in lines if "FETCH (" in l)
    # SEARCH MODSEQ: the changed ones, with their highest mod-sequence.
    search = [l for l in run(b"e", f"UID SEARCH MODSEQ {before + 1}".encode()) if l.startswith("* SEARCH")][0]
    assert re.fullmatch(r"\* SEARCH 2 7 \(MODSEQ \d+\)", search), search
    # UNCHANGEDSINCE: message 4 changes elsewhere after this session saw it, so the STORE
    # leaves it alone and says so; message 1 is stored and its MODSEQ reported.
    seen = int(re.search(r"MODSEQ \((\d+)\)", run(b"f", b"UID FETCH 4 (MODSEQ)")[0]).group(1))
    other.add_flags([4], [b"$Later"])
    lines = run(b"g", f"UID STORE 1,4 (UNCHANGEDSINCE {seen}) +FLAGS.SILENT (\\Seen)".encode())
    assert lines[-1].startswith("g OK [MODIFIED 4]"), lines
    assert any(re.fullmatch(r"\* 1 FETCH \(MODSEQ \(\d+\) UID 1\)", l) for l in lines), lines
    # An expunge by the other session shows as VANISHED, not EXPUNGE.
    other.add_flags([6], [b"\\Deleted"])
    other.expunge()
    lines = run(b"h", b"NOOP")
    assert "* VANISHED 6" in lines and not any("EXPUNGE" in l for l in lines), lines
    # SELECT while selected: CLOSED first (§3.2.11); QRESYNC without ENABLE is BAD elsewhere.
    assert run(b"i", b"EXAMINE Archive")[0] == "* OK [CLOSED] previous mailbox closed"
    raw.close()
    plain = RawIMAP(imap.port)
    plain.send(b"a LOGIN alice@example.test alice-pw")
    plain.until(b"a OK")
    plain.send(f"b SELECT INBOX (QRESYNC ({validity} {before}))".encode())
    assert plain.until(b"b ")[-1].startswith(b"b BAD")
    plain.close()
    other.logout()


def test_imapclient_condstore(imap):
    """imapclient's CONDSTORE: SELECT reports HIGHESTMODSEQ once enabled, FETCH MODSEQ and
    CHANGEDSINCE, STATUS HIGHESTMODSEQ."""
    from imapclient import IMAPClient

    for n in range(3):
        imap.deliver(simple(f"c{n}"))
    c = IMAPClient("127.0.0.1", port=imap.port, ssl=False)
    c.login("alice@example.test", "alice-pw")
    assert c.enable("CONDSTORE") == [b"CONDSTORE"]
    info = c.select_folder("INBOX")
    start = info[b"HIGHESTMODSEQ"]
    c.add_flags([2], [b"\\Answered"])
    changed = c.fetch([1, 2, 3], ["FLAGS"], modifiers=[f"CHANGEDSINCE {start}"])
    assert list(changed) == [2] and changed[2][b"MODSEQ"][0] > start
    status = c.folder_status("INBOX", [b"HIGHESTMODSEQ"])
    assert status[b"HIGHESTMODSEQ"] == changed[2][b"MODSEQ"][0]
    c.logout()


class DeflatedIMAP:
    """RFC 4978 from the client's side, with Python's zlib: raw deflate both ways, a sync
    flush after every command."""

    def __init__(self, sock):
        import zlib
        self.sock = sock
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.buffer = b""

    def send_raw(self, data):
        import zlib
        self.sock.sendall(self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH))

    def send(self, line):
        self.send_raw(line + b"\r\n")

    def readline(self):
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            assert data, "the connection closed"
            self.buffer += self.inflate.decompress(data)
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def read_exact(self, n):
        while len(self.buffer) < n:
            data = self.sock.recv(65536)
            assert data, "the connection closed"
            self.buffer += self.inflate.decompress(data)
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def until(self, prefix):
        lines = []
        while True:
            line = self.readline()
            lines.append(line)
            if line.startswith(prefix):
                return lines


def test_compress_deflate_both_ways_in_and_outside_tls(imap, tmp_path):
    """RFC 4978: after `OK DEFLATE active` both directions are raw deflate, inside TLS too;
    literals both ways and a 3 MB FETCH come through byte-exact; a line that inflates to
    20 MB is refused like any over-long line, and the session goes on."""
    bodies = [simple(f"z{n}", body=(f"line {n} " * 40 + "\r\n") * (500 + 3000 * (n % 2))) for n in range(4)]
    c = imap.client()
    assert "COMPRESS=DEFLATE" in c.capabilities
    for body in bodies:
        ok(c.append("INBOX", None, None, body))
    c.logout()

    raw = RawIMAP(imap.port)
    raw.send(b"a LOGIN alice@example.test alice-pw")
    raw.until(b"a OK")
    raw.send(b"b COMPRESS DEFLATE")
    assert raw.readline() == b"b OK DEFLATE active\r\n"
    z = DeflatedIMAP(raw.sock)
    z.send(b"c SELECT INBOX")
    assert any(line == b"* 4 EXISTS\r\n" for line in z.until(b"c OK"))
    z.send(b"d FETCH 1:* (BODY.PEEK[])")
    got = []
    while True:
        line = z.readline()
        if line.startswith(b"d "):
            assert line.startswith(b"d OK")
            break
        size = int(re.search(rb"\{(\d+)\}\r\n$", line).group(1))
        got.append(z.read_exact(size))
        z.readline()  # the ")" closing the FETCH
    assert got == bodies
    upload = simple("up", body="compressed upload\r\n" * 2000)
    z.send(f"e APPEND INBOX {{{len(upload)}}}".encode())
    assert z.readline().startswith(b"+")
    z.send_raw(upload + b"\r\n")
    assert z.until(b"e ")[-1].startswith(b"e OK [APPENDUID")
    z.send(b"f COMPRESS DEFLATE")
    assert z.readline().startswith(b"f BAD [COMPRESSIONACTIVE]")
    # A deflate bomb: 20 MB of one line in a few kilobytes; the framer skips it as it inflates.
    z.send(b"g NOOP " + b"x" * (20 << 20))
    assert z.until(b"g ")[-1].startswith(b"g BAD")
    z.send(b"h UID FETCH 5 (BODY.PEEK[])")
    lines = z.until(b"* 5 FETCH")
    size = int(re.search(rb"\{(\d+)\}\r\n$", lines[-1]).group(1))
    assert z.read_exact(size) == upload
    assert z.until(b"h ")[-1].startswith(b"h OK")
    z.send(b"i LOGOUT")
    assert z.until(b"i ")[-1].startswith(b"i OK")
    raw.close()

    (tmp_path / "tls").mkdir()
    server = IMAPServer(tmp_path / "tls", gateways="[imap]")
    try:
        tls = imaplib.IMAP4_SSL("127.0.0.1", server.tls_port, ssl_context=server.tls_context())
        ok(tls.login("alice@example.test", "alice-pw"))
        imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))
        typ, data = tls._simple_command("COMPRESS", "DEFLATE")
        assert typ == "OK"
        z = DeflatedIMAP(tls.sock)
        z.send(b"x1 STATUS INBOX (MESSAGES)")
        assert z.until(b"x1 ")[0] == b"* STATUS INBOX (MESSAGES 0)\r\n"
        tls.sock.close()
    finally:
        server.stop()


def test_esearch_and_searchres(imap):
    """RFC 4731 ESEARCH (MIN MAX COUNT ALL, the empty RETURN (), no match) and RFC 5182
    SEARCHRES: SAVE keeps the result as $, which FETCH, STORE, SEARCH and UID SEARCH use."""
    for n in range(6):
        imap.deliver(simple(f"report {n}" if n % 2 else f"other {n}"))
    raw = RawIMAP(imap.port)

    run = raw.run

    assert {"ESEARCH", "SEARCHRES"} <= set(imap.client().capabilities)
    run(b"a", b"LOGIN alice@example.test alice-pw")
    run(b"b", b"SELECT INBOX")
    assert run(b"c", b"SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT report")[0] == '* ESEARCH (TAG "c") MIN 2 MAX 6 COUNT 3 ALL 2,4,6'
    assert run(b"d", b"UID SEARCH RETURN () ALL")[0] == '* ESEARCH (TAG "d") UID ALL 1:6'
    assert run(b"e", b"SEARCH RETURN (COUNT MIN) SUBJECT nothing") == ['* ESEARCH (TAG "e") COUNT 0', "e OK SEARCH completed"]
    # SAVE alone answers no ESEARCH; $ is then the result, for any command.
    assert run(b"f", b"SEARCH RETURN (SAVE) SUBJECT report") == ["f OK SEARCH completed"]
    fetched = run(b"g", b"FETCH $ (UID)")
    assert [l for l in fetched if "FETCH (" in l] == ["* 2 FETCH (UID 2)", "* 4 FETCH (UID 4)", "* 6 FETCH (UID 6)"]
    run(b"h", b"STORE $ +FLAGS.SILENT (\\Flagged)")
    assert run(b"i", b"SEARCH FLAGGED")[0] == "* SEARCH 2 4 6"
    assert run(b"j", b"UID SEARCH UID $ NOT SUBJECT \"report 3\"")[0] == "* SEARCH 2 6"
    # MIN and MAX with SAVE keep only those; an expunged message leaves $.
    run(b"k", b"SEARCH RETURN (SAVE MIN MAX) FLAGGED")
    run(b"l", b"STORE 6 +FLAGS.SILENT (\\Deleted)")
    run(b"m", b"EXPUNGE")
    assert run(b"n", b"SEARCH $")[0] == "* SEARCH 2"
    assert run(b"o", b"SEARCH RETURN (PARTIAL 1:5) ALL")[-1].startswith("o BAD")
    raw.close()


def test_sort_and_thread(imap):
    """RFC 5256 through imapclient and on the wire: SORT by subject, date (and REVERSE), from,
    with a search; THREAD ORDEREDSUBJECT and REFERENCES on a small conversation."""
    from imapclient import IMAPClient

    def message(n, subject, sender, hour, minute=0, refs=None):
        head = (f"From: {sender}@example.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
                f"Message-ID: <{n}@x.test>\r\nDate: Mon, 1 Dec 2025 {hour:02}:{minute:02}:00 +0000\r\n")
        if refs:
            head += f"References: {refs}\r\nIn-Reply-To: {refs.split()[-1]}\r\n"
        return (head + "\r\nbody\r\n").encode()

    c = imap.client()
    for m in [message(1, "Lunch", "bob", 10), message(2, "Re: Lunch", "alice", 11, refs="<1@x.test>"),
              message(3, "Budget", "carol", 9), message(4, "Re: Re: Lunch", "dave", 12, refs="<1@x.test> <2@x.test>"),
              message(5, "[list] Fwd: Budget", "eve", 13), message(6, "Re: lunch", "zed", 11, 30, refs='<"1"@x.test>')]:
        ok(c.append("INBOX", None, None, m))
    c.logout()
    client = IMAPClient("127.0.0.1", port=imap.port, ssl=False)
    client.login("alice@example.test", "alice-pw")
    assert {b"SORT", b"THREAD=ORDEREDSUBJECT", b"THREAD=REFERENCES"} <= set(client.capabilities())
    client.select_folder("INBOX")
    assert client.sort(["SUBJECT"]) == [3, 5, 1, 2, 4, 6]
    assert client.sort(["DATE"]) == [3, 1, 2, 6, 4, 5]
    assert client.sort(["REVERSE DATE"]) == [5, 4, 6, 2, 1, 3]
    assert client.sort(["FROM"]) == [2, 1, 3, 4, 5, 6]
    assert client.sort(["SUBJECT", "REVERSE DATE"], ["FROM", "bob"]) == [1]
    assert client.thread("ORDEREDSUBJECT") == ((3, 5), (1, (2,), (6,), (4,)))
    assert client.thread("REFERENCES") == ((3, 5), (1, (2, 4), (6,)))
    client.logout()
    raw = RawIMAP(imap.port)
    raw.send(b"a LOGIN alice@example.test alice-pw")
    raw.until(b"a OK")
    raw.send(b"b SELECT INBOX")
    raw.until(b"b OK")
    raw.send(b"c UID THREAD REFERENCES UTF-8 ALL")
    assert raw.until(b"c ")[0] == b"* THREAD (3 5)(1 (2 4)(6))\r\n"
    raw.send(b"d SORT (SUBJECT) UTF-8 SUBJECT nothing")
    assert raw.until(b"d ")[0] == b"* SORT\r\n"
    raw.send(b"e THREAD REFERENCES UTF-8 SUBJECT nothing")
    assert raw.until(b"e ")[0] == b"* THREAD\r\n"
    raw.send(b"f SORT (SUBJECT) KOI8-R ALL")
    assert raw.until(b"f ")[-1].startswith(b"f NO [BADCHARSET")
    raw.send(b"g THREAD BOGUS UTF-8 ALL")
    assert raw.until(b"g ")[-1].startswith(b"g BAD")
    raw.close()


def test_condstore_details_a_client_relies_on(imap):
    """RFC 7162's smaller rules: a .SILENT STORE echoes nothing; with QRESYNC every FETCH for a
    change has UID and MODSEQ (STORE, implicit \\Seen); a STORE UNCHANGEDSINCE that changes
    nothing still reports MODSEQ; EXPUNGE's OK carries HIGHESTMODSEQ; CLOSED always."""
    for n in range(4):
        imap.deliver(simple(f"d{n}"))
    raw = RawIMAP(imap.port)

    run = raw.run

    run(b"a", b"LOGIN alice@example.test alice-pw")
    run(b"b", b"SELECT INBOX")
    assert run(b"c", b"EXAMINE INBOX")[0] == "* OK [CLOSED] previous mailbox closed", "CLOSED without CONDSTORE too"
    run(b"d", b"SELECT INBOX")
    assert run(b"e", b"STORE 1 +FLAGS.SILENT (\\Answered)") == ["e OK STORE completed"], "§6.4.6: no FETCH for .SILENT"
    run(b"f", b"UNSELECT")
    run(b"g", b"ENABLE QRESYNC")
    run(b"h", b"SELECT INBOX")
    lines = run(b"i", b"STORE 2 +FLAGS (\\Flagged)")
    assert re.fullmatch(r"\* 2 FETCH \(FLAGS \(\\Flagged\) UID 2 MODSEQ \((\d+)\)\)", lines[0]), lines
    lines = run(b"j", b"FETCH 3 (BODY[TEXT])")
    implicit = next(l for l in lines if l.startswith("* 3 FETCH")) + next(l for l in lines if "FLAGS" in l)
    seen = int(re.search(r"MODSEQ \((\d+)\)", implicit).group(1))
    assert "UID 3" in implicit and "\\Seen" in implicit
    assert run(b"k", b"FETCH 3 (MODSEQ)")[0] == f"* 3 FETCH (MODSEQ ({seen}))", "the new MODSEQ, not the one before"
    lines = run(b"l", f"STORE 3 (UNCHANGEDSINCE {seen}) +FLAGS.SILENT (\\Seen)".encode())
    assert lines == [f"* 3 FETCH (MODSEQ ({seen}) UID 3)", "l OK STORE completed"], lines
    run(b"m", b"STORE 4 +FLAGS.SILENT (\\Deleted)")
    lines = run(b"n", b"EXPUNGE")
    assert lines[0] == "* VANISHED 4" and re.fullmatch(r"n OK \[HIGHESTMODSEQ \d+\] EXPUNGE completed", lines[-1]), lines
    raw.close()


def test_translated_default_mailboxes(tmp_path):
    """backend.default_mailboxes: an administrator names the special-use mailboxes (here in
    German); new accounts get those, and clients find them by their use."""
    server = IMAPServer(tmp_path, gateways="[imap]", top_extra=(
        "backend:\n  default_mailboxes:\n    - {name: Gesendet, special_use: Sent}\n"
        "    - {name: Papierkorb, special_use: Trash}\n"))
    try:
        raw = RawIMAP(server.port)
        raw.run(b"a", b"LOGIN alice@example.test alice-pw")
        assert raw.run(b"b", b'LIST (SPECIAL-USE) "" "*"')[:-1] == [
            '* LIST (\\HasNoChildren \\Sent) "/" "Gesendet"', '* LIST (\\HasNoChildren \\Trash) "/" "Papierkorb"']
        raw.close()
    finally:
        server.stop()


def test_binary_fetch_size_partial_unknown_cte_and_literal8_append(imap):
    """RFC 3516 through imaplib and on the wire: BINARY[part] decodes quoted-printable and
    base64 (a 3 MB part read in many chunks), BINARY.SIZE is the decoded size, a partial counts
    decoded octets, NUL comes as a literal8, an unknown encoding is NO [UNKNOWN-CTE], BINARY
    (not .PEEK) sets \\Seen, and APPEND takes a literal8 holding NUL."""
    import base64

    blob = bytes(range(256)) * 40
    big = bytes((i * 7 + i // 251) & 0xFF for i in range(3_000_000))
    encoded = base64.encodebytes(blob).replace(b"\n", b"\r\n")
    message = (b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
               b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
               b"caf=C3=A9 au lait, soft=\r\nbreak=3D\r\n"
               b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded +
               b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
               b"begin 644 x\r\nend\r\n"
               b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
               base64.encodebytes(big).replace(b"\n", b"\r\n") + b"--b--\r\n")
    c = imap.client()
    assert "BINARY" in c.capabilities
    ok(c.append("INBOX", None, None, message))
    ok(c.select("INBOX"))
    data = ok(c.fetch("1", "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[4])"))
    assert data[0][1] == "café au lait, softbreak=".encode()
    assert b"BINARY.SIZE[1] 25" in data[1] and b"BINARY.SIZE[2] 10240" in data[1] and b"BINARY.SIZE[4] 3000000" in data[1], data
    data = ok(c.fetch("1", "(BINARY.PEEK[2])"))
    assert b"~{10240}" in data[0][0], data[0][0]      # NUL inside: a literal8
    assert data[0][1] == blob
    data = ok(c.fetch("1", "(BINARY.PEEK[2]<1000.300>)"))
    assert b"BINARY[2]<1000>" in data[0][0] and data[0][1] == blob[1000:1300]
    data = ok(c.fetch("1", "(BINARY.PEEK[4])"))
    assert data[0][1] == big
    data = ok(c.fetch("1", "(BINARY.PEEK[4]<2999990.100>)"))
    assert data[0][1] == big[2999990:]
    data = ok(c.fetch("1", "(BINARY.PEEK[])"))
    assert data[0][1] == message
    typ, data = c.fetch("1", "(BINARY.PEEK[3])")
    assert typ == "NO" and b"[UNKNOWN-CTE]" in data[0], data
    typ, data = c.fetch("1", "(BINARY[3])")
    assert typ == "NO" and b"[UNKNOWN-CTE]" in data[0], data
    assert b"\\Seen" not in ok(c.fetch("1", "(FLAGS)"))[0], "a BINARY that fails sets no \\Seen" 
    data = ok(c.fetch("1", "(BINARY.PEEK[9] BINARY.SIZE[9])"))
    assert b"BINARY[9] NIL" in data[0] and b"BINARY.SIZE[9] 0" in data[0], data   # no such part: NIL
    # RFC 9051 §6.4.5: leaf parts only; a multipart part is refused, the message's own BINARY[] is not.
    ok(c.append("INBOX", None, None, b"Subject: nested\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
                b"Content-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\nContent-Type: text/plain\r\n\r\n"
                b"hi\r\n--y--\r\n--x--\r\n"))
    typ, data = c.fetch("2", "(BINARY.PEEK[1])")
    assert typ == "NO", data
    assert ok(c.fetch("2", "(BINARY.PEEK[1.1])"))[0][1] == b"hi"
    assert ok(c.fetch("2", "(BINARY.PEEK[])"))[0][1].startswith(b"Subject: nested")
    assert b"\\Seen" not in ok(c.fetch("1", "(FLAGS)"))[0]
    ok(c.fetch("1", "(BINARY[1])"))
    assert b"\\Seen" in ok(c.fetch("1", "(FLAGS)"))[0], "BINARY without .PEEK sets \\Seen"
    c.logout()

    raw = RawIMAP(imap.port)
    raw.run(b"a", b"LOGIN alice@example.test alice-pw")
    body = b"Subject: nul\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nA\x00B\r\n"
    raw.send(b"b APPEND INBOX ~{%d}" % len(body))
    assert raw.readline().startswith(b"+")
    raw.send(body)
    assert raw.until(b"b ")[-1].startswith(b"b OK")
    raw.run(b"c", b"SELECT INBOX")
    raw.send(b"d FETCH 3 (BINARY.PEEK[1] BINARY.SIZE[1])")
    line = raw.readline()
    assert line.endswith(b"BINARY[1] ~{5}\r\n"), line
    assert raw.f.read(5) == b"A\x00B\r\n"
    assert raw.until(b"d ")[0] == b" BINARY.SIZE[1] 5)\r\n"
    raw.close()


def test_imap4rev2_after_enable(imap):
    """RFC 9051 behind ENABLE IMAP4rev2: advertised beside IMAP4rev1 with STATUS=SIZE; after
    ENABLE, mailbox names are UTF-8 both ways (and "&" is only a character), SELECT sends a
    LIST and no RECENT, \\Recent is gone, every SEARCH answers ESEARCH, STATUS SIZE is the sum of
    the message sizes. A rev1 session meanwhile sees the same names in modified UTF-7."""
    sizes = []
    for n in range(2):
        data = simple(f"rev2 {n}", body="x" * (100 + n) + "\r\n")
        imap.deliver(data)
    rev1 = RawIMAP(imap.port)
    rev1.run(b"a", b"LOGIN alice@example.test alice-pw")
    caps = rev1.run(b"b", b"CAPABILITY")[0].split()
    assert "IMAP4rev1" in caps and "IMAP4rev2" in caps and "STATUS=SIZE" in caps, caps
    assert rev1.run(b"c", b'CREATE "Entw&APw-rfe"')[-1].startswith("c OK")
    rev1.run(b"s", b"EXAMINE INBOX")
    for line in rev1.run(b"d", b"FETCH 1:* (RFC822.SIZE)")[:-1]:
        sizes.append(int(re.search(r"RFC822.SIZE (\d+)", line).group(1)))

    raw = RawIMAP(imap.port)
    run = raw.run
    run(b"a", b"LOGIN alice@example.test alice-pw")
    assert run(b"b", b"ENABLE IMAP4rev2")[0] == "* ENABLED IMAP4rev2"
    listed = run(b"c", b'LIST "" "*"')
    assert '* LIST (\\HasNoChildren) "/" "Entwürfe"' in listed, listed
    assert run(b"d", 'CREATE "Café & Co"'.encode())[-1].startswith("d OK")
    lines = run(b"e", b"SELECT INBOX")
    assert '* LIST (\\HasNoChildren) "/" INBOX' in lines, lines
    # §5.1: a name not in Normalization Form C is refused (it would be a second "Café").
    assert run(b"e2", 'CREATE "Cafe\u0301"'.encode())[-1].startswith("e2 NO"), "NFD name"
    assert not any(line.endswith(" RECENT") for line in lines), lines
    assert "\\Recent" not in " ".join(run(b"f", b"FETCH 1:* (FLAGS)")), "no \\Recent in rev2"
    lines = run(b"g", b"SEARCH ALL")
    assert lines[0] == '* ESEARCH (TAG "g") ALL 1:2' and not any(x.startswith("* SEARCH") for x in lines), lines
    stored = run(b"g2", b"STORE 1 +FLAGS (\\Flagged)")
    assert re.fullmatch(r"\* 1 FETCH \(FLAGS \(\\Flagged\) UID \d+\)", stored[0]), stored
    assert run(b"h", b"UID SEARCH ALL")[0].startswith('* ESEARCH (TAG "h") UID ALL ')
    assert run(b"i", b"SEARCH SUBJECT nothing-like-this")[0] == '* ESEARCH (TAG "i")'
    assert run(b"j", b"STATUS INBOX (MESSAGES SIZE)")[0] == f"* STATUS INBOX (MESSAGES 2 SIZE {sum(sizes)})"
    assert '* LIST (\\HasNoChildren \\Sent) "/" "Sent"' in run(b"e3", b'EXAMINE "Sent"'), "attributes as LIST's"
    lines = run(b"k", 'SELECT "Entwürfe"'.encode())
    assert '* LIST (\\HasNoChildren) "/" "Entwürfe"' in lines and lines[-1].startswith("k OK"), lines
    raw.close()

    listed = rev1.run(b"e", b'LIST "" "*"')
    assert '* LIST (\\HasNoChildren) "/" "Caf&AOk- &- Co"' in listed, listed
    assert rev1.run(b"f", b"SEARCH ALL")[0] == "* SEARCH 1 2", "rev1 keeps SEARCH"
    rev1.close()
