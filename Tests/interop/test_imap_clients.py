"""IMAP end to end with real clients nobody here wrote, beyond imaplib (test_imap.py): the
`imapclient` package (PyPI), `curl imap://`, `fetchmail` over IMAP and `mbsync` (Debian's
isync) syncing to a local Maildir and back. Issue 9, "Tests that must exist and pass"."""
import datetime
import os
import re
import shutil
import subprocess

import pytest

from conftest import child_env, eventually
from test_imap import IMAPServer, NESTED, ok, simple

imapclient = pytest.importorskip("imapclient", reason="imapclient is not installed (pip install imapclient)")

ALICE = ("alice@example.test", "alice-pw")


@pytest.fixture
def imap(tmp_path):
    server = IMAPServer(tmp_path)
    yield server
    server.stop()


def client(imap, user=ALICE, tls=False):
    c = imapclient.IMAPClient("127.0.0.1", port=imap.port, ssl=False, timeout=30)
    if tls:
        c.starttls(imap.tls_context())
    c.login(*user)
    return c


# ---------------------------------------------------------------------------------------------
# imapclient


def test_imapclient_login_folders_select_and_status(imap):
    imap.deliver(simple("one"))
    imap.deliver(simple("two"))
    c = client(imap)
    assert b"IMAP4REV1" in c.capabilities()
    folders = c.list_folders()
    assert all(delim == b"/" for _, delim, _ in folders)
    assert "INBOX" in [name for _, _, name in folders]
    info = c.select_folder("INBOX")
    assert info[b"EXISTS"] == 2 and info[b"RECENT"] == 2
    assert info[b"UIDNEXT"] == 3 and info[b"UIDVALIDITY"] > 0
    assert b"\\Seen" in info[b"FLAGS"] and b"\\*" in info[b"PERMANENTFLAGS"]
    assert info[b"READ-WRITE"]
    status = c.folder_status("INBOX", [b"MESSAGES", b"RECENT", b"UIDNEXT", b"UIDVALIDITY", b"UNSEEN"])
    assert status[b"MESSAGES"] == 2 and status[b"UNSEEN"] == 2 and status[b"UIDNEXT"] == 3
    assert status[b"UIDVALIDITY"] == info[b"UIDVALIDITY"]
    c.unselect_folder() if b"UNSELECT" in c.capabilities() else c.close_folder()
    ro = c.select_folder("INBOX", readonly=True)
    assert ro[b"READ-ONLY"]
    c.logout()


def test_imapclient_non_ascii_folders_and_subscriptions(imap):
    c = client(imap)
    # imapclient encodes these in modified UTF-7 (RFC 3501 §5.1.3) itself.
    c.create_folder("Entwürfe")
    c.create_folder("日本語/子")
    c.create_folder("Ünterordner/Tiefer/Am Tiefsten")
    names = {name for _, _, name in c.list_folders()}
    assert {"Entwürfe", "日本語", "日本語/子", "Ünterordner/Tiefer/Am Tiefsten"} <= names
    assert c.folder_exists("Entwürfe") and not c.folder_exists("Entwurfe")
    # On the wire: the modified UTF-7 forms.
    c.folder_encode = False
    raw = {name for _, _, name in c.list_folders()}
    assert b"Entw&APw-rfe" in raw and b"&ZeVnLIqe-/&W1A-" in raw
    c.folder_encode = True
    c.rename_folder("Entwürfe", "Brouillons à envoyer")
    names = {name for _, _, name in c.list_folders()}
    assert "Brouillons à envoyer" in names and "Entwürfe" not in names
    c.rename_folder("日本語", "中文")
    names = {name for _, _, name in c.list_folders()}
    assert {"中文", "中文/子"} <= names and "日本語/子" not in names
    assert c.folder_status("中文/子", [b"MESSAGES"])[b"MESSAGES"] == 0
    c.subscribe_folder("Brouillons à envoyer")
    c.subscribe_folder("中文/子")
    c.subscribe_folder("Gibt es nicht")  # §6.3.6: need not exist
    subs = {name for _, _, name in c.list_sub_folders()}
    assert {"Brouillons à envoyer", "中文/子", "Gibt es nicht"} <= subs
    c.unsubscribe_folder("中文/子")
    assert "中文/子" not in {name for _, _, name in c.list_sub_folders()}
    c.delete_folder("Brouillons à envoyer")
    c.delete_folder("中文/子")
    names = {name for _, _, name in c.list_folders()}
    assert "Brouillons à envoyer" not in names and "中文/子" not in names and "中文" in names
    with pytest.raises(imapclient.exceptions.IMAPClientError):
        c.create_folder("中文")  # exists
    c.logout()


