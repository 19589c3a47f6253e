"""Outbound relay (issue 11): `loft relay` against Postfix, both delivering the same 4 KiB
messages to the same local sink in the same run. See RELAY.md for the figures.

The sink is Postfix's `smtp-sink` (Debian's `postfix` package) on 127.0.0.2:SINK_PORT, started
afresh for every run with `-c`: it prints a running counter (`sess=.. quit=.. mesg=N`) each time
it receives the final dot; a reader thread in this process timestamps every change of `msg`
with time.monotonic(), so "the sink has the message" is measured on the same clock as the
client's "250 after the dot".

Throughput: for each run, `smtp-source -s SESSIONS -m N -d -f sender@example.test
-t rcpt@sink.test -F <4 KiB file>` submits N messages over SESSIONS connections, one recipient
each; messages/s is N over the time from the start of submission until the sink has counted
all N, so it is end to end: accepting, queueing durably, leasing and delivering.
- Loft: `loft serve` (release build, fresh data directory) with `serve.gateways: [smtp, relay]`,
  one MX listener on a free loopback port with `smtp.trusted_networks: [127.0.0.0/8]` (so the
  MX port relays for the client without AUTH), `relay.routes: {sink.test: 127.0.0.2:SINK_PORT}`,
  `relay.tls: none`, `relay.workers: W` for each W in --workers.
- Postfix: the peer stack's MX (127.0.0.1:3525, ../shared/peers/up.sh). For the run only,
  its main.cf gets `relay_domains = sink.test` (its smtpd_relay_restrictions are just
  reject_unauth_destination, so that is what lets 127.0.0.1 relay there without AUTH) and
  `transport_maps = texthash:<conf>/relay-bench-transport` with
  `sink.test smtp:[127.0.0.2]:SINK_PORT`, then `postfix reload`; the original main.cf is put
  back (and reloaded) when the script ends, also on failure or Ctrl-C. If the script is killed
  hard, `up.sh` (or `up.sh --restart postfix`) regenerates main.cf. Postfix delivers with its
  defaults: default_destination_concurrency_limit 20 (starting at
  initial_destination_concurrency 5), connection caching on demand.
Runs are interleaved: Loft(W1), Postfix, Loft(W2), Postfix, … for --rounds rounds; each
Loft(W) is compared with the Postfix run right after it.

Each run is preceded by a warm-up of --warmup messages through the same system (waited for at
the sink). CPU: user + system time of `loft smtp`, `loft backend` and `loft relay` from /proc
per message; and for both systems the whole machine's busy CPU time per message from
/proc/stat (which includes smtp-source and smtp-sink, the same for both).

Latency: afterwards, with both systems idle and queues empty, --latency messages each,
alternating Loft, Postfix, Loft …, one at a time over one smtplib connection per system: the
client's time when the 250 after the dot arrives, then the sink's time for that message; the
next message goes --gap-ms after the sink had the previous one. p50/p99/max per system.

    sudo /work/shared/peers/up.sh        # root: Postfix + Dovecot + slapd on loopback
    python3 Tests/bench/relay_bench.py --loft .build/release/loft [--messages 10000] [--rounds 2] \
        [--workers 1,8] [--sessions 8] [--latency 200] [--sink-port 2526] [--keep]

Runs as root (it edits and reloads the peer Postfix; smtp-sink is started with `-u nobody`).
"""
import argparse
import os
import pathlib
import re
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from smtp_source_bench import children, cpu_seconds, free_port, load_average, message_file  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from conftest import child_env, wait_for_socket  # noqa: E402
from loftrpc import Client  # noqa: E402

SINK_ADDRESS = "127.0.0.2"
SENDER = "sender@example.test"
RECIPIENT = "rcpt@sink.test"


OTHERS = "swift-test|swift test|pytest|swift-build|swift-frontend"


def others_running():
    """Test suites or builds of someone else on this machine (they make figures garbage)."""
    r = subprocess.run(["pgrep", "-f", OTHERS], capture_output=True, text=True)
    return bool(r.stdout.strip())


