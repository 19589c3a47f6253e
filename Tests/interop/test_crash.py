"""Durability: SIGKILL the back-end at random moments while clients stream deliveries.

Afterwards every delivery whose commit was acknowledged is present exactly once and byte-exact,
nothing half-written is visible, and the database and the body files agree (DESIGN §3)."""
import json
import os
import random
import signal
import threading
import time

from conftest import Loft
from loftrpc import Client, RPCError

KILLS = int(os.environ.get("LOFT_CRASH_KILLS", "8"))
STREAMS = 4


def body(tag):
    # Sizes vary so some deliveries span several chunks.
    filler = (b"x" * 70 + b"\r\n") * random.Random(tag).randint(1, 300)
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


def test_sigkill_during_deliveries(tmp_path):
    data = tmp_path / "data"
    loft = Loft(data, role="backend")
    a = loft.admin()
    a.call("domain.add", {"name": "example.test"})
    a.call("account.add", {"address": "alice@example.test", "password": "pw"})
    a.close()
    acked, attempted, stop = [], set(), threading.Event()
    threads = [threading.Thread(target=stream, args=(str(data / "gateway.sock"), n, acked, attempted, stop))
               for n in range(STREAMS)]
    for t in threads:
        t.start()
    rng = random.Random(42)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 1.0))
            loft.stop(sig=signal.SIGKILL)
            loft = Loft(data, role="backend")
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert len(acked) > 20, "too few deliveries to mean anything"

    a = loft.admin()
    session = a.call("auth.impersonate", {"account": "alice@example.test"})["session"]
    seen = {}
    after = 0
    while True:
        page = a.call("message.list", {"session": session, "mailbox": "INBOX", "withStructure": True, "afterUid": after})
        for m in page["messages"]:
            tag = json.loads(m["structure"])["envelope"]["messageID"].strip("<>").split("@")[0]
            seen.setdefault(tag, []).append(m["uid"])
        if not page.get("nextAfterUid"):
            break
        after = page["nextAfterUid"]
    for tag in acked:
        assert len(seen.get(tag, [])) == 1, f"acknowledged {tag} present {len(seen.get(tag, []))} times"
    for tag, uids in seen.items():
        assert tag in attempted and len(uids) == 1
        # whatever is visible is whole: byte-exact to what was sent
        assert a.read_all(session, "INBOX", uids[0]) == b"Return-Path: <s@remote.test>\r\n" + body(tag)
    assert a.call("store.verify")["problems"] == []
    print(f"{len(acked)} acknowledged, {len(seen)} stored, {KILLS} kills")
    loft.stop()
