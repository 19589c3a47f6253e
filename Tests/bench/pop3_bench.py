"""POP3 benchmark (issue 4): RETR of 1,000 messages of 4 KiB and of 100 messages of 1 MiB in
one session each, and logins per second with 8 concurrent clients, against a real `loft serve`
in a temporary directory.

    LOFT_BIN=.build/release/loft python3 Tests/bench/pop3_bench.py [--hash-cost 15] [--runs 5]

The client is a raw socket reading each response to its terminating ".CRLF", so the figures
measure the server, not poplib's line splitting. Each RETR session runs `--runs` times (the
maildrop is not changed), and every run is printed with the median, because the machine is
shared. The load average is printed too. Results are written up in Tests/bench/POP3.md.
"""
import argparse
import os
import pathlib
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from conftest import Loft, child_env  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Raw:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        reply = self.line()
        if not reply.startswith(b"+OK"):
            raise RuntimeError(reply)
        return reply

    def multiline(self):
        """Reads to the terminating dot line; returns the byte count."""
        data = bytearray(self.buf)
        self.buf = b""
        while not data.endswith(b"\r\n.\r\n") and data != b".\r\n":
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return len(data)

    def login(self, user, password):
        self.cmd(f"USER {user}")
        self.cmd(f"PASS {password}")

    def close(self):
        try:
            self.cmd("QUIT")
        finally:
            self.sock.close()


def fill(loft, user, count, size):
    rpc = loft.gateway()
    body = (b"x" * 76 + b"\r\n") * (size // 78)
    message = b"Subject: bench\r\n\r\n" + body
    for _ in range(count):
        started = rpc.call("delivery.begin", {"sender": "b@remote.test", "recipients": [user]})
        rpc.upload(started["upload"], message)
    rpc.close()


def retr_all(port, user, count):
    c = Raw(port)
    c.login(user, "pw")
    start = time.perf_counter()
    total = 0
    for n in range(1, count + 1):
        c.sock.sendall(b"RETR %d\r\n" % n)
        if not c.line().startswith(b"+OK"):
            raise RuntimeError("RETR failed")
        total += c.multiline()
    elapsed = time.perf_counter() - start
    c.close()
    return elapsed, total


def children(pid):
    """{name: pid} of the processes `loft serve` started (the back-end and the gateways)."""
    found = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and len(cmdline) > 1:
            found[cmdline[1].decode()] = int(entry.name)
    return found


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def logins(port, users, seconds):
    counts = [0] * len(users)
    stop = time.time() + seconds

    def worker(i):
        while time.time() < stop:
            c = Raw(port)
            c.login(users[i], "pw")
            c.close()
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(users))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hash-cost", default="4", help="scrypt log2 cost (production: 15)")
    ap.add_argument("--login-seconds", type=float, default=10)
    ap.add_argument("--runs", type=int, default=5, help="RETR sessions per message size")
    ap.add_argument("--only-small", action="store_true", help="only the 4 KiB RETR runs (for profiling)")
    args = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="loft-pop3-bench-"))
    port = free_port()
    (tmp / "loft.yaml").write_text(
        f"serve:\n  gateways: [pop3]\npop3:\n  listeners:\n    - {{address: 127.0.0.1, port: {port}, tls: none}}\n")
    env = child_env()
    env["LOFT_PASSWORD_HASH_COST"] = args.hash_cost
    env["LOFT_LOG_LEVEL"] = "warning"
    loft = Loft(tmp / "data", extra_args=("--config", str(tmp / "loft.yaml")), env=env)
    try:
        admin = loft.admin()
        admin.call("domain.add", {"name": "bench.test"})
        users = [f"u{i}@bench.test" for i in range(8)]
        for u in ["small@bench.test", "large@bench.test", *users]:
            admin.call("account.add", {"address": u, "password": "pw"})
        admin.close()
        fill(loft, "small@bench.test", 1000, 4096)
        if not args.only_small:
            fill(loft, "large@bench.test", 100, 1 << 20)
        for _ in range(100):
            try:
                Raw(port).sock.close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"load average before: {load_average()}")
        for label, user, count in [("RETR 1000 x 4 KiB, one session", "small@bench.test", 1000),
                                   ("RETR 100 x 1 MiB, one session ", "large@bench.test", 100)][:1 if args.only_small else 2]:
            procs = children(loft.proc.pid)
            before = {name: cpu_seconds(pid) for name, pid in procs.items()}
            client_before = time.process_time()
            runs = [retr_all(port, user, count) for _ in range(args.runs)]
            cpu = {name: cpu_seconds(pid) - before[name] for name, pid in procs.items()}
            cpu["client"] = time.process_time() - client_before
            times = sorted(elapsed for elapsed, _ in runs)
            median = times[len(times) // 2]
            total = runs[0][1]
            print(f"{label}: median {median:.3f} s ({total / median / 1e6:.1f} MB/s); runs "
                  + " ".join(f"{elapsed:.3f}" for elapsed, _ in runs))
            per = count * args.runs
            print("  CPU per message: " + ", ".join(f"{name} {seconds / per * 1e6:.0f} µs" for name, seconds in sorted(cpu.items())))
        rate = logins(port, users, args.login_seconds if not args.only_small else 0)
        print(f"logins (USER/PASS/QUIT), 8 concurrent clients, hash cost {args.hash_cost}: {rate:.0f} per second")
        print(f"load average after: {load_average()}")
    finally:
        loft.stop()


if __name__ == "__main__":
    main()