def wait_quiet(seconds):
    """Waits until no test suite or build has run for `seconds` (checked every 5 s)."""
    quiet_since = time.monotonic()
    announced = False
    while time.monotonic() - quiet_since < seconds:
        if others_running():
            if not announced:
                print(f"    (waiting for {seconds} s without test suites or builds)", flush=True)
                announced = True
            quiet_since = time.monotonic()
        time.sleep(5)


def machine_busy_seconds():
    """CPU time spent not idle, all cores, from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_port(host, port, timeout=30, proc=None):
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode}")
            if time.time() > deadline:
                raise
            time.sleep(0.05)


class Sink:
    """smtp-sink -c on 127.0.0.2:port; `times[k]` is when the counter reached k + 1."""

    def __init__(self, tool, port):
        self.proc = subprocess.Popen([tool, "-u", "nobody", "-c", f"{SINK_ADDRESS}:{port}", "256"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.times = []
        self.sessions = 0
        self.port = port
        self.cond = threading.Condition()
        self.tail = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        wait_port(SINK_ADDRESS, port, proc=self.proc)
        # The probe connection above counts as a session, never as a message.

    def _read(self):
        pattern = re.compile(rb"sess=(\d+) .*mesg=(\d+)")
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            now = time.monotonic()
            if not chunk:
                with self.cond:
                    self.cond.notify_all()
                return
            data = self.tail + chunk
            parts = data.split(b"\r")
            self.tail = parts.pop()
            with self.cond:
                for part in parts:
                    m = pattern.search(part)
                    if m:
                        self.sessions = int(m.group(1))
                        n = int(m.group(2))
                        while len(self.times) < n:
                            self.times.append(now)
                self.cond.notify_all()

    def connections(self):
        """Established connections to the sink now (its side, from /proc/net/tcp)."""
        local = "%08X:%04X" % (int.from_bytes(socket.inet_aton(SINK_ADDRESS), "little"), self.port)
        with open("/proc/net/tcp") as f:
            return sum(1 for line in f if line.split()[1:2] == [local] and line.split()[3] == "01")

    @property
    def count(self):
        with self.cond:
            return len(self.times)

    def wait_count(self, n, stall=60):
        """Waits until the sink has n messages; raises after `stall` seconds without progress."""
        with self.cond:
            last, since = len(self.times), time.monotonic()
            while len(self.times) < n:
                if self.proc.poll() is not None and len(self.times) < n:
                    raise RuntimeError(f"smtp-sink exited ({self.proc.returncode}) at {len(self.times)} messages")
                self.cond.wait(1)
                if len(self.times) != last:
                    last, since = len(self.times), time.monotonic()
                elif time.monotonic() - since > stall:
                    raise TimeoutError(f"the sink is stuck at {len(self.times)} of {n} messages")
            return self.times[n - 1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)


class PeerPostfix:
    """The peer stack's Postfix, relaying sink.test to the sink for the benchmark's lifetime."""

    def __init__(self, state, sink_port):
        self.conf = pathlib.Path(state) / "postfix"
        self.main = self.conf / "main.cf"
        self.backup = self.conf / "main.cf.relay-bench-orig"
        self.transport = self.conf / "relay-bench-transport"
        env = {}
        for line in (pathlib.Path(state) / "anchors.env").read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
        self.port = int(env.get("ANCHOR_SMTP_PORT", "3525"))
        pid = (pathlib.Path(state) / "postfix-spool" / "pid" / "master.pid").read_text().strip()
        if not pid or not os.path.exists(f"/proc/{pid}"):
            raise RuntimeError("the peer Postfix is not running: run ../shared/peers/up.sh (as root)")
        if self.backup.exists():
            # A previous run was killed before restoring: its backup is the original.
            shutil.copy2(self.backup, self.main)
        shutil.copy2(self.main, self.backup)
        self.transport.write_text(f"sink.test smtp:[{SINK_ADDRESS}]:{sink_port}\n")
        self.postconf("relay_domains = sink.test", f"transport_maps = texthash:{self.transport}")
        self.reload()

    def postconf(self, *settings):
        subprocess.run(["postconf", "-c", str(self.conf), "-e", *settings], check=True)

    def setting(self, name):
        return subprocess.run(["postconf", "-c", str(self.conf), "-h", name], check=True,
                              capture_output=True, text=True).stdout.strip()

    def reload(self):
        subprocess.run(["postfix", "-c", str(self.conf), "reload"], check=True, capture_output=True)
        time.sleep(1)
        wait_port("127.0.0.1", self.port)

    def queued(self):
        out = subprocess.run(["postqueue", "-c", str(self.conf), "-p"], capture_output=True, text=True).stdout
        if "Mail queue is empty" in out:
            return 0
        m = re.search(r"in (\d+) Requests?", out)
        return int(m.group(1)) if m else -1

    def wait_empty(self, timeout=60):
        deadline = time.time() + timeout
        while (n := self.queued()) != 0:
            if time.time() > deadline:
                raise RuntimeError(f"Postfix's queue still holds {n} messages")
            time.sleep(0.5)

    def restore(self):
        if self.backup.exists():
            shutil.copy2(self.backup, self.main)
            self.backup.unlink()
        self.transport.unlink(missing_ok=True)
        self.reload()


class LoftServe:
    """A fresh `loft serve` with SMTP (MX, trusted loopback) and the relay to the sink."""

    def __init__(self, binary, tmp, workers, sink_port):
        self.work = pathlib.Path(tempfile.mkdtemp(prefix=f"loft-w{workers}-", dir=tmp))
        self.port = free_port()
        config = self.work / "loft.yaml"
        config.write_text(
            "log_level: info\n"
            "serve:\n  gateways: [smtp, relay]\n"
            "smtp:\n  hostname: mx.loft.test\n  max_connections_per_address: 100\n"
            "  max_recipients_per_connection: 1000000\n  trusted_networks: [127.0.0.0/8]\n"
            f"  listeners:\n    - {{address: 127.0.0.1, port: {self.port}, tls: none, mode: mx}}\n"
            f"relay:\n  workers: {workers}\n  helo_name: relay.loft.test\n  tls: none\n"
            f"  routes: {{sink.test: \"{SINK_ADDRESS}:{sink_port}\"}}\n")
        self.data = self.work / "data"
        self.log_path = self.work / "serve.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([binary, "serve", "--data", str(self.data), "--config", str(config)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=child_env())
        wait_for_socket(self.data / "admin.sock", proc=self.proc)
        wait_port("127.0.0.1", self.port, proc=self.proc)
        deadline = time.time() + 30
        while set(children(self.proc.pid)) < {"backend", "smtp", "relay"}:
            if time.time() > deadline:
                raise RuntimeError(f"loft serve children: {children(self.proc.pid)}")
            time.sleep(0.1)
        self.roles = {k: v for k, v in children(self.proc.pid).items() if k in ("backend", "smtp", "relay")}

    def cpu(self):
        return {role: cpu_seconds(pid) for role, pid in self.roles.items()}

    def queue_status(self):
        admin = Client(str(self.data / "admin.sock"))
        try:
            return admin.call("queue.status", {})
        finally:
            admin.close()

    def wait_queue_empty(self, timeout=30):
        deadline = time.time() + timeout
        while (s := self.queue_status())["messages"] != 0:
            if time.time() > deadline:
                raise RuntimeError(f"Loft's queue still holds {s}")
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def log_summary(self):
        """(delivered lines, other relay outcome lines, lines at warning or above)."""
        text = self.log_path.read_text(errors="replace").splitlines()
        relay = [l for l in text if "[Relay]" in l]
        delivered = sum(1 for l in relay if "> delivered" in l)
        outcomes = [l for l in relay if re.search(r"> (deferred|failed)", l) or "ignored" in l]
        bad = [l for l in text if re.search(r"\b(warning|error|critical)\b", l, re.I)]
        return delivered, outcomes, bad


def smtp_source(tool, port, sessions, count, file):
    r = subprocess.run([tool, "-s", str(sessions), "-m", str(count), "-d", "-M", "client.test",
                        "-f", SENDER, "-t", RECIPIENT, "-F", str(file), f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0 or r.stderr.strip():
        raise RuntimeError(f"smtp-source failed ({r.returncode}): {r.stdout}{r.stderr}")


def throughput_run(args, port, sink, cpu=None):
    """Warm-up, then N messages; sink counts from 0 (fresh sink)."""
    if args.warmup:
        smtp_source(args.smtp_source, port, min(4, args.sessions), args.warmup, args.file)
        sink.wait_count(args.warmup)
        time.sleep(0.5)
    load = load_average()
    before_cpu = cpu() if cpu else None
    before_busy = machine_busy_seconds()
    sessions_before = sink.sessions
    samples, stop = [], threading.Event()

    disturbed = [others_running()]

    def sample():  # connections open at the sink, every 50 ms; other jobs every second
        while not stop.wait(0.05):
            samples.append(sink.connections())
            if len(samples) % 20 == 0 and not disturbed[0]:
                disturbed[0] = others_running()

    sampler = threading.Thread(target=sample, daemon=True)
    start = time.monotonic()
    sampler.start()
    smtp_source(args.smtp_source, port, args.sessions, args.messages, args.file)
    submitted = time.monotonic()
    at_submitted = sink.count - args.warmup
    done = sink.wait_count(args.warmup + args.messages)
    busy = machine_busy_seconds() - before_busy
    stop.set()
    sampler.join()
    n = args.messages
    out = {"msg/s": n / (done - start), "seconds": done - start, "submit msg/s": n / (submitted - start),
           "tail s": done - submitted, "machine CPU µs/msg": busy / n * 1e6, "load": load,
           "sink conns max": max(samples, default=0), "sink conns mean": statistics.mean(samples) if samples else 0,
           "sink sessions": sink.sessions - sessions_before, "disturbed": disturbed[0] or others_running(),
           "delivered during submission": at_submitted,
           # The relay alone, once submission is over (only meaningful when the tail is long).
           "drain msg/s": (n - at_submitted) / (done - submitted) if done - submitted > 1 else float("nan")}
    if cpu:
        after_cpu = cpu()
        for role in ("smtp", "backend", "relay"):
            out[f"{role} µs/msg"] = (after_cpu[role] - before_cpu[role]) / n * 1e6
    return out


def loft_run(args, tmp, workers):
    sink = Sink(args.smtp_sink, args.sink_port)
    loft = None
    try:
        loft = LoftServe(args.loft, tmp, workers, args.sink_port)
        x = throughput_run(args, loft.port, sink, cpu=loft.cpu)
        time.sleep(0.5)
        if sink.count != args.warmup + args.messages:
            raise RuntimeError(f"the sink got {sink.count} messages, expected {args.warmup + args.messages}")
        loft.wait_queue_empty()
        return x, loft
    finally:
        if loft:
            loft.stop()
        sink.stop()


def postfix_run(args, postfix):
    postfix.wait_empty()
    sink = Sink(args.smtp_sink, args.sink_port)
    try:
        x = throughput_run(args, postfix.port, sink)
        postfix.wait_empty()
        time.sleep(0.5)
        if sink.count != args.warmup + args.messages:
            raise RuntimeError(f"the sink got {sink.count} messages, expected {args.warmup + args.messages}")
        return x
    finally:
        sink.stop()


def percentile(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def latency_run(args, tmp, postfix):
    """Alternating single messages through Loft and Postfix into one sink."""
    postfix.wait_empty()
    sink = Sink(args.smtp_sink, args.sink_port)
    loft = None
    clients = {}
    try:
        loft = LoftServe(args.loft, tmp, max(args.workers), args.sink_port)
        body = args.file.read_bytes().replace(b"\n", b"\r\n")
        clients = {"Loft": smtplib.SMTP("127.0.0.1", loft.port, timeout=60),
                   "Postfix": smtplib.SMTP("127.0.0.1", postfix.port, timeout=60)}
        for c in clients.values():
            c.ehlo("client.test")
        got = {"Loft": [], "Postfix": []}
        count = 0
        # A few untimed messages first, through each, as the throughput runs warm up.
        for i in range(2 * (args.latency + 2)):
            name = "Loft" if i % 2 == 0 else "Postfix"
            msg = body.replace(b"Subject: bench", b"Subject: latency %d" % i, 1)
            clients[name].sendmail(SENDER, [RECIPIENT], msg)
            t250 = time.monotonic()
            count += 1
            arrived = sink.wait_count(count, stall=30)
            if i >= 4:
                got[name].append((arrived - t250) * 1000)
            time.sleep(args.gap_ms / 1000)
        for c in clients.values():
            c.quit()
        loft.wait_queue_empty()
        postfix.wait_empty()
        return got, loft
    finally:
        if loft:
            loft.stop()
        sink.stop()


def report_log(loft, label):
    delivered, outcomes, bad = loft.log_summary()
    print(f"    {label} log: {delivered} messages delivered by the relay, {len(outcomes)} deferred/failed/ignored,"
          f" {len(bad)} at warning or above ({loft.log_path})", flush=True)
    for line in (outcomes[:5] + bad[:10]):
        print(f"      | {line[:300]}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loft", default=os.environ.get("LOFT_BIN", ".build/release/loft"))
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", default="1,8", help="relay.workers values, comma separated")
    ap.add_argument("--sessions", type=int, default=8, help="smtp-source sessions (submission)")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--latency", type=int, default=200, help="messages per system for the latency part (0: skip)")
    ap.add_argument("--gap-ms", type=int, default=50)
    ap.add_argument("--sink-port", type=int, default=2526)
    ap.add_argument("--anchor-state", default=os.environ.get("ANCHOR_STATE", os.path.join(os.environ.get("TMPDIR", "/tmp"), "loft-anchors")))
    ap.add_argument("--smtp-source", default="/usr/sbin/smtp-source")
    ap.add_argument("--smtp-sink", default="/usr/sbin/smtp-sink")
    ap.add_argument("--keep", action="store_true", help="keep each run's directory (logs, data)")
    ap.add_argument("--wait-quiet", type=int, default=0, metavar="SECONDS",
                    help="before each Loft/Postfix pair, wait until no test suite or build has run for this long")
    args = ap.parse_args()
    args.loft = os.path.abspath(args.loft)
    args.workers = [int(w) for w in args.workers.split(",")]
    # Stopped with SIGTERM (or SIGINT from a background job, where Python ignores it): the
    # finally blocks still stop loft and the sink and put Postfix's main.cf back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="loft-relay-bench-"))
    args.file = message_file(tmp / "message.txt")
    postfix = PeerPostfix(args.anchor_state, args.sink_port)
    results = {w: [] for w in args.workers}
    results["Postfix"] = []
    pairs = {w: [] for w in args.workers}
    keys = ["msg/s", "seconds", "submit msg/s", "tail s", "machine CPU µs/msg"]
    try:
        print(f"# {args.messages} messages of 4 KiB to <{RECIPIENT}>, smtp-source {args.sessions} sessions, "
              f"warm-up {args.warmup}; Loft {args.loft}; Postfix {postfix.conf} (default_destination_concurrency_limit "
              f"{postfix.setting('default_destination_concurrency_limit')}, initial_destination_concurrency "
              f"{postfix.setting('initial_destination_concurrency')}); sink smtp-sink on {SINK_ADDRESS}:{args.sink_port}",
              flush=True)
        for r in range(1, args.rounds + 1):
            for w in args.workers:
                if args.wait_quiet:
                    wait_quiet(args.wait_quiet)
                x, loft = loft_run(args, tmp, w)
                results[w].append(x)
                print(f"round {r} Loft workers={w}: " + ", ".join(f"{k} {x[k]:.1f}" for k in keys)
                      + f", smtp {x['smtp µs/msg']:.0f} / backend {x['backend µs/msg']:.0f} / relay "
                        f"{x['relay µs/msg']:.0f} µs/msg, sink connections max {x['sink conns max']} mean {x['sink conns mean']:.1f}"
                        f", sessions {x['sink sessions']}, {x['delivered during submission']} at the sink when submission ended"
                        f", then {x['drain msg/s']:.0f} msg/s, load {x['load']:.2f}"
                        + (" DISTURBED (a test suite or build ran meanwhile)" if x["disturbed"] else ""), flush=True)
                report_log(loft, f"workers={w}")
                if not args.keep:
                    shutil.rmtree(loft.work, ignore_errors=True)
                p = postfix_run(args, postfix)
                results["Postfix"].append(p)
                pairs[w].append((x, p))
                print(f"round {r} Postfix:           " + ", ".join(f"{k} {p[k]:.1f}" for k in keys)
                      + f", sink connections max {p['sink conns max']} mean {p['sink conns mean']:.1f}, sessions {p['sink sessions']}"
                      + f", load {p['load']:.2f}"
                      + (" DISTURBED (a test suite or build ran meanwhile)" if p["disturbed"] else ""), flush=True)
                print(f"round {r} Loft({w})/Postfix msg/s {x['msg/s'] / p['msg/s']:.2f}", flush=True)
        latency = None
        if args.latency:
            if args.wait_quiet:
                wait_quiet(args.wait_quiet)
            busy_before = others_running()
            latency, loft = latency_run(args, tmp, postfix)
            if busy_before or others_running():
                print("    latency run DISTURBED (a test suite or build ran meanwhile)", flush=True)
            report_log(loft, "latency run")
            if not args.keep:
                shutil.rmtree(loft.work, ignore_errors=True)
    finally:
        postfix.restore()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"runs kept in {tmp}")

    print("\n# throughput, medians over rounds (each Loft run paired with the Postfix run after it)")
    print(f"{'system':>16} {'msg/s':>8} {'submit msg/s':>12} {'tail s':>7} {'machine CPU µs/msg':>18}  per round msg/s")
    for name in [*args.workers, "Postfix"]:
        rows = results[name]
        label = f"Loft workers={name}" if name != "Postfix" else "Postfix"
        print(f"{label:>16} {statistics.median(x['msg/s'] for x in rows):>8.0f} "
              f"{statistics.median(x['submit msg/s'] for x in rows):>12.0f} {statistics.median(x['tail s'] for x in rows):>7.2f} "
              f"{statistics.median(x['machine CPU µs/msg'] for x in rows):>18.0f}  "
              + " ".join(f"{x['msg/s']:.0f}{'*' if x['disturbed'] else ''}" for x in rows))
    if any(x["disturbed"] for rows in results.values() for x in rows):
        print("(* a test suite or build ran during that run)")
    for w in args.workers:
        ratios = [x["msg/s"] / p["msg/s"] for x, p in pairs[w]]
        cpu = [x["machine CPU µs/msg"] / p["machine CPU µs/msg"] for x, p in pairs[w]]
        print(f"Loft(workers={w})/Postfix msg/s: median {statistics.median(ratios):.2f} (per round "
              + " ".join(f"{v:.2f}" for v in ratios) + f"); machine CPU/msg ratio median {statistics.median(cpu):.2f}")
    if latency:
        print(f"\n# latency, 250 after the dot -> the sink has it, one message at a time, {args.gap_ms} ms apart, alternating")
        for name, values in latency.items():
            print(f"{name:>8}: n {len(values)}, p50 {percentile(values, 50):.1f} ms, p90 {percentile(values, 90):.1f} ms, "
                  f"p99 {percentile(values, 99):.1f} ms, max {max(values):.1f} ms, min {min(values):.1f} ms")


if __name__ == "__main__":
    main()
