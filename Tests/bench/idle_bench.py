"""Idle benchmark (issue 10): 10,000 IMAP connections idling at once, the memory they cost,
and how soon a delivery reaches them.

    LOFT_BIN=.build/release/loft python3 Tests/bench/idle_bench.py [--connections 10000] [--deliveries 1000]

What it does:
1. `loft serve` (from `--loft PATH` or LOFT_BIN) in a temporary directory with the IMAP and
   SMTP gateways: IMAP on one plaintext-capable STARTTLS listener (`--tls` puts it behind
   implicit TLS instead), `imap.max_connections` raised to 10/7 of the connections (the
   gateway is "stressed" from 3/4 of it, and then gives one address only a quarter of its
   share, as Postfix's stress mode: an operator sizing for 10,000 sessions leaves that room);
   the per-address limit stays the default 50: the connections come from 250 loopback source
   addresses, 127.0.1.1-250. SMTP with one MX listener. LOFT_PASSWORD_HASH_COST=4.
2. `--connections` accounts (`i00000@idle.test` ...), made over the admin socket, 32 requests
   in flight.
3. `--clients` processes (default 4) open the connections between them, 100 at a time each:
   LOGIN, SELECT INBOX, IDLE, and wait for "+". Each process raises its descriptor limit. The
   RSS of `loft imap` and `loft backend` (and, apart, `loft smtp`) is read before and 5 s
   after all are idling.
4. `--deliveries` messages, each to a different account spread over all client processes, sent
   with smtplib through the MX listener one after another over one connection (so the server
   is never idle nor flooded). The time of each message is taken when `sendmail` returns (the
   250 after the data has been read), and each client process notes when its connection sees
   "* n EXISTS". Both are CLOCK_MONOTONIC, one clock for every process on the machine. The
   latency is the difference, at p50, p90, p99 and max; a delivery that no idler reports
   within 10 s is counted as missing.
5. Every connection then ends IDLE with DONE and must get its tagged OK; a connection that
   dropped at any point is counted and reported.

Figures, targets and commands: Tests/bench/IMAP.md, "10,000 idle connections".
"""
import argparse
import asyncio
import multiprocessing
import os
import pathlib
import resource
import smtplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "interop"))
sys.path.insert(0, str(HERE))
from conftest import child_env, wait_for_socket  # noqa: E402
from imap_bench import free_port, loft_children, memory_kib, cpu_seconds  # noqa: E402
from loftrpc import Client  # noqa: E402

DOMAIN = "idle.test"
PASSWORD = "idle-bench-pw"
SOURCES = [f"127.0.1.{i}" for i in range(1, 251)]


def address(i):
    return f"i{i:05}@{DOMAIN}"


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ------------------------------------------------------------------------------- client side --

async def idler(i, port, tls, ready, seen, failures, stop):
    """One connection for account i: LOGIN, SELECT, IDLE; then notes each EXISTS until `stop`."""
    context = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    step = "connect"
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", port, ssl=context, local_addr=(SOURCES[i % len(SOURCES)], 0)), 120)
        step = "greeting"
        greeting = await asyncio.wait_for(reader.readline(), 120)
        if not greeting.startswith(b"* OK"):
            raise ConnectionError(greeting.decode(errors="replace").strip() or "closed")
        for tag, command in (("a", f'LOGIN "{address(i)}" "{PASSWORD}"'), ("b", "SELECT INBOX")):
            step = command.split()[0]
            writer.write(f"{tag} {command}\r\n".encode())
            while True:
                line = await asyncio.wait_for(reader.readline(), 120)
                if not line:
                    raise ConnectionError("closed")
                if line.startswith(tag.encode() + b" "):
                    if not line.startswith(tag.encode() + b" OK"):
                        raise ConnectionError(line.decode(errors="replace").strip())
                    break
        step = "IDLE"
        writer.write(b"c IDLE\r\n")
        line = await asyncio.wait_for(reader.readline(), 120)
        if not line.startswith(b"+"):
            raise ConnectionError(line.decode(errors="replace").strip())
    except (OSError, asyncio.TimeoutError, ConnectionError) as e:
        failures.append(f"{step}: {type(e).__name__} {e}"[:160])
        ready.append(False)
        return
    ready.append(True)
    reading = asyncio.ensure_future(reader.readline())
    while True:
        done, _ = await asyncio.wait({reading, stop}, return_when=asyncio.FIRST_COMPLETED)
        if reading in done:
            try:
                line = reading.result()
            except OSError as e:
                failures.append(f"while idle: {e}")
                return
            if not line:
                failures.append("closed while idle")
                return
            if line.startswith(b"* ") and line.rstrip().endswith(b" EXISTS"):
                seen.append((i, time.monotonic()))
            reading = asyncio.ensure_future(reader.readline())
            continue
        break
    # DONE, and its tagged OK.
    try:
        writer.write(b"DONE\r\n")
        while True:
            line = await asyncio.wait_for(reading, 60)
            if not line:
                raise ConnectionError("closed")
            if line.startswith(b"c "):
                if not line.startswith(b"c OK"):
                    raise ConnectionError(line.decode(errors="replace").strip())
                break
            if line.startswith(b"* ") and line.rstrip().endswith(b" EXISTS"):
                seen.append((i, time.monotonic()))
            reading = asyncio.ensure_future(reader.readline())
        writer.write(b"d LOGOUT\r\n")
        await writer.drain()
        writer.close()
    except (OSError, asyncio.TimeoutError, ConnectionError) as e:
        failures.append(f"DONE: {type(e).__name__} {e}"[:160])


