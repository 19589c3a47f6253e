"""SMTP ingest with Postfix's `smtp-source` (a C load generator), two `loft` binaries
interleaved: OLD, NEW, OLD, NEW … for `--rounds` rounds, each run on a fresh data directory.

Each run starts `loft serve` with only the SMTP gateway (one MX listener on a free loopback
port, no TLS; the same configuration and environment as smtp_bench.py), adds one domain and one
account, warms up with `--warmup` messages, then runs

    smtp-source -s 32 -m N -d -M bench.test -f bench@remote.test -t user@example.test -F <4 KiB file> 127.0.0.1:PORT

32 sessions, each sending its messages over one connection (`-d`), each message to the one local
recipient. smtp-source waits for the 250 after the final dot before it sends the next MAIL on
that connection, and the gateway sends that 250 only after the back-end's durable commit, so
messages/s is "until all are durably stored". smtp-source does not pipeline: HELO, then MAIL,
RCPT, DATA, content each waits for its reply (four round trips per message, where smtp_bench.py
pipelines MAIL/RCPT/DATA and needs two).

CPU is user + system time from /proc/PID/stat of the gateway (`loft smtp`) and the back-end
(`loft backend`) before and after the smtp-source run, per message; smtp-source's own from
its rusage. After each run the account's message count is checked.

    python3 Tests/bench/smtp_source_bench.py --old OLD/.build/release/loft --new NEW/.build/release/loft \
        [--messages 6000] [--sessions 32] [--rounds 3] [--smtp-source /usr/sbin/smtp-source]

smtp-source is in Debian's `postfix` package (`apt-get install postfix`; the package's own
daemon need not run). The message file is 4,096 bytes on the wire (CRLF line ends, headers
included); the gateway adds its Received header.
"""
import argparse
import os
import pathlib
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from conftest import child_env, wait_for  # noqa: E402
from loftrpc import Client  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message_file(path):
    """4,096 bytes once smtp-source has put CRLF after every line (it reads LF lines)."""
    header = "From: bench@remote.test\nTo: user@example.test\nSubject: bench\nMessage-ID: <smtp-source@remote.test>\n\n"
    line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijkl\n"
    size = lambda text: len(text) + text.count("\n")  # noqa: E731  (on the wire)
    body = ""
    while size(header + body + line) <= 4096 - 3:
        body += line
    tail = "x" * (4096 - size(header + body) - 2) + "\n"
    text = header + body + tail
    assert size(text) == 4096, size(text)
    path.write_text(text)
    return path


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid):
    """{role: pid} of the processes `loft serve` started."""
    found = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and len(cmdline) > 1:
            found[cmdline[1].decode()] = int(entry.name)
    return found


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def smtp_source(tool, port, sessions, count, file, check=True):
    """Runs smtp-source; returns (wall seconds, its own CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    r = subprocess.run([tool, "-s", str(sessions), "-m", str(count), "-d", "-M", "bench.test",
                        "-f", "bench@remote.test", "-t", "user@example.test", "-F", str(file), f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check and (r.returncode != 0 or r.stderr.strip()):
        raise RuntimeError(f"smtp-source failed ({r.returncode}): {r.stdout}{r.stderr}")
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def one_run(binary, args, tmp, file):
    """A fresh `loft serve` of `binary`: warm-up, then the measured smtp-source run."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="run-", dir=tmp))
    port = free_port()
    config = work / "loft.yaml"
    config.write_text("log_level: warning\nserve:\n  gateways: [smtp]\nsmtp:\n  max_connections_per_address: 100\n"
                      "  max_recipients_per_connection: 1000000\n"
                      f"  listeners:\n    - {{address: 127.0.0.1, port: {port}, tls: none, mode: mx}}\n")
    data = work / "data"
    log = open(work / "serve.log", "ab")
    proc = subprocess.Popen([binary, "serve", "--data", str(data), "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env=child_env())
    try:
        wait_for(data / "admin.sock", proc=proc)
        wait_for(data / "gateway.sock", proc=proc)
        admin = Client(str(data / "admin.sock"))
        admin.call("domain.add", {"name": "example.test"})
        admin.call("account.add", {"address": "user@example.test", "password": "bench-password"})
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        if args.warmup:
            smtp_source(args.smtp_source, port, min(4, args.sessions), args.warmup, file)
        roles = children(proc.pid)
        gateway, backend = roles["smtp"], roles["backend"]
        load = load_average()
        before = cpu_seconds(gateway), cpu_seconds(backend)
        elapsed, client_cpu = smtp_source(args.smtp_source, port, args.sessions, args.messages, file)
        after = cpu_seconds(gateway), cpu_seconds(backend)
        stored = admin.call("account.get", {"address": "user@example.test"})["messages"]
        admin.close()
        if stored != args.messages + args.warmup:
            raise RuntimeError(f"{stored} messages stored, expected {args.messages + args.warmup}")
        n = args.messages
        return {"msg/s": n / elapsed, "seconds": elapsed,
                "gateway µs/msg": (after[0] - before[0]) / n * 1e6,
                "backend µs/msg": (after[1] - before[1]) / n * 1e6,
                "gw+be µs/msg": (after[0] - before[0] + after[1] - before[1]) / n * 1e6,
                "smtp-source µs/msg": client_cpu / n * 1e6,
                "load": load}
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True, help="the OLD loft binary")
    ap.add_argument("--new", required=True, help="the NEW loft binary")
    ap.add_argument("--messages", type=int, default=6000)
    ap.add_argument("--sessions", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--smtp-source", default="/usr/sbin/smtp-source")
    ap.add_argument("--keep", action="store_true", help="keep each run's directory (logs, data)")
    args = ap.parse_args()
    binaries = {"OLD": os.path.abspath(args.old), "NEW": os.path.abspath(args.new)}
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="loft-smtp-source-"))
    file = message_file(tmp / "message.txt")
    keys = ["msg/s", "gateway µs/msg", "backend µs/msg", "gw+be µs/msg", "smtp-source µs/msg"]
    print(f"# smtp-source {args.sessions} sessions x {args.messages} messages of 4 KiB, one recipient; "
          f"OLD {binaries['OLD']}, NEW {binaries['NEW']}")
    print(f"{'round':>5} {'bin':>3} {'msg/s':>7} {'seconds':>7} {'gateway µs/msg':>14} {'backend µs/msg':>14}"
          f" {'gw+be µs/msg':>12} {'smtp-source µs/msg':>18} {'load':>5}", flush=True)
    results = {"OLD": [], "NEW": []}
    try:
        for r in range(1, args.rounds + 1):
            for name in ("OLD", "NEW"):
                x = one_run(binaries[name], args, tmp, file)
                results[name].append(x)
                print(f"{r:>5} {name:>3} {x['msg/s']:>7.0f} {x['seconds']:>7.2f} {x['gateway µs/msg']:>14.0f}"
                      f" {x['backend µs/msg']:>14.0f} {x['gw+be µs/msg']:>12.0f} {x['smtp-source µs/msg']:>18.0f}"
                      f" {x['load']:>5.2f}", flush=True)
            o, n = results["OLD"][-1], results["NEW"][-1]
            print(f"{r:>5} NEW/OLD: " + ", ".join(f"{k} {n[k] / o[k]:.2f}" for k in keys), flush=True)
    finally:
        if not args.keep:
            subprocess.run(["rm", "-rf", str(tmp)])
        else:
            print(f"runs kept in {tmp}")
    print("\n# medians over rounds")
    print(f"{'figure':>20} {'OLD':>8} {'NEW':>8} {'NEW/OLD':>8}  {'median of per-round ratios':>26}  per round")
    for k in keys:
        old = statistics.median(x[k] for x in results["OLD"])
        new = statistics.median(x[k] for x in results["NEW"])
        ratios = [n[k] / o[k] for o, n in zip(results["OLD"], results["NEW"])]
        print(f"{k:>20} {old:>8.0f} {new:>8.0f} {new / old:>8.2f}  {statistics.median(ratios):>26.2f}  "
              + " ".join(f"{x:.2f}" for x in ratios))


if __name__ == "__main__":
    main()