def test_imapclient_append_with_flags_and_date_then_fetch(imap):
    c = client(imap)
    when = datetime.datetime(2026, 11, 30, 22, 15, 7, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    response = c.append("INBOX", NESTED, flags=(b"\\Flagged", b"$Work"), msg_time=when)
    assert b"APPENDUID" in response
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", response).group(1))
    c.select_folder("INBOX")
    got = c.fetch([uid], ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[]"])[uid]
    assert set(got[b"FLAGS"]) >= {b"\\Flagged", b"$Work"} and b"\\Seen" not in got[b"FLAGS"]
    assert got[b"RFC822.SIZE"] == len(NESTED)
    assert got[b"BODY[]"] == NESTED
    # imapclient hands INTERNALDATE back in local time without a zone, unless told otherwise.
    c.normalise_times = False
    internal = c.fetch([uid], ["INTERNALDATE"])[uid][b"INTERNALDATE"]
    assert internal == when
    c.logout()


def addr(a):
    return (a.name, a.route, a.mailbox, a.host)


def test_imapclient_envelope_and_bodystructure_of_a_nested_message(imap):
    imap.deliver(NESTED)
    c = client(imap)
    c.normalise_times = False  # keep the Date's own zone
    c.select_folder("INBOX", readonly=True)
    uid = c.search(["ALL"])[0]
    got = c.fetch([uid], ["ENVELOPE", "BODYSTRUCTURE", "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]"])[uid]

    # RFC 3501 §7.4.2 ENVELOPE: strings as in the header (RFC 2047 words left encoded), Sender
    # and Reply-To default to From, group syntax as a start and an end marker.
    env = got[b"ENVELOPE"]
    assert env.date == datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert env.subject == b"=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?="
    juergen = (b"=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?=", None, b"juergen", b"remote.test")
    assert [addr(a) for a in env.from_] == [juergen]
    assert [addr(a) for a in env.sender] == [juergen]
    assert [addr(a) for a in env.reply_to] == [juergen]
    assert [addr(a) for a in env.to] == [(b"Alice", None, b"alice", b"example.test"),
                                          (None, None, b"bob", b"example.test")]
    assert [addr(a) for a in env.cc] == [(None, None, b"undisclosed-recipients", None), (None, None, None, None)]
    assert env.bcc is None and env.in_reply_to is None
    assert env.message_id == b"<nested-1@remote.test>"

    # HEADER.FIELDS: the named fields in the message's order, then the blank line.
    fields = got[b"BODY[HEADER.FIELDS (FROM SUBJECT)]"]
    assert fields == (b"From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@remote.test>\r\n"
                      b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n\r\n")

    # BODYSTRUCTURE: mixed(alternative(plain, html), pdf attachment, message/rfc822(plain)).
    bs = got[b"BODYSTRUCTURE"]
    assert bs.is_multipart
    parts, subtype = bs[0], bs[1]
    assert subtype == b"MIXED" and len(parts) == 3
    assert bs[2] == (b"BOUNDARY", b"outer")  # extension data: the body parameters
    alternative, pdf, forwarded = parts
    assert alternative.is_multipart and alternative[1] == b"ALTERNATIVE" and len(alternative[0]) == 2
    assert alternative[2] == (b"BOUNDARY", b"inner")
    plain, html = alternative[0]
    plain_body = b"Gr=C3=BC=C3=9Fe, two lines\r\nsecond line"
    html_body = b"<p>Gr\xc3\xbc\xc3\x9fe</p>"
    # type, subtype, parameters, id, description, encoding, size, lines (text only): line breaks,
    # as Dovecot counts them (a part's last line runs into the boundary's CRLF, RFC 2046 §5.1.1).
    assert list(plain[:7]) == [b"TEXT", b"PLAIN", (b"CHARSET", b"utf-8"), None, None, b"QUOTED-PRINTABLE",
                               len(plain_body)]
    assert plain[7] == 1
    assert list(html[:7]) == [b"TEXT", b"HTML", (b"CHARSET", b"utf-8"), None, None, b"7BIT", len(html_body)]
    assert html[7] == 0
    # A non-text part has no line count; its extension data has the disposition with the file name.
    pdf_body = b"JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K"
    assert list(pdf[:7]) == [b"APPLICATION", b"PDF", (b"NAME", b"report.pdf"), None, None, b"BASE64", len(pdf_body)]
    assert pdf[7] is None  # MD5
    assert pdf[8] == (b"ATTACHMENT", (b"FILENAME", b"report.pdf"))
    # message/rfc822: the basic fields, then the inner ENVELOPE, BODYSTRUCTURE and line count.
    inner = b"From: inner@remote.test\r\nSubject: forwarded\r\n\r\ninner body"
    assert list(forwarded[:2]) == [b"MESSAGE", b"RFC822"]
    assert forwarded[3:7] == (None, None, b"7BIT", len(inner))
    inner_env, inner_body, inner_lines = forwarded[7], forwarded[8], forwarded[9]
    assert inner_env[0] is None and inner_env[1] == b"forwarded"
    assert inner_env[2] == ((None, None, b"inner", b"remote.test"),)
    assert inner_env[3] == inner_env[2] and inner_env[4] == inner_env[2]  # sender, reply-to
    assert inner_env[5:] == (None, None, None, None, None)
    assert inner_body[0:2] == (b"TEXT", b"PLAIN") and inner_body[5:7] == (b"7BIT", len(b"inner body"))
    assert inner_body[2] in (None, (b"CHARSET", b"us-ascii"))
    assert inner_lines == 3
    c.logout()


def test_imapclient_search_store_copy_delete_expunge(imap):
    subjects = ["alpha", "beta", "Grüße aus Köln", "gamma", "delta"]
    for n, subject in enumerate(subjects):
        if subject.isascii():
            imap.deliver(simple(subject, body=f"body {n} {'needle' if n == 1 else ''}\r\n"))
    imap.deliver(NESTED)  # Subject: Grüße aus Köln, RFC 2047 encoded
    c = client(imap)
    c.select_folder("INBOX")
    all_uids = c.search()
    assert all_uids == [1, 2, 3, 4, 5]
    assert c.search(["SUBJECT", "beta"]) == [2]
    assert c.search(["OR", ["SUBJECT", "alpha"], ["SUBJECT", "delta"]]) == [1, 4]
    assert c.search(["NOT", "SUBJECT", "l"]) == [2, 3]
    assert c.search(["BODY", "needle"]) == [2]
    assert c.search(["FROM", "juergen", "SINCE", datetime.date(2020, 1, 1)]) == [5]
    assert c.search(["LARGER", 1000]) == [5]
    # Non-ASCII criteria: imapclient sends CHARSET UTF-8 and the string as a literal; the
    # RFC 2047 encoded Subject matches its decoded text (as Dovecot does).
    assert c.search(["SUBJECT", "Grüße"], charset="UTF-8") == [5]
    assert c.search(["SUBJECT", "köln"], charset="UTF-8") == [5]
    assert c.search(["FROM", "Jürgen"], charset="UTF-8") == [5]

    got = c.fetch([1, 5], ["RFC822.SIZE", "FLAGS", "BODY.PEEK[]"])
    for uid in (1, 5):  # SMTP delivery added Return-Path and Received on top
        assert got[uid][b"RFC822.SIZE"] == len(got[uid][b"BODY[]"])
    assert got[5][b"BODY[]"].endswith(NESTED)
    assert got[1][b"FLAGS"] == (b"\\Recent",)

    # STORE answers with all the message's flags, \Recent (this session's) included (RFC 3501
    # §7.4.2): imapclient, like every client, replaces its copy of the flags with them.
    assert set(c.add_flags([1, 2], [b"\\Flagged", b"$Label1"])[1]) == {b"\\Flagged", b"$Label1", b"\\Recent"}
    assert set(c.remove_flags([2], [b"\\Flagged"])[2]) == {b"$Label1", b"\\Recent"}
    assert c.search(["FLAGGED"]) == [1]
    assert c.search(["KEYWORD", "$Label1"]) == [1, 2]
    assert c.search(["UNKEYWORD", "$Label1", "UNFLAGGED"]) == [3, 4, 5]
    assert set(c.set_flags([3], [b"\\Answered"])[3]) == {b"\\Answered", b"\\Recent"}
    assert set(c.get_flags([3])[3]) == {b"\\Answered", b"\\Recent"}
    # Another session's change arrives as an unsolicited FETCH, again with every flag.
    other = imap.client()
    ok(other.select("INBOX"))
    ok(other.store("4", "+FLAGS", "(\\Draft)"))
    other.logout()

    def noticed():
        return [r for r in c.noop()[1] if r[1] == b"FETCH"]

    changed = eventually(noticed, what="the other session's flag change")
    assert changed[0][0] == 4 and set(changed[0][2][1]) == {b"\\Draft", b"\\Recent"}, changed
    c.create_folder("Kopie")
    c.copy([1, 5], "Kopie")
    assert c.folder_status("Kopie", [b"MESSAGES"])[b"MESSAGES"] == 2
    c.delete_messages([2, 3])
    assert c.search(["DELETED"]) == [2, 3]
    c.expunge()
    assert c.search() == [1, 4, 5]
    c.select_folder("Kopie")
    copied = c.fetch(c.search(), ["FLAGS", "BODY.PEEK[]"])
    assert sorted(v[b"BODY[]"] for v in copied.values()) == sorted(got[uid][b"BODY[]"] for uid in (1, 5))
    assert any(b"\\Flagged" in v[b"FLAGS"] and b"$Label1" in v[b"FLAGS"] for v in copied.values())
    c.logout()


def test_imapclient_over_starttls_and_imaps(imap):
    imap.deliver(simple("secret"))
    c = client(imap, tls=True)
    assert b"STARTTLS" not in c.capabilities()
    c.select_folder("INBOX")
    assert c.search(["SUBJECT", "secret"]) == [1]
    c.logout()
    s = imapclient.IMAPClient("127.0.0.1", port=imap.tls_port, ssl=True, ssl_context=imap.tls_context(), timeout=30)
    s.login(*ALICE)
    assert s.select_folder("INBOX")[b"EXISTS"] == 1
    s.logout()


# ---------------------------------------------------------------------------------------------
# curl imap://


def curl(imap, path, *args, user=ALICE, scheme="imap", port=None, check=True):
    url = f"{scheme}://127.0.0.1:{port or imap.port}/{path}"
    r = subprocess.run(["curl", "-sS", "--max-time", "60", url, "--user", f"{user[0]}:{user[1]}", *args],
                       capture_output=True, timeout=90)
    if check:
        assert r.returncode == 0, r.stderr.decode()
    return r


def fetch_all(imap, mailbox="INBOX"):
    """uid -> (flags, message) as imaplib sees them."""
    c = imap.client()
    ok(c.select(mailbox, readonly=True))
    out = {}
    for item in ok(c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")):
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).split()) - {b"\\Recent"}
            out[uid] = (flags, item[1])
    c.logout()
    return out


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_list_fetch_append_search(imap, tmp_path):
    c = imap.client()
    ok(c.create("Work/Reports"))
    c.logout()
    imap.deliver(simple("first"))
    imap.deliver(NESTED)
    listing = curl(imap, "").stdout.decode()
    # The names as atoms or quoted strings: both are astrings (RFC 3501 §9).
    lines = [line.replace('"', "") for line in listing.splitlines()]
    assert lines == ["* LIST (\\HasNoChildren \\Archive) / Archive", "* LIST (\\HasNoChildren \\Drafts) / Drafts",
                     "* LIST (\\HasNoChildren) / INBOX", "* LIST (\\HasNoChildren \\Junk) / Junk",
                     "* LIST (\\HasNoChildren \\Sent) / Sent", "* LIST (\\HasNoChildren \\Trash) / Trash",
                     "* LIST (\\HasChildren) / Work", "* LIST (\\HasNoChildren) / Work/Reports"]
    # A mailbox's listing: curl sends LIST "Work" * (RFC 3501 §6.3.8: the reference is a prefix).
    sub = curl(imap, "Work/").stdout.decode()
    assert "Work/Reports" in sub

    stored = fetch_all(imap)
    # FETCH by UID (curl sends UID FETCH 2 BODY[]): byte-exact, and \Seen set (not PEEK).
    got = curl(imap, "INBOX;UID=2").stdout
    assert got == stored[2][1] and got.endswith(NESTED)
    assert "\\Seen" in {f.decode() for f in fetch_all(imap)[2][0]}
    assert "\\Seen" not in {f.decode() for f in fetch_all(imap)[1][0]}
    # A section of it, and by sequence number.
    assert curl(imap, "INBOX;UID=2/;SECTION=1.1").stdout == b"Gr=C3=BC=C3=9Fe, two lines\r\nsecond line"
    assert curl(imap, "INBOX;UID=2/;SECTION=2.MIME").stdout.startswith(b"Content-Type: application/pdf")
    assert curl(imap, "INBOX;MAILINDEX=1").stdout == stored[1][1]
    # curl checks a UIDVALIDITY in the URL against SELECT's.
    c = imap.client()
    validity = re.search(rb"UIDVALIDITY (\d+)", ok(c.status("INBOX", "(UIDVALIDITY)"))[0]).group(1).decode()
    ok(c.create('"Entw&APw-rfe/mit Leerzeichen"'))  # Entwürfe, in modified UTF-7 as curl needs it
    ok(c.append('"Entw&APw-rfe/mit Leerzeichen"', None, None, simple("in a folder")))
    c.logout()
    assert curl(imap, f"INBOX;UIDVALIDITY={validity}/;UID=1").stdout == stored[1][1]
    assert curl(imap, f"INBOX;UIDVALIDITY={int(validity) + 1}/;UID=1", check=False).returncode == 78
    assert curl(imap, "Entw%26APw-rfe/mit%20Leerzeichen;UID=1").stdout == simple("in a folder")
    missing = curl(imap, "INBOX;UID=99", check=False)
    assert missing.returncode != 0 and missing.stdout == b""

    # APPEND: curl sends APPEND INBOX (\Seen) {n} and waits for the continuation.
    upload = tmp_path / "upload.eml"
    message = (b"From: Dora <dora@remote.test>\r\nTo: alice@example.test\r\nSubject: uploaded by curl\r\n"
               b"\r\nbinary-ish line \xc3\xa4\r\n.\r\nlast\r\n")
    upload.write_bytes(message)
    curl(imap, "INBOX", "-T", str(upload))
    after = fetch_all(imap)
    assert after[3] == ({b"\\Seen"}, message)
    assert curl(imap, "INBOX;UID=3").stdout == message

    # SEARCH with a custom command, and the URL's query form.
    assert curl(imap, "INBOX", "-X", "UID SEARCH SUBJECT curl").stdout == b"* SEARCH 3\r\n"
    assert curl(imap, "INBOX", "-X", "UID SEARCH NOT FLAGGED SUBJECT first").stdout == b"* SEARCH 1\r\n"
    assert curl(imap, "INBOX", "-X", "UID SEARCH UNSEEN").stdout == b"* SEARCH\r\n"  # all three read now
    assert curl(imap, "INBOX", "-X", "SEARCH ALL").stdout == b"* SEARCH 1 2 3\r\n"
    assert curl(imap, "INBOX?SUBJECT%20first").stdout == b"* SEARCH 1\r\n"
    assert curl(imap, "INBOX", "-X", "UID SEARCH SUBJECT nothing-matches").stdout == b"* SEARCH\r\n"
    # Other custom commands: their untagged responses are what curl prints.
    status = curl(imap, "", "-X", "STATUS INBOX (MESSAGES UNSEEN)").stdout
    assert status == b"* STATUS INBOX (MESSAGES 3 UNSEEN 0)\r\n"
    bad = curl(imap, "INBOX", "-X", "FROB", check=False)
    assert bad.returncode != 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_over_starttls_and_imaps(imap, tmp_path):
    imap.deliver(simple("over tls"))
    stored = fetch_all(imap)
    cert = str(imap.loft.data / "tls" / "cert.pem")
    assert curl(imap, "INBOX;UID=1", "--ssl-reqd", "-k").stdout == stored[1][1]
    upload = tmp_path / "tls.eml"
    upload.write_bytes(simple("appended over tls"))
    curl(imap, "INBOX", "--ssl-reqd", "-k", "-T", str(upload))
    assert curl(imap, "INBOX", "--ssl-reqd", "-k", "-X", "UID SEARCH SUBJECT appended").stdout == b"* SEARCH 2\r\n"
    # IMAPS, trusting Loft's certificate (issued for localhost, which we connect to by name).
    r = subprocess.run(["curl", "-sS", "--max-time", "60", "--cacert", cert, "--resolve",
                        f"localhost:{imap.tls_port}:127.0.0.1", f"imaps://localhost:{imap.tls_port}/INBOX;UID=2",
                        "--user", "alice@example.test:alice-pw"], capture_output=True, timeout=90)
    assert r.returncode == 0, r.stderr
    assert r.stdout == simple("appended over tls")
    # With AUTH=LOGIN instead of PLAIN, and a wrong password.
    assert curl(imap, "", "--login-options", "AUTH=LOGIN").stdout.startswith(b"* LIST")
    wrong = curl(imap, "", user=("alice@example.test", "nope"), check=False)
    assert wrong.returncode == 67  # CURLE_LOGIN_DENIED


# ---------------------------------------------------------------------------------------------
# fetchmail over IMAP


def run_fetchmail(imap, tmp_path, name, keep, fetchall=True, user=ALICE):
    out = tmp_path / f"fetched-{name}"
    out.mkdir()
    deliver = tmp_path / "deliver.sh"  # fetchmail expands % in its mda line: keep it in a script
    deliver.write_text('exec cat > "$1/$(date +%s%N)-$$"\n')
    rc = tmp_path / f"fetchmailrc-{name}"
    rc.write_text(
        f"poll 127.0.0.1 service {imap.port} protocol imap auth password\n"
        f'  user "{user[0]}" there password "{user[1]}" is "{os.environ.get("USER", "root")}" here\n'
        f'  {"keep" if keep else "nokeep"} {"fetchall" if fetchall else ""} no sslcertck\n'
        f'  mda "/bin/sh {deliver} {out}"\n')
    rc.chmod(0o600)
    env = dict(child_env(), HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    r = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "--idfile", str(tmp_path / "fetchids"),
                        "--pidfile", str(tmp_path / "fetchmail.pid"), "-v"],
                       capture_output=True, text=True, env=env, timeout=120)
    # 0: mail fetched; 1: no mail.
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return sorted(p.read_bytes() for p in out.iterdir()), r.stdout + r.stderr


def body_lines(message):
    """The original's lines as fetchmail hands them to the MDA (LF line ends)."""
    return message.replace(b"\r\n", b"\n")


@pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail is not installed")
def test_fetchmail_over_imap_keeping_then_deleting(imap, tmp_path):
    messages = [simple(f"fm {n}", body=f"line one of {n}\r\n.dot line\r\n\r\nlast\r\n") for n in range(3)]
    c = imap.client()
    for m in messages:
        ok(c.append("INBOX", None, None, m))
    ok(c.select("INBOX"))
    ok(c.store("2", "+FLAGS", "(\\Seen)"))
    c.logout()
    # keep, not fetchall: only the unseen ones, which fetchmail then marks \Seen.
    kept, log = run_fetchmail(imap, tmp_path, "keep", keep=True, fetchall=False)
    assert "STARTTLS" in log or "upgrade to TLS" in log
    assert len(kept) == 2, log
    for m in (messages[0], messages[2]):
        assert any(got.endswith(body_lines(m)) for got in kept), (m, kept)
    stored = fetch_all(imap)
    assert sorted(stored) == [1, 2, 3]
    assert all(b"\\Seen" in flags for flags, _ in stored.values())
    assert [data for _, (_, data) in sorted(stored.items())] == messages  # fetching changed no bytes
    # A second keep run finds nothing new.
    again, log = run_fetchmail(imap, tmp_path, "again", keep=True, fetchall=False)
    assert again == [], log
    imap.deliver(simple("fm late"))
    # nokeep, fetchall: everything, then \Deleted and EXPUNGE.
    deleted, log = run_fetchmail(imap, tmp_path, "nokeep", keep=False)
    assert len(deleted) == 4, log
    for m in messages:
        assert any(got.endswith(body_lines(m)) for got in deleted), (m, deleted)
    assert any(b"Subject: fm late" in got for got in deleted)
    assert fetch_all(imap) == {}
    c = imap.client()
    assert ok(c.status("INBOX", "(MESSAGES UIDNEXT)"))[0].endswith(b"(MESSAGES 0 UIDNEXT 5)")
    c.logout()


# ---------------------------------------------------------------------------------------------
# mbsync (isync)


def mbsync_config(imap, tmp_path, tls=False):
    maildir = tmp_path / "Maildir"
    maildir.mkdir()
    rc = tmp_path / ".mbsyncrc"
    security = (f"SSLType STARTTLS\nCertificateFile {imap.loft.data / 'tls' / 'cert.pem'}\nSystemCertificates no\n"
                if tls else "SSLType None\n")
    rc.write_text(
        "IMAPAccount loft\n"
        # Loft's self-signed certificate names localhost, and mbsync checks the name even of a
        # certificate it was told to trust.
        f"Host {'localhost' if tls else '127.0.0.1'}\nPort {imap.port}\nUser alice@example.test\nPass alice-pw\n"
        f"{security}AuthMechs {'PLAIN' if tls else 'LOGIN'}\n\n"
        "IMAPStore loft-far\nAccount loft\n\n"
        f"MaildirStore loft-near\nPath {maildir}/\nInbox {maildir}/INBOX\nSubFolders Verbatim\n\n"
        "Channel loft\nFar :loft-far:\nNear :loft-near:\nPatterns *\nCreate Both\nExpunge Both\n"
        "SyncState *\n")
    return rc, maildir


def mbsync(rc):
    r = subprocess.run(["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=120,
                       env=dict(child_env(), HOME=str(rc.parent)))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


def maildir_messages(folder):
    """{file name: content} of a Maildir folder's cur and new, in the server's form: mbsync
    stores LF line ends and adds an X-TUID header to what it pulls (to find the copy again)."""
    return {p.name: canonical(p.read_bytes()) for sub in ("cur", "new") for p in (folder / sub).iterdir()}


def canonical(message):
    message = re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", message.replace(b"\r\n", b"\n"), count=1)
    return message.replace(b"\n", b"\r\n")


def maildir_flags(name):
    return name.rsplit(":2,", 1)[1] if ":2," in name else ""


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="mbsync is not installed (apt-get install isync)")
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_mbsync_to_a_maildir_and_back(imap, tmp_path, tls):
    c = imap.client()
    ok(c.append("INBOX", "(\\Seen)", None, simple("read one")))
    ok(c.append("INBOX", "(\\Flagged)", None, simple("flagged one")))
    ok(c.append("INBOX", None, None, NESTED))
    ok(c.append("INBOX", "(\\Seen \\Answered)", None, simple("to delete")))
    ok(c.create("Archive/2026"))
    ok(c.append("Archive/2026", "(\\Seen)", None, simple("archived")))
    c.logout()
    rc, maildir = mbsync_config(imap, tmp_path, tls)
    mbsync(rc)

    inbox = maildir_messages(maildir / "INBOX")
    by_content = {data: name for name, data in inbox.items()}
    assert set(by_content) == {simple("read one"), simple("flagged one"), NESTED, simple("to delete")}
    assert maildir_flags(by_content[simple("read one")]) == "S"
    assert maildir_flags(by_content[simple("flagged one")]) == "F"
    assert maildir_flags(by_content[NESTED]) == ""
    assert maildir_flags(by_content[simple("to delete")]) == "RS"
    assert list(maildir_messages(maildir / "Archive" / "2026").values()) == [simple("archived")]

    # A client with CONDSTORE on watches what mbsync does (isync 1.4 itself does not use
    # CONDSTORE: its changes must still move the mod-sequences a CONDSTORE client reads).
    watcher = client(imap)
    watcher.enable("CONDSTORE")
    before_push = watcher.select_folder("INBOX", readonly=True)[b"HIGHESTMODSEQ"]

    # Local changes: flag the read one, delete one, and a new local message and folder.
    read = by_content[simple("read one")]
    sub = "cur" if (maildir / "INBOX" / "cur" / read).exists() else "new"
    os.rename(maildir / "INBOX" / sub / read, maildir / "INBOX" / "cur" / read.replace(":2,S", ":2,FS"))
    doomed = by_content[simple("to delete")]
    for sub in ("cur", "new"):
        if (maildir / "INBOX" / sub / doomed).exists():
            os.unlink(maildir / "INBOX" / sub / doomed)
    (maildir / "INBOX" / "new" / "1790000000.1.local").write_bytes(simple("written locally"))
    local = maildir / "Local"
    for sub in ("cur", "new", "tmp"):
        (local / sub).mkdir(parents=True)
    (local / "cur" / "1790000000.2.local:2,S").write_bytes(simple("in a local folder"))
    imap.deliver(simple("delivered meanwhile"))
    mbsync(rc)

    stored = fetch_all(imap)
    by_data = {canonical(data): flags for flags, data in stored.values()}
    assert simple("to delete") not in by_data  # deleted near: \Deleted and expunged far
    assert by_data[simple("read one")] == {b"\\Seen", b"\\Flagged"}
    assert by_data[simple("flagged one")] == {b"\\Flagged"}
    assert by_data[simple("written locally")] == set()
    assert local.name in {n.split(b'"/" ')[-1].decode().strip('"') for n in ok(imap.client().list())}
    assert [canonical(data) for _, data in fetch_all(imap, "Local").values()] == [simple("in a local folder")]
    delivered = [data for data in by_data if b"Subject: delivered meanwhile" in data]
    assert len(delivered) == 1
    inbox = maildir_messages(maildir / "INBOX")
    assert delivered[0] in inbox.values()
    assert len(inbox) == 5
    # What CHANGEDSINCE reports is exactly what changed: mbsync's flag change and the two new
    # messages; the message it expunged is gone; every MODSEQ is above the one seen before.
    watcher.select_folder("INBOX", readonly=True)
    changed = watcher.fetch(watcher.search("ALL"), ["FLAGS", "MODSEQ", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"],
                            modifiers=[f"CHANGEDSINCE {before_push}"])
    subjects = {bytes(v[b"BODY[HEADER.FIELDS (SUBJECT)]"]).strip() for v in changed.values()}
    assert subjects == {b"Subject: read one", b"Subject: written locally", b"Subject: delivered meanwhile"}, subjects
    assert all(v[b"MODSEQ"][0] > before_push for v in changed.values())
    watcher.logout()
    # Server-side changes come back: a flag set (conditionally, as a CONDSTORE client does)
    # and a message expunged by another client.
    c = imap.client()
    ok(c.select("INBOX"))
    uid_of = {data: uid for uid, (_, data) in stored.items()}
    typ, data = c.uid("STORE", str(uid_of[NESTED]), f"(UNCHANGEDSINCE {before_push})", "+FLAGS", "(\\Seen \\Answered)")
    assert typ == "OK" and b"MODIFIED" not in b" ".join(x for x in data if isinstance(x, bytes)), data
    ok(c.uid("STORE", str(uid_of[simple("flagged one")]), "+FLAGS", "(\\Deleted)"))
    ok(c.expunge())
    c.logout()
    mbsync(rc)
    inbox = maildir_messages(maildir / "INBOX")
    names = {data: name for name, data in inbox.items()}
    assert simple("flagged one") not in names
    assert maildir_flags(names[NESTED]) == "RS"
    # Nothing left to do: a further run changes nothing on either side.
    before = (fetch_all(imap), sorted(maildir_messages(maildir / "INBOX")))
    mbsync(rc)
    assert (fetch_all(imap), sorted(maildir_messages(maildir / "INBOX"))) == before


def test_imapclient_finds_the_special_folders(imap):
    """RFC 6154: imapclient finds each special-use mailbox by its attribute."""
    from imapclient import imapclient as names

    c = client(imap)
    for use, name in [(names.SENT, "Sent"), (names.TRASH, "Trash"), (names.DRAFTS, "Drafts"), (names.JUNK, "Junk"),
                      (names.ARCHIVE, "Archive")]:
        assert c.find_special_folder(use) == name
    flags = {name: set(f) for f, _, name in c.list_folders()}
    assert flags["Sent"] == {b"\\HasNoChildren", b"\\Sent"} and flags["INBOX"] == {b"\\HasNoChildren"}
    c.rename_folder("Sent", "Sent Items")
    assert c.find_special_folder(names.SENT) == "Sent Items", "the use moves with the mailbox"
    c.logout()
