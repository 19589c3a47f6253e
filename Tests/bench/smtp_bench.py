"""SMTP benchmark (issue 3): 4 KiB messages, each to one local recipient, over 1, 8 and 32
concurrent connections to the MX port of a real `loft serve` in a temporary directory. A message
counts when its 250 after DATA arrives — the gateway sends that only after the back-end's
durable commit — so messages/s is "until all are durably stored". Memory is the peak resident
size (VmHWM) of the gateway and the back-end processes.

    swift build -c release --product loft
    LOFT_BIN=.build/release/loft python3 Tests/bench/smtp_bench.py [--messages 4000] [--connections 1,8,32]

Each connection is an asyncio stream sending MAIL, RCPT and DATA as one pipelined group
(RFC 2920), then the content and the final dot: two round trips per message. Results are
written up in BENCHMARKS-SMTP.md.
"""
import argparse
import asyncio
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from conftest import Loft, child_env  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message(n):
    header = (f"From: bench@remote.test\r\nTo: user@example.test\r\nSubject: bench {n}\r\n"
              f"Message-ID: <{n}.{time.time()}@remote.test>\r\n\r\n").encode()
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijkl\r\n"
    body = line * ((4096 - len(header)) // len(line))
    return header + body + b"x" * (4096 - len(header) - len(body) - 2) + b"\r\n"


async def reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return line


async def connection(port, count, recipients, sent):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reply(reader)
    writer.write(b"EHLO bench.test\r\n")
    await writer.drain()
    await reply(reader)
    for n in range(count):
        rcpt = recipients[n % len(recipients)]
        writer.write(f"MAIL FROM:<bench@remote.test> SIZE=4096\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode())
        await writer.drain()
        for expected in (b"250", b"250", b"354"):
            line = await reply(reader)
            if not line.startswith(expected):
                raise RuntimeError(line)
        writer.write(message(n) + b".\r\n")
        await writer.drain()
        line = await reply(reader)
        if not line.startswith(b"250"):
            raise RuntimeError(line)
        sent[0] += 1
    writer.write(b"QUIT\r\n")
    await writer.drain()
    writer.close()


def peak_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User plus system CPU time of a process so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(loft, role):
    out = subprocess.run(["pgrep", "-P", str(loft.proc.pid)], capture_output=True, text=True).stdout.split()
    for pid in out:
        args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        if len(args) > 1 and args[1] == role.encode():
            return int(pid)
    raise RuntimeError(f"no {role} child")


async def large(port, size):
    """One message of `size` bytes, to see that the gateway's memory stays bounded."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reply(reader)
    writer.write(b"EHLO bench.test\r\nMAIL FROM:<bench@remote.test>\r\nRCPT TO:<user0@example.test>\r\nDATA\r\n")
    for _ in range(4):
        await reply(reader)
    line = b"x" * 998 + b"\r\n"
    writer.write(b"Subject: large\r\n\r\n")
    for _ in range(size // len(line)):
        writer.write(line)
        await writer.drain()
    writer.write(b".\r\n")
    await writer.drain()
    result = await reply(reader)
    writer.close()
    return result


async def run(port, connections, total, recipients):
    sent = [0]
    shares = [total // connections + (1 if i < total % connections else 0) for i in range(connections)]
    start = time.perf_counter()
    await asyncio.gather(*(connection(port, share, recipients, sent) for share in shares))
    return sent[0], time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--connections", default="1,8,32")
    parser.add_argument("--metrics", action="store_true",
                        help="serve Prometheus metrics (as shipped); without it metrics are off (no-op counters)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        port = free_port()
        config = tmp / "loft.yaml"
        config.write_text("log_level: warning\nserve:\n  gateways: [smtp]\nsmtp:\n  max_connections_per_address: 100\n"
                          "  max_recipients_per_connection: 1000000\n"
                          f"  listeners:\n    - {{address: 127.0.0.1, port: {port}, tls: none, mode: mx}}\n")
        env = child_env()
        if args.metrics:
            env["LOFT_METRICS_ADDRESS"] = "127.0.0.1"
            env["LOFT_METRICS_PORTS"] = ",".join(f"{p}={free_port()}" for p in ("serve", "backend", "smtp"))
        loft = Loft(tmp / "data", extra_args=("--config", str(config)), env=env)
        try:
            a = loft.admin()
            a.call("domain.add", {"name": "example.test"})
            recipients = [f"user{i}@example.test" for i in range(32)]
            for r in recipients:
                a.call("account.add", {"address": r, "password": "bench-password"})
            deadline = time.time() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            asyncio.run(run(port, 4, 200, recipients))  # warm-up
            gateway, backend = child(loft, "smtp"), child(loft, "backend")
            print(f"{'connections':>11} {'messages':>8} {'seconds':>8} {'msg/s':>8} {'gateway MiB':>11} {'backend MiB':>11}"
                  f" {'gateway CPU µs/msg':>18} {'backend CPU µs/msg':>18} {'client CPU µs/msg':>17}")
            for c in [int(x) for x in args.connections.split(",")]:
                before = (cpu_seconds(gateway), cpu_seconds(backend), time.process_time())
                n, seconds = asyncio.run(run(port, c, args.messages, recipients))
                after = (cpu_seconds(gateway), cpu_seconds(backend), time.process_time())
                g, b = peak_rss_kib(gateway) / 1024, peak_rss_kib(backend) / 1024
                cpu = [(y - x) / n * 1e6 for x, y in zip(before, after)]
                print(f"{c:>11} {n:>8} {seconds:>8.2f} {n / seconds:>8.0f} {g:>11.1f} {b:>11.1f}"
                      f" {cpu[0]:>18.0f} {cpu[1]:>18.0f} {cpu[2]:>17.0f}", flush=True)
            start = time.perf_counter()
            result = asyncio.run(large(port, 48 << 20))
            g, b = peak_rss_kib(child(loft, "smtp")) / 1024, peak_rss_kib(child(loft, "backend")) / 1024
            print(f"one 48 MiB message: {result.decode().strip()} in {time.perf_counter() - start:.2f} s; "
                  f"peak RSS gateway {g:.1f} MiB, back-end {b:.1f} MiB")
            a.close()
        finally:
            loft.stop()


if __name__ == "__main__":
    main()