async def client_main(accounts, port, tls, pipe):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    ready, seen, failures = [], [], []
    tasks = []
    start = time.monotonic()
    for k in range(0, len(accounts), 100):
        batch = [asyncio.ensure_future(idler(i, port, tls, ready, seen, failures, stop)) for i in accounts[k:k + 100]]
        tasks += batch
        while len(ready) < len(tasks):
            await asyncio.sleep(0.01)
    pipe.send(("ready", sum(ready), time.monotonic() - start, list(failures)))
    # Wait for the word to stop, without blocking the loop.
    await loop.run_in_executor(None, pipe.recv)
    stop.set_result(None)
    await asyncio.gather(*tasks)
    pipe.send(("done", seen, failures))


def client_process(accounts, port, tls, pipe):
    raise_fd_limit(len(accounts) + 64)
    asyncio.run(client_main(accounts, port, tls, pipe))


# ------------------------------------------------------------------------------- server side --

def start_loft(binary, work, connections, tls):
    imap_port, smtp_port = free_port(), free_port()
    data = work / "data"
    listener = "implicit" if tls else "starttls"
    (work / "loft.yaml").write_text(
        "log_level: warning\n"
        "serve:\n  gateways: [imap, smtp]\n"
        f"imap:\n  max_connections: {connections * 10 // 7}\n  listeners:\n"
        f"    - {{address: 127.0.0.1, port: {imap_port}, tls: {listener}}}\n"
        f"smtp:\n  listeners:\n    - {{address: 127.0.0.1, port: {smtp_port}, tls: starttls, mode: mx}}\n")
    env = child_env()
    log = open(work / "serve.log", "ab")
    proc = subprocess.Popen([binary, "serve", "--data", str(data), "--config", str(work / "loft.yaml")],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    wait_for_socket(data / "admin.sock", proc=proc)
    wait_for_socket(data / "gateway.sock", proc=proc)
    return proc, data, imap_port, smtp_port


def make_accounts(data, count, window=32):
    admin = Client(str(data / "admin.sock"))
    admin.call("domain.add", {"name": DOMAIN})
    pending = 0
    for i in range(count):
        admin.request("account.add", {"address": address(i), "password": PASSWORD})
        pending += 1
        if pending == window:
            check(admin.read_response())
            pending -= 1
    while pending:
        check(admin.read_response())
        pending -= 1
    admin.close()


def check(response):
    if "error" in response:
        sys.exit(f"account.add failed: {response['error']}")


def wait_port(port, proc, timeout=60):
    import socket
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"loft serve exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"nothing listens on 127.0.0.1:{port}")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loft", default=os.environ.get("LOFT_BIN"), help="the loft binary (default $LOFT_BIN)")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--deliveries", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4, help="client processes")
    ap.add_argument("--tls", action="store_true", help="connect with implicit TLS (IMAPS)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if not args.loft:
        sys.exit("no loft binary (--loft PATH or LOFT_BIN)")
    binary = os.path.abspath(args.loft)
    deliveries = min(args.deliveries, args.connections)
    print(f"# idle benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average {open('/proc/loadavg').read().split()[:3]}")
    print(f"loft: {binary}; {args.connections} connections ({'IMAPS' if args.tls else 'plain, loopback'}) "
          f"from {args.clients} client processes; {deliveries} deliveries")
    work = pathlib.Path(tempfile.mkdtemp(prefix="loft-idle-bench-"))
    proc, data, imap_port, smtp_port = start_loft(binary, work, args.connections, args.tls)
    clients = []
    try:
        t0 = time.monotonic()
        make_accounts(data, args.connections)
        print(f"accounts: {args.connections} made in {time.monotonic() - t0:.1f} s")
        wait_port(imap_port, proc)
        wait_port(smtp_port, proc)
        kids = loft_children(proc.pid)
        pids = {role: kids.get(role) for role in ("imap", "backend", "smtp")}
        gateway_and_backend = [pids["imap"], pids["backend"]]
        before = {role: memory_kib([pid])[0] for role, pid in pids.items()}
        cpu_before = {role: cpu_seconds(pid) for role, pid in pids.items()}

        # Open the connections.
        shares = [list(range(c, args.connections, args.clients)) for c in range(args.clients)]
        for share in shares:
            parent, child = multiprocessing.Pipe()
            p = multiprocessing.Process(target=client_process, args=(share, imap_port, args.tls, child))
            p.start()
            clients.append((p, parent))
        idle, failures, slowest = 0, [], 0.0
        for _, pipe in clients:
            _, n, seconds, failed = pipe.recv()
            idle += n
            failures += failed
            slowest = max(slowest, seconds)
        print(f"idling: {idle} of {args.connections} connections, all open after {slowest:.1f} s"
              + (f"; {len(failures)} failed, first: {failures[:3]}" if failures else ""))
        time.sleep(5)
        during = {role: memory_kib([pid])[0] for role, pid in pids.items()}
        cpu_open = {role: cpu_seconds(pid) - cpu_before[role] for role, pid in pids.items()}
        total = sum(during[r] for r in ("imap", "backend"))
        per = (during["imap"] - before["imap"]) / max(idle, 1)
        print(f"memory with {idle} idling: loft imap {mib(before['imap'])} -> {mib(during['imap'])} "
              f"({per:.1f} KiB a connection), loft backend {mib(before['backend'])} -> {mib(during['backend'])}; "
              f"gateway + back-end {mib(total)} (target <= 500 MB = 476.8 MiB); loft smtp {mib(during['smtp'])}")
        print(f"CPU to open them: imap {cpu_open['imap']:.1f} s, backend {cpu_open['backend']:.1f} s")

        # Deliver.
        targets = [round(k * args.connections / deliveries) % args.connections for k in range(deliveries)]
        sent = {}
        smtp = smtplib.SMTP("127.0.0.1", smtp_port, timeout=60)
        smtp.ehlo("bench.client.test")
        t0 = time.monotonic()
        for n, i in enumerate(targets):
            message = (f"From: sender@elsewhere.test\r\nTo: {address(i)}\r\nSubject: idle bench {n}\r\n"
                       f"Message-ID: <idle-{n}@elsewhere.test>\r\n\r\nhello {n}\r\n").encode()
            smtp.sendmail("sender@elsewhere.test", [address(i)], message)
            sent[i] = time.monotonic()
        elapsed = time.monotonic() - t0
        smtp.quit()
        time.sleep(10)
        for _, pipe in clients:
            pipe.send("stop")
        seen = {}
        for _, pipe in clients:
            _, pairs, failed = pipe.recv()
            failures += failed
            for i, t in pairs:
                seen.setdefault(i, t)
        for p, _ in clients:
            p.join(60)
        latencies = [(seen[i] - sent[i]) * 1000 for i in sent if i in seen and seen[i] - sent[i] < 10]
        missing = [i for i in sent if i not in seen or seen[i] - sent[i] >= 10]
        cpu_all = {role: cpu_seconds(pid) - cpu_before[role] for role, pid in pids.items()}
        print(f"deliveries: {deliveries} in {elapsed:.1f} s ({deliveries / elapsed:.0f}/s), one SMTP connection")
        if latencies:
            print(f"250 -> EXISTS: p50 {percentile(latencies, 50):.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
                  f"p99 {percentile(latencies, 99):.1f} ms (target <= 100 ms), max {max(latencies):.1f} ms, "
                  f"mean {statistics.mean(latencies):.1f} ms; {len(missing)} missing")
        else:
            print(f"no delivery reached an idler; {len(missing)} missing")
        print(f"CPU in all: imap {cpu_all['imap']:.1f} s, backend {cpu_all['backend']:.1f} s, smtp {cpu_all['smtp']:.1f} s")
        late = [f for f in failures if not f.startswith(("connect", "greeting", "LOGIN", "SELECT", "IDLE"))]
        print(f"connections failed while idle or at DONE: {len(late)}" + (f", first: {late[:3]}" if late else ""))
        status = 0 if idle == args.connections and not missing and not failures else 1
    finally:
        for p, _ in clients:
            if p.is_alive():
                p.kill()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        if args.keep:
            print(f"kept {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)])
    sys.exit(status)


if __name__ == "__main__":
    main()
