"""Durability: SIGKILL the back-end at random moments while clients stream deliveries and
change flags.

Afterwards every delivery whose commit was acknowledged is present exactly once and byte-exact,
every acknowledged flag change is kept, nothing half-written is visible, and the database and
the bodies agree, checked deeply (DESIGN §3)."""
import json
import os
import random
import signal
import smtplib
import socket
import subprocess
import threading
import time

from conftest import STARTED, Loft, child_env, free_port, loft_bin
from loftrpc import Client, RPCError

KILLS = int(os.environ.get("LOFT_CRASH_KILLS", "8"))
STREAMS = 4


def body(tag):
    # Sizes vary so some deliveries span several chunks, and one in five is larger than the
    # inline limit (64 KiB): small bodies go into the database, large ones are files.
    rng = random.Random(tag)
    lines = rng.randint(1000, 3000) if rng.random() < 0.2 else rng.randint(1, 300)
    filler = (b"x" * 70 + b"\r\n") * lines
    return (f"From: s@remote.test\r\nTo: alice@example.test\r\nSubject: crash {tag}\r\n"
            f"Message-ID: <{tag}@crash.test>\r\n\r\n").encode() + filler


def connect(path, stop):
    while not stop.is_set():
        try:
            return Client(path, timeout=10)
        except (OSError, ConnectionError, RPCError):
            time.sleep(0.02)
    return None


def stream(path, n, acked, attempted, stop):
    client = None
    i = 0
    while not stop.is_set():
        if client is None:
            client = connect(path, stop)
            if client is None:
                return
        tag = f"s{n}-{i}"
        try:
            attempted.add(tag)
            r = client.deliver("s@remote.test", ["alice@example.test"], body(tag), chunk=4096)
            assert r["recipients"][0]["status"] == "delivered"
            acked.append(tag)
            i += 1
        except (OSError, ConnectionError, RPCError, json.JSONDecodeError):
            client.close()
            client = None
            i += 1  # a new tag: the old one may or may not have committed


def flag_stream(data, changed, stop):
    """Adds a new keyword to a random existing message, again and again; records each change
    the back-end acknowledged as (uid, keyword)."""
    client, session, n = None, None, 0
    while not stop.is_set():
        try:
            if client is None:
                client = connect(str(data / "admin.sock"), stop)
                if client is None:
                    return
                session = client.call("auth.impersonate", {"account": "alice@example.test"})["session"]
            box = client.call("mailbox.status", {"session": session, "mailbox": "INBOX"})
            if box["uidNext"] <= 1:
                time.sleep(0.02)
                continue
            uid = random.randint(1, box["uidNext"] - 1)
            n += 1
            keyword = f"$k{n}"
            r = client.call("message.flags", {"session": session, "mailbox": "INBOX", "uids": str(uid),
                                              "operation": "add", "flags": [keyword]})
            if r["updated"]:
                changed.append((uid, keyword))
        except (OSError, ConnectionError, RPCError, json.JSONDecodeError):
            if client is not None:
                client.close()
            client = None


def inbox_flags(a, session):
    flags, after = {}, 0
    while True:
        page = a.call("message.list", {"session": session, "mailbox": "INBOX", "afterUid": after})
        for m in page["messages"]:
            flags[m["uid"]] = set(m["flags"])
        if not page.get("nextAfterUid"):
            return flags
        after = page["nextAfterUid"]


def inbox_tags(a, session):
    seen = {}
    after = 0
    while True:
        page = a.call("message.list", {"session": session, "mailbox": "INBOX", "withStructure": True, "afterUid": after})
        for m in page["messages"]:
            tag = m["structure"]["envelope"]["messageID"].strip("<>").split("@")[0]
            seen.setdefault(tag, []).append(m["uid"])
        if not page.get("nextAfterUid"):
            break
        after = page["nextAfterUid"]
    return seen


def kill_backend_under_load(loft, data, stream_fn, kills, spacing, seed, settle, join):
    """Runs STREAMS delivering threads (`stream_fn(n, acked, attempted, stop)`) while the
    back-end is SIGKILLed `kills` times at random moments and started again on the same data.
    Returns the running back-end and what was acknowledged and attempted."""
    acked, attempted, stop = [], set(), threading.Event()
    threads = [threading.Thread(target=stream_fn, args=(n, acked, attempted, stop)) for n in range(STREAMS)]
    for t in threads:
        t.start()
    rng = random.Random(seed)
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(*spacing))
            loft.stop(sig=signal.SIGKILL)
            loft = Loft(data, role="backend")
        time.sleep(settle)
    finally:
        stop.set()
        for t in threads:
            t.join(join)
    return loft, acked, attempted


