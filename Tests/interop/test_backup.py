"""`loft backup` and `loft restore` (issue 14): a snapshot of a running server while mail keeps
arriving and old mail is being deleted, brought back into an empty data directory and served
again: every message acknowledged before the backup began is there, byte-exact, and the
restored store passes `loft check --deep`."""
import json
import subprocess
import threading
import time

from conftest import Loft, child_env, login, loft_bin, loopback_gateways_env


def body(n, size):
    head = f"From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: message {n}\r\nMessage-ID: <{n}@backup.test>\r\n\r\n"
    line = f"{n:08d} " + "x" * 68 + "\r\n"
    return head.encode() + (line * (size // len(line) + 1)).encode()


def stored_by_subject(loft):
    g, s = login(loft, "alice@example.test", "alice-pw")
    out = {}
    for m in g.call("message.list", {"session": s, "mailbox": "INBOX"})["messages"]:
        data = g.read_all(s, "INBOX", m["uid"])
        subject = next(line for line in data.split(b"\r\n") if line.startswith(b"Subject: "))
        out[subject[9:].decode()] = data
    g.close()
    return out


def test_backup_while_mail_flows_then_restore(tmp_path):
    loft = Loft(tmp_path / "data", env=loopback_gateways_env())
    try:
        loft.cli("domain", "add", "example.test")
        loft.cli("account", "add", "alice@example.test", "--password-stdin", input="alice-pw\n")
        feed = loft.gateway()
        # Enough large bodies (files, not inline) that copying them takes a while; the first
        # 60 are deleted while the backup runs.
        for n in range(150):
            feed.deliver("carol@remote.test", ["alice@example.test"], body(n, 200_000 if n % 2 == 0 else 3_000))
        acked = {}  # subject -> when delivery.submit answered
        stop = threading.Event()

        def deliver():
            g = loft.gateway()
            n = 1000
            while not stop.is_set():
                g.deliver("carol@remote.test", ["alice@example.test"], body(n, 100_000 if n % 3 == 0 else 2_000))
                acked[f"message {n}"] = time.time()
                n += 1
            g.close()

        def delete():
            g, s = login(loft, "alice@example.test", "alice-pw")
            for uid in range(1, 61):
                g.call("message.expunge", {"session": s, "mailbox": "INBOX", "uids": str(uid), "regardlessOfFlags": True})
                time.sleep(0.005)
            g.close()

        before = {f"message {n}" for n in range(60, 150)}
        writer = threading.Thread(target=deliver)
        writer.start()
        while len(acked) < 5:
            time.sleep(0.01)
        deleter = threading.Thread(target=delete)
        began = time.time()
        deleter.start()
        r = loft.cli("backup", str(tmp_path / "snapshot"), "--json")
        ended = time.time()
        deleter.join()
        stop.set()
        writer.join()
        result = json.loads(r.stdout)
        before |= {s for s, t in acked.items() if t < began}
        during = [s for s, t in acked.items() if began <= t <= ended]
        assert result["fileBodies"] >= 30 and result["messages"] >= len(before), result
        original = stored_by_subject(loft)
        print(f"backup: {ended - began:.2f} s, {len(during)} deliveries acknowledged while it ran, {result}")
        # The snapshot is of the running server: mail kept arriving while it was taken.
        assert during, "no delivery was acknowledged while the backup ran"
        assert (tmp_path / "snapshot" / "backup.json").exists()

        # A backup directory must be new or empty; a relative path is the caller's.
        again = loft.cli("backup", str(tmp_path / "snapshot"), check=False)
        assert again.returncode != 0 and "not empty" in again.stderr, again
    finally:
        loft.stop()

    # Restore into an empty data directory, start Loft there, read everything back.
    def restore():
        return subprocess.run([loft_bin(), "restore", str(tmp_path / "snapshot"), "--data", str(tmp_path / "restored")],
                              capture_output=True, text=True, env=child_env(), timeout=120)
    out = restore()
    assert out.returncode == 0 and "ok: database and files agree" in out.stdout, out
    refused = restore()
    assert refused.returncode != 0 and "already holds a store" in refused.stderr, refused
    restored = Loft(tmp_path / "restored", env=loopback_gateways_env())
    try:
        back = stored_by_subject(restored)
        missing = sorted(before - back.keys())
        assert not missing, f"acknowledged before the backup began, missing after restore: {missing[:10]}"
        for subject in before:
            assert back[subject] == original[subject], subject
        assert set(back) <= set(original) | {f"message {n}" for n in range(60)}, "nothing invented"
        check = restored.cli("check", "--deep")
        assert "ok: database and files agree" in check.stdout, check.stdout
        # The restored server takes mail and logins (the sealing key came along).
        restored.gateway().deliver("carol@remote.test", ["alice@example.test"], body(9999, 500))
        assert "message 9999" in stored_by_subject(restored)
    finally:
        restored.stop()
