"""A full disk is a temporary failure, never a loss (issue 8).

`loft serve` runs with its data directory on a 48 MiB tmpfs. A ballast file fills most of it;
smtplib then delivers 32 KiB messages until the server refuses one. The refusal must be
`452 4.3.1` (RFC 5321 §4.2.2, RFC 3463 X.3.1; Protocol §5 `storage_full`), at RCPT or after the
dot. Every message that got 250 must be there exactly once and byte-exact, the server must
still be running, and once the ballast is gone it must take mail again without a restart, with
the database and the body files in agreement. A POP3 session that deletes and quits on the
full disk either succeeds or answers `-ERR [SYS/TEMP]` with every message still there.

The delivery scenario runs once (the `full_disk` fixture) and records what happened; each test
below judges one part of it, so that a wrong reply code does not hide whether anything was
lost, nor the other way round. Mounting needs root: without it the tests are skipped, saying
so."""
import contextlib
import errno
import json
import os
import poplib
import smtplib
import socket
import subprocess
import time
import types
import uuid

import pytest

from conftest import Loft, loopback_gateways_env

MIB = 1 << 20
FS_SIZE = "48m"
LEFT_FREE = 6 * MIB
MESSAGE_BYTES = 32 * 1024
# 6 MiB holds at most 192 messages of 32 KiB: ten times that means the server accepts what it
# cannot have stored, and the loop ends there rather than never.
MAX_ATTEMPTS = 2000
RETURN_PATH = b"Return-Path: <carol@remote.test>\r\n"


@contextlib.contextmanager
def mounted(mnt):
    """A size-limited tmpfs at `mnt`, unmounted afterwards whatever happened."""
    mnt.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE}", "tmpfs", str(mnt)],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"cannot mount a {FS_SIZE} tmpfs for the data directory (needs root and mount(8)): {e}")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a {FS_SIZE} tmpfs for the data directory (needs root): "
                    f"{(r.stderr or r.stdout).strip() or f'mount exited {r.returncode}'}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def port_of(listeners, n):
    """The port of the n-th listener in a LOFT_*_LISTENERS value (`127.0.0.1:PORT/tls/...`)."""
    return int(listeners.split(",")[n].split("/")[0].rsplit(":", 1)[1])