def test_sigkill_during_deliveries(tmp_path):
    data = tmp_path / "data"
    loft = Loft(data, role="backend")
    a = loft.admin()
    a.call("domain.add", {"name": "example.test"})
    a.call("account.add", {"address": "alice@example.test", "password": "pw"})
    a.close()
    changed, stop_flags = [], threading.Event()
    flagger = threading.Thread(target=flag_stream, args=(data, changed, stop_flags))
    flagger.start()
    try:
        loft, acked, attempted = kill_backend_under_load(
            loft, data, lambda n, *shared: stream(str(data / "gateway.sock"), n, *shared),
            kills=KILLS, spacing=(0.2, 1.0), seed=42, settle=0.5, join=30)
    finally:
        stop_flags.set()
        flagger.join(30)
    assert len(acked) > 20, "too few deliveries to mean anything"
    assert len(changed) > 20, "too few flag changes to mean anything"

    a = loft.admin()
    session = a.call("auth.impersonate", {"account": "alice@example.test"})["session"]
    seen = inbox_tags(a, session)
    flags = inbox_flags(a, session)
    for uid, keyword in changed:
        assert keyword in flags.get(uid, set()), f"acknowledged flag change {keyword} on {uid} lost"
    for tag in acked:
        assert len(seen.get(tag, [])) == 1, f"acknowledged {tag} present {len(seen.get(tag, []))} times"
    for tag, uids in seen.items():
        assert tag in attempted and len(uids) == 1
        # whatever is visible is whole: byte-exact to what was sent
        assert a.read_all(session, "INBOX", uids[0]) == b"Return-Path: <s@remote.test>\r\n" + body(tag)
    assert a.call("store.verify", {"deep": True})["problems"] == []
    large = sum(1 for tag in seen if len(body(tag)) > 64 * 1024)
    assert 0 < large < len(seen), "the mix must hold both inline and file bodies"
    print(f"{len(acked)} acknowledged ({large} large), {len(seen)} stored, {len(changed)} flag changes kept, {KILLS} kills")
    loft.stop()


SMTP_KILLS = int(os.environ.get("LOFT_SMTP_CRASH_KILLS", "12"))


def smtp_stream(port, n, acked, attempted, stop):
    """Sends messages over SMTP as a real MTA would: after a temporary failure (451, a dropped
    connection) the same message again, until it is accepted."""
    i = 0
    while not stop.is_set():
        tag = f"m{n}-{i}"
        attempted.add(tag)
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            try:
                s.helo("crash.test")
                s.sendmail("s@remote.test", ["alice@example.test"], body(tag))
            finally:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    pass
            acked.append(tag)
            i += 1
        except (smtplib.SMTPException, OSError):
            time.sleep(0.05)


def test_sigkill_of_the_backend_under_smtp_loses_and_duplicates_nothing(tmp_path):
    """The back-end dies at random moments while SMTP clients deliver, some of them after the
    commit and before its answer reached the gateway. The gateway asks the restarted back-end
    for the delivery's outcome by its idempotency key: a committed message gets its 250, an
    uncommitted one a 451 and is sent again. Afterwards every message is stored exactly once.
    The back-end and the gateway run as separate processes (no supervisor back-off between
    kills), as `loft serve` would run them."""
    data = tmp_path / "data"
    loft = Loft(data, role="backend")
    a = loft.admin()
    a.call("domain.add", {"name": "example.test"})
    a.call("account.add", {"address": "alice@example.test", "password": "pw"})
    a.close()
    port = free_port()
    gateway_log = open(tmp_path / "smtp.log", "ab")
    gateway = subprocess.Popen(
        [loft_bin(), "smtp", "--data", str(data), "--listen", f"127.0.0.1:{port}/none/mx"],
        stdout=gateway_log, stderr=subprocess.STDOUT, env=child_env())
    STARTED.append(gateway)
    try:
        wait_for_smtp(port)
        loft, acked, attempted = kill_backend_under_load(
            loft, data, lambda n, *shared: smtp_stream(port, n, *shared),
            kills=SMTP_KILLS, spacing=(0.3, 1.2), seed=7, settle=1.0, join=90)
        assert len(acked) > 20, "too few deliveries to mean anything"
        a = loft.admin()
        session = a.call("auth.impersonate", {"account": "alice@example.test"})["session"]
        seen = inbox_tags(a, session)
        for tag in acked:
            assert len(seen.get(tag, [])) == 1, f"acknowledged {tag} present {len(seen.get(tag, []))} times"
        duplicates = {tag: uids for tag, uids in seen.items() if len(uids) > 1}
        assert not duplicates, f"stored twice: {duplicates}"
        for tag, uids in seen.items():
            assert tag in attempted
            assert a.read_all(session, "INBOX", uids[0]).endswith(body(tag))
        assert a.call("store.verify")["problems"] == []
        print(f"{len(acked)} acknowledged, {len(seen)} stored, 0 duplicates, {SMTP_KILLS} kills")
        a.close()
    finally:
        gateway.terminate()
        gateway.wait(30)
        gateway_log.close()
        loft.stop()


def wait_for_smtp(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(512).startswith(b"220"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing answers SMTP on port {port}")
