"""`loft import` and `loft export` (issue 14): a Maildir that Dovecot itself wrote (its
dovecot-lda delivered the corpus, doveadm set flags and keywords) and mbox files from the
corpus go into an account with their folders, flags, keywords and dates; exporting that account
and importing the export into another gives identical messages, flags, folders and dates."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import Loft, loopback_gateways_env

CORPUS = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "mimekit"
LDA = "/usr/lib/dovecot/dovecot-lda"


def dovecot(home, *args, stdin=None):
    """Runs a Dovecot tool as `nobody` (dovecot-lda refuses root without a user database)."""
    return subprocess.run(["runuser", "-u", "nobody", "--", "env", f"HOME={home}", "USER=nobody", *args],
                          input=stdin, capture_output=True, check=True, timeout=60)


def dovecot_maildir():
    """A Maildir written by Dovecot: corpus messages in INBOX, Lists/Swift and Entwürfe."""
    home = tempfile.mkdtemp(prefix="loft-dovecot-")
    os.chmod(home, 0o777)
    conf = pathlib.Path(home) / "dovecot.conf"
    conf.write_text("mail_location = maildir:~/Maildir\nnamespace inbox {\n  inbox = yes\n  separator = /\n}\n"
                    "lda_mailbox_autocreate = yes\nlog_path = /dev/null\n")
    conf.chmod(0o644)
    messages = sorted((CORPUS / "messages").glob("*.txt"))[:14]
    for i, path in enumerate(messages):
        folder = ["INBOX", "Lists/Swift", "Entwürfe"][i % 3]
        dovecot(home, LDA, "-c", str(conf), "-f", "carol@remote.test", "-m", folder, stdin=path.read_bytes())
    dovecot(home, "doveadm", "-c", str(conf), "flags", "add", "\\Seen $Junk", "mailbox", "INBOX", "1:2")
    dovecot(home, "doveadm", "-c", str(conf), "flags", "add", "\\Flagged \\Answered project-x", "mailbox", "Lists/Swift", "1")
    return home, pathlib.Path(home) / "Maildir"


def snapshot(loft, account):
    """{mailbox: [(message bytes, sorted flags, internal date)]} of every mailbox."""
    a = loft.admin()
    session = a.call("auth.impersonate", {"account": account})["session"]
    out = {}
    for box in a.call("mailbox.list", {"session": session})["mailboxes"]:
        if box.get("noselect"):
            continue
        listed = a.call("message.list", {"session": session, "mailbox": box["name"]})["messages"]
        out[box["name"]] = [(a.read_all(session, box["name"], m["uid"]), tuple(sorted(m["flags"])), m["internalDate"])
                            for m in listed]
    a.close()
    return out


@pytest.fixture
def server(tmp_path):
    loft = Loft(tmp_path / "data", env=loopback_gateways_env())
    loft.cli("domain", "add", "example.test")
    for who in ("alice", "bob", "carol", "dave"):
        loft.cli("account", "add", f"{who}@example.test", "--password-stdin", input=f"{who}-password\n")
    yield loft
    loft.stop()


@pytest.mark.skipif(not os.path.exists(LDA), reason="Dovecot (dovecot-core) is not installed")
def test_a_maildir_dovecot_wrote_round_trips(server, tmp_path):
    home, maildir = dovecot_maildir()
    try:
        r = server.cli("import", "alice@example.test", str(maildir))
        assert "imported 14 messages into 3 mailboxes" in r.stdout, r.stdout
        alice = snapshot(server, "alice@example.test")
        assert [len(alice[b]) for b in ("INBOX", "Lists/Swift", "Entwürfe")] == [5, 5, 4]
        # Byte for byte what Dovecot stored (with CRLF line ends), dated by the file times.
        for name, box in (("INBOX", maildir), ("Lists/Swift", maildir / ".Lists.Swift"), ("Entwürfe", maildir / ".Entw&APw-rfe")):
            uid = {line.split(" :", 1)[1]: int(line.split()[0]) for line in (box / "dovecot-uidlist").read_text().splitlines()[1:]}
            files = sorted((p for sub in ("cur", "new") for p in (box / sub).iterdir()), key=lambda p: uid[p.name.split(":2,")[0]])
            assert [m[0] for m in alice[name]] == [p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for p in files]
            assert [m[2] for m in alice[name]] == [int(p.stat().st_mtime) for p in files]
        assert [m[1] for m in alice["INBOX"][:3]] == [("$Junk", "\\Seen"), ("$Junk", "\\Seen"), ()]
        assert alice["Lists/Swift"][0][1] == ("\\Answered", "\\Flagged", "project-x")

        out = tmp_path / "export"
        r = server.cli("export", "alice@example.test", str(out), "--format", "maildir")
        assert "exported 14 messages" in r.stdout, r.stdout
        assert (out / ".Lists.Swift" / "dovecot-keywords").read_text() == "0 project-x\n"
        assert any(":2,S" in p.name and p.name.endswith("Sa") for p in (out / "cur").iterdir())
        server.cli("import", "bob@example.test", str(out))
        assert snapshot(server, "bob@example.test") == alice, "import → export → import changed something"
        refused = server.cli("export", "alice@example.test", str(out), check=False)
        assert refused.returncode != 0 and "not empty" in refused.stderr
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_mbox_files_round_trip(server, tmp_path):
    source = CORPUS / "mbox" / "simple.mbox.txt"
    server.cli("import", "carol@example.test", str(source), "--mailbox", "Archive/2026")
    carol = snapshot(server, "carol@example.test")
    assert len(carol["Archive/2026"]) == 3 and carol["INBOX"] == []
    assert all(m[0].startswith(b"Return-Path:") or b"\r\n\r\n" in m[0] for m in carol["Archive/2026"])
    assert not any(b"\nFrom - " in m[0] for m in carol["Archive/2026"]), "a From line left in a message"

    out = tmp_path / "mbox-export"
    server.cli("export", "carol@example.test", str(out), "--format", "mbox")
    assert (out / "Archive" / "2026.mbox").read_bytes().startswith(b"From ")
    server.cli("import", "dave@example.test", str(out))
    assert snapshot(server, "dave@example.test") == carol, "mbox import → export → import changed something"