def wait_for_greeting(port, prefix, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(512).startswith(prefix):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing greets with {prefix!r} on port {port}")


def children(pid):
    """The supervisor's child processes: a child that died and was restarted has a new pid."""
    r = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return sorted(int(p) for p in r.stdout.split())


class DiskServer:
    """`loft serve` (SMTP MX and POP3 on free loopback ports) with its data directory on
    `fs`, its log beside the mount point (a log on the full disk would fail too), and alice."""

    def __init__(self, fs, log_dir, min_free=None):
        env = loopback_gateways_env()
        if min_free is not None:
            env["LOFT_MIN_FREE_SPACE"] = min_free
        self.fs = fs
        self.mx_port = port_of(env["LOFT_SMTP_LISTENERS"], 0)
        self.pop3_port = port_of(env["LOFT_POP3_LISTENERS"], 0)
        self.loft = Loft(fs / "data", env=env, log_dir=log_dir)
        wait_for_greeting(self.mx_port, b"220")
        wait_for_greeting(self.pop3_port, b"+OK")
        a = self.loft.admin()
        a.call("domain.add", {"name": "example.test"})
        a.call("account.add", {"address": "alice@example.test", "password": "alice-pw"})
        a.close()
        self.ballast = fs / "ballast"
        self.children = children(self.loft.proc.pid)

    def free_bytes(self):
        st = os.statvfs(self.fs)
        return st.f_bavail * st.f_frsize

    def fill(self, leave):
        """Writes the ballast file until at most `leave` bytes are free (0: until ENOSPC)."""
        with open(self.ballast, "ab", buffering=0) as f:
            for size in (MIB, 4096):  # tmpfs hands out whole pages
                block = b"\0" * size
                while self.free_bytes() - size >= leave:
                    try:
                        f.write(block)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
            os.fsync(f.fileno())

    def unfill(self):
        self.ballast.unlink()

    def trouble(self):
        """None while `loft serve` and every child it started at first are running, else what
        went wrong."""
        if self.loft.proc.poll() is not None:
            return f"loft serve exited with {self.loft.proc.returncode}"
        now = children(self.loft.proc.pid)
        if now != self.children:
            return f"a child process died and was restarted: pids {self.children} are now {now}"
        return None

    def assert_running(self):
        assert self.trouble() is None, self.trouble()

    def deliver(self, tag):
        """One smtplib transaction of message(tag) to alice: (stage, code, text) of the reply
        that decided it: ("MAIL", …) or ("RCPT", …) when that was refused, else ("DATA", …)."""
        with smtplib.SMTP("127.0.0.1", self.mx_port, timeout=60) as s:
            s.ehlo("client.remote.test")
            code, text = s.mail("carol@remote.test")
            if code != 250:
                return "MAIL", code, text
            code, text = s.rcpt("alice@example.test")
            if code != 250:
                return "RCPT", code, text
            try:
                code, text = s.data(message(tag))
            except smtplib.SMTPDataError as e:  # DATA itself refused (no 354)
                code, text = e.smtp_code, e.smtp_error
            return "DATA", code, text

    def pop3(self):
        p = poplib.POP3("127.0.0.1", self.pop3_port, timeout=60)
        p.user("alice@example.test")
        p.pass_("alice-pw")
        return p

    def inbox(self):
        """{Message-ID tag: [stored bytes, …]} of alice's INBOX, read through the RPC."""
        a = self.loft.admin()
        try:
            session = a.call("auth.impersonate", {"account": "alice@example.test"})["session"]
            found, after = {}, 0
            while True:
                page = a.call("message.list", {"session": session, "mailbox": "INBOX", "afterUid": after})
                for m in page["messages"]:
                    stored = a.read_all(session, "INBOX", m["uid"])
                    found.setdefault(tag_of(stored), []).append(stored)
                if not page.get("nextAfterUid"):
                    return found
                after = page["nextAfterUid"]
        finally:
            a.close()

    def check(self):
        """`loft check --json`: exit status 1 with problems listed is an answer, not an error."""
        r = self.loft.cli("check", "--json", check=False)
        assert r.returncode in (0, 1) and r.stdout.strip(), f"loft check: {r.stdout}{r.stderr}"
        return json.loads(r.stdout)


@contextlib.contextmanager
def disk_server(base, min_free=None):
    with mounted(base / "fs") as fs:
        server = DiskServer(fs, base, min_free)
        try:
            yield server
        finally:
            server.loft.stop()


@pytest.fixture
def server(tmp_path):
    with disk_server(tmp_path, min_free="0") as s:
        yield s


def message(tag):
    """Exactly MESSAGE_BYTES, CRLF lines, no leading dots: what the server must store after its
    Return-Path and Received lines."""
    head = (f"From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: disk full {tag}\r\n"
            f"Message-ID: <{tag}@diskfull.test>\r\n\r\n").encode()
    line = f"{tag} is one of the messages that fill the disk ".encode().ljust(76, b"x") + b"\r\n"
    n = (MESSAGE_BYTES - len(head)) // len(line) - 1
    rest = MESSAGE_BYTES - len(head) - n * len(line)
    return head + line * n + b"y" * (rest - 2) + b"\r\n"


def tag_of(stored):
    for line in stored.split(b"\r\n"):
        if line.startswith(b"Message-ID: <"):
            return line[len(b"Message-ID: <"):].split(b"@")[0].decode()
        if not line:
            break
    raise AssertionError(f"no Message-ID in {stored[:200]!r}")


def client_bytes(stored):
    """What the client sent: the stored message without its Return-Path line and the
    gateway's Received field (and that field's continuation lines)."""
    assert stored.startswith(RETURN_PATH), stored[:100]
    lines = stored[len(RETURN_PATH):].split(b"\r\n")
    assert lines[0].startswith(b"Received: "), lines[0]
    n = 1
    while lines[n].startswith((b"\t", b" ")):
        n += 1
    return b"\r\n".join(lines[n:])


def new_tag(n):
    return f"m{n}-{uuid.uuid4().hex[:8]}"


def is_storage_full(reply):
    stage, code, text = reply
    return code == 452 and text.startswith(b"4.3.1")


def deliver_or_fail(server, tag):
    """`server.deliver`, with a broken connection recorded as a reply of its own."""
    try:
        return server.deliver(tag)
    except (smtplib.SMTPException, OSError) as e:
        return "CONNECTION", None, repr(e).encode()


def read_by_pop3(server):
    """{tag: [stored bytes, …]} as poplib retrieves them, or the error that stopped it."""
    try:
        p = server.pop3()
        count, _ = p.stat()
        seen = {}
        for n in range(1, count + 1):
            stored = b"\r\n".join(p.retr(n)[1]) + b"\r\n"
            seen.setdefault(tag_of(stored), []).append(stored)
        p.quit()
        return seen
    except (poplib.error_proto, OSError) as e:
        return f"POP3 failed: {e!r}"


@pytest.fixture(scope="module", params=["0", "2M"], ids=["writes-fail", "free-space-floor"])
def full_disk(request, tmp_path_factory):
    """Fills the data directory's file system to LEFT_FREE, delivers until the server refuses
    (and three more), reads the mailbox by POP3 while the disk is full, removes the ballast and
    delivers again; returns what happened at each step, judged by the tests below.

    Twice: with the free-space floor off, so that the disk really fills and SQLite's and the
    body files' writes fail (ENOSPC, SQLITE_FULL); and with a 2 MiB floor, where the back-end
    refuses at RCPT before that happens."""
    with disk_server(tmp_path_factory.mktemp("diskfull"), min_free=request.param) as server:
        run = types.SimpleNamespace(acked={}, refusals=[], resumed=[])
        server.fill(leave=LEFT_FREE)
        print(f"\nballast {server.ballast.stat().st_size} bytes, {server.free_bytes()} bytes left free")
        for n in range(MAX_ATTEMPTS):
            tag = new_tag(n)
            reply = deliver_or_fail(server, tag)
            if reply[1] != 250:
                run.refusals.append(reply)
                break
            run.acked[tag] = message(tag)
        print(f"{len(run.acked)} acknowledged; then {run.refusals[:1]}, {server.free_bytes()} bytes free")
        # Still full: the next ones are refused too (or, should the server have found room, stored).
        for n in range(3):
            tag = new_tag(MAX_ATTEMPTS + n)
            reply = deliver_or_fail(server, tag)
            if reply[1] == 250:
                run.acked[tag] = message(tag)
            else:
                run.refusals.append(reply)
        run.trouble_when_full = server.trouble()
        run.acked_when_full = dict(run.acked)
        run.pop3_when_full = read_by_pop3(server)

        server.unfill()
        for n in range(5):
            tag = new_tag(2 * MAX_ATTEMPTS + n)
            reply = deliver_or_fail(server, tag)
            run.resumed.append(reply)
            if reply[1] == 250:
                run.acked[tag] = message(tag)
                break
            time.sleep(1)
        print(f"with room again: {run.resumed}")
        run.trouble_after = server.trouble()
        run.inbox_after = server.inbox()
        run.check_after = server.check()
        yield run


def assert_exactly(acked, stored, where):
    """`stored` ({tag: [bytes, …]}) holds each acknowledged message once, byte-exact, and
    nothing else."""
    assert isinstance(stored, dict), f"{where}: {stored}"
    assert sorted(stored) == sorted(acked), (
        f"{where}: {len(stored)} messages, {len(acked)} acknowledged; missing "
        f"{sorted(set(acked) - set(stored))[:5]}, never acknowledged {sorted(set(stored) - set(acked))[:5]}")
    for tag, copies in stored.items():
        assert len(copies) == 1, f"{where}: {tag} is there {len(copies)} times"
        assert client_bytes(copies[0]) == acked[tag], f"{where}: {tag} is not byte-exact"


def test_a_full_disk_is_refused_with_452_4_3_1(full_disk):
    assert full_disk.refusals, (f"{MAX_ATTEMPTS} messages of {MESSAGE_BYTES} bytes all got 250 on a file system "
                                f"with {LEFT_FREE} bytes free")
    wrong = [r for r in full_disk.refusals if not is_storage_full(r)]
    assert not wrong, f"a full disk must be answered 452 4.3.1 (at RCPT or after the dot), got {full_disk.refusals}"


def test_the_server_keeps_running_on_a_full_disk(full_disk):
    assert full_disk.trouble_when_full is None, full_disk.trouble_when_full
    assert full_disk.trouble_after is None, full_disk.trouble_after


def test_pop3_on_the_full_disk_has_exactly_the_acknowledged_messages(full_disk):
    assert_exactly(full_disk.acked_when_full, full_disk.pop3_when_full, "POP3 on the full disk")


def test_mail_is_taken_again_once_there_is_room(full_disk):
    assert full_disk.resumed[-1][1] == 250, f"with the ballast gone, deliveries still fail: {full_disk.resumed}"
    assert_exactly(full_disk.acked, full_disk.inbox_after, "INBOX afterwards")


def test_the_store_is_consistent_afterwards(full_disk):
    assert full_disk.check_after["problems"] == []


def test_pop3_dele_and_quit_on_a_full_disk(server):
    tags = [new_tag(n) for n in range(5)]
    for tag in tags:
        assert server.deliver(tag)[1] == 250
    server.fill(leave=0)
    print(f"ballast {server.ballast.stat().st_size} bytes, {server.free_bytes()} bytes left free")

    p = server.pop3()
    assert p.stat()[0] == len(tags)
    for n in range(1, len(tags) + 1):
        assert p.dele(n).startswith(b"+OK")
    try:
        quit_reply = p.quit()
    except poplib.error_proto as e:
        quit_reply = e.args[0]
        p.close()
    print(f"QUIT on the full disk: {quit_reply!r}")
    server.assert_running()

    left = server.inbox()
    if quit_reply.startswith(b"+OK"):
        assert left == {}, f"QUIT said +OK but {sorted(left)} are still there"
    else:
        assert quit_reply.startswith(b"-ERR [SYS/TEMP]"), quit_reply
        assert sorted(left) == sorted(tags), f"after -ERR at QUIT: {sorted(left)} of {sorted(tags)}"
        for tag, copies in left.items():
            assert len(copies) == 1 and client_bytes(copies[0]) == message(tag), tag

    server.unfill()
    if left:
        p = server.pop3()  # the lock went with the failed session
        for n in range(1, len(tags) + 1):
            p.dele(n)
        assert p.quit().startswith(b"+OK")
        assert server.inbox() == {}
    server.assert_running()
    assert server.check()["problems"] == []
