"""LDAP benchmark (issue 12): searches per second against `loft ldap` and slapd side by side,
on the same 10,000 people, with the same client, interleaved in one run.

    sudo ../shared/peers/up.sh                      # slapd on 127.0.0.1:3389 (once)
    LOFT_BIN=.build/release/loft python3 Tests/bench/ldap_bench.py [--accounts 10000]
        [--seconds 5] [--rounds 3] [--connections 1,8] [--processes 4]

Workloads, each as an address book sends it:
  equality   (mail=userN@domain), anonymous, asking for cn, mail, givenName, sn
  substring  Thunderbird's "type to search" filter (|(cn=*t*)(mail=*t*)(sn=*t*)(givenName=*t*))
             with t four letters of someone's surname, bound as a user, size limit 100
             (Thunderbird's default), so most searches end with sizeLimitExceeded after 100
             entries on both servers

The client is raw sockets with the requests BER-encoded in advance (a table of 1,000 distinct
ones per workload, cycled), one request outstanding per connection, the connections spread
over `--processes` processes so that Python is not the bottleneck. Every entry is read and
counted; a result other than success or sizeLimitExceeded stops the run. Each (server,
workload, connections) cell runs `--rounds` times, Loft and slapd alternating, and the median
is reported with every run, the ratio Loft/slapd, each server's CPU seconds per 1,000
searches (from /proc; Loft's gateway and back-end together), and the latency of a search
(request sent to its SearchResultDone read, as the client sees it) at p50 and p99, each the
median over the rounds. Results are written up in Tests/bench/LDAP.md.
"""
import argparse
import multiprocessing
import os
import pathlib
import random
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "interop"))
from conftest import Loft, child_env, child_pid, free_port  # noqa: E402

GIVEN = ["Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj",
         "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoe", "Amelia", "Oscar", "Lena",
         "Hugo", "Ines", "Jonas", "Klara", "Mats", "Nora", "Pavel"]
SURNAMES = ["Liddell", "Builder", "Hopper", "Lovelace", "Turing", "Knuth", "Ritchie", "Thompson", "Kernighan",
            "Torvalds", "Hamilton", "Liskov", "Dijkstra", "Hoare", "Lamport", "Backus", "McCarthy", "Minsky",
            "Shannon", "Babbage", "Noether", "Curie", "Meitner", "Franklin", "Goodall", "Carson", "Johnson",
            "Vaughan", "Jackson", "Clarke", "Sammet", "Allen", "Goldberg", "Wing", "Estrin", "Perlman",
            "Bartik", "Holberton", "Teitelbaum", "Spence", "Wescoff", "Lichterman", "Keller", "Easley",
            "Granville", "Hollerith", "Zuse", "Aiken", "Eckert", "Mauchly"]


def person(i):
    return GIVEN[i % len(GIVEN)], SURNAMES[(i * 7) % len(SURNAMES)]


# --- BER (RFC 4511 §5.1: definite lengths) -------------------------------------------------

def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + length + content


def octets(text, tag=0x04):
    return tlv(tag, text.encode())


def integer(value, tag=0x02):
    return tlv(tag, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def message(message_id, op):
    return tlv(0x30, integer(message_id) + op)


def bind_request(name, password):
    return message(1, tlv(0x60, integer(3) + octets(name) + octets(password, tag=0x80)))


def equality(attribute, value):
    return tlv(0xA3, octets(attribute) + octets(value))


def contains(attribute, value):
    return tlv(0xA4, octets(attribute) + tlv(0x30, octets(value, tag=0x81)))


def search_request(base, filter_, attributes, size_limit=0):
    op = tlv(0x63, octets(base) + integer(2, tag=0x0A) + integer(0, tag=0x0A) + integer(size_limit)
             + integer(0) + tlv(0x01, b"\x00") + filter_ + tlv(0x30, b"".join(octets(a) for a in attributes)))
    return message(2, op)


ATTRIBUTES = ["cn", "mail", "givenName", "sn"]


def equality_requests(base, domain, accounts):
    rng = random.Random(1)
    return [search_request(base, equality("mail", f"user{rng.randrange(accounts)}@{domain}"), ATTRIBUTES)
            for _ in range(1000)]


def substring_requests(base, accounts):
    rng = random.Random(2)
    requests = []
    for _ in range(1000):
        surname = person(rng.randrange(accounts))[1]
        start = rng.randrange(len(surname) - 3)
        term = surname[start:start + 4].lower()
        filter_ = tlv(0xA1, b"".join(contains(a, term) for a in ("cn", "mail", "sn", "givenName")))
        requests.append(search_request(base, filter_, ATTRIBUTES, size_limit=100))
    return requests


class Connection:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def take(self):
        """One whole LDAPMessage from the buffer, as (protocolOp tag, its octets), or None."""
        if len(self.buf) < 2:
            return None
        first = self.buf[1]
        header = 2 if first < 0x80 else 2 + (first & 0x7F)
        if len(self.buf) < header:
            return None
        length = first if first < 0x80 else int.from_bytes(self.buf[2:header], "big")
        if len(self.buf) < header + length:
            return None
        whole = bytes(self.buf[:header + length])
        del self.buf[:header + length]
        # messageID is a short INTEGER (tag, length, value); the protocolOp's tag follows.
        return whole[header + 2 + whole[header + 1]], whole

    def pdu(self):
        while (got := self.take()) is None:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        return got

    @staticmethod
    def result_code(whole):
        # ... protocolOp tag, its length, then ENUMERATED resultCode (0x0a 0x01 code).
        i = whole.index(b"\x0a\x01", 4)
        return whole[i + 2]

    def bind(self, name, password):
        self.sock.sendall(bind_request(name, password))
        tag, whole = self.pdu()
        if tag != 0x61 or self.result_code(whole) != 0:
            raise RuntimeError(f"bind as {name} failed: {whole.hex()}")

    def search(self, request):
        self.sock.sendall(request)
        entries = 0
        while True:
            tag, whole = self.pdu()
            if tag == 0x64:
                entries += 1
            elif tag == 0x65:
                code = self.result_code(whole)
                if code not in (0, 4):
                    raise RuntimeError(f"search ended with result {code}")
                return entries


def worker(port, bind, requests, connections, seconds, offset, queue):
    conns = [Connection(port) for _ in range(connections)]
    if bind:
        for c in conns:
            c.bind(*bind)
    searches = entries = 0
    index = offset
    # One request outstanding per connection, the connections served as they answer.
    selector = selectors.DefaultSelector()
    for c in conns:
        selector.register(c.sock, selectors.EVENT_READ, c)
    pending = {}
    sent_at = {}
    latencies = []

    def send(c):
        nonlocal index
        sent_at[c] = time.perf_counter()
        c.sock.sendall(requests[index % len(requests)])
        index += 1
        pending[c] = 0

    start = time.perf_counter()
    stop = start + seconds
    for c in conns:
        send(c)
    while pending:
        for key, _ in selector.select(timeout=10):
            c = key.data
            data = c.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("closed")
            c.buf += data
            while c in pending and (got := c.take()) is not None:
                tag, whole = got
                if tag == 0x64:
                    pending[c] += 1
                elif tag == 0x65:
                    code = Connection.result_code(whole)
                    if code not in (0, 4):
                        raise RuntimeError(f"search ended with result {code}")
                    entries += pending.pop(c)
                    searches += 1
                    now = time.perf_counter()
                    latencies.append(now - sent_at[c])
                    if now < stop:
                        send(c)
    elapsed = time.perf_counter() - start
    for c in conns:
        c.sock.close()
    queue.put((searches, entries, elapsed, latencies))


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run(port, pids, bind, requests, connections, processes, seconds):
    processes = min(processes, connections)
    queue = multiprocessing.Queue()
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    cpu_before = cpu_seconds(pids)
    procs = [multiprocessing.Process(target=worker, args=(port, bind, requests, n, seconds, i * 97, queue))
             for i, n in enumerate(shares)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError("a client process failed")
    cpu = cpu_seconds(pids) - cpu_before
    searches = sum(r[0] for r in results)
    elapsed = max(r[2] for r in results)
    latencies = sorted(t for r in results for t in r[3])

    def percentile(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0

    return (searches / elapsed, sum(r[1] for r in results) / max(1, searches), cpu * 1000 / max(1, searches),
            percentile(0.50), percentile(0.99))


# --- the two servers -------------------------------------------------------------------------

class LoftServer:
    name = "loft"
    base = "dc=bench,dc=test"
    domain = "bench.test"

    def __init__(self, tmp, accounts, hash_cost):
        self.port = free_port()
        (tmp / "loft.yaml").write_text(
            "serve:\n  gateways: [ldap]\n"
            "ldap:\n  anonymous_searches_per_minute: 0\n  size_limit: 1000\n  listeners:\n"
            f"    - {{address: 127.0.0.1, port: {self.port}, tls: none}}\n")
        env = child_env()
        env.pop("LOFT_LDAP_LISTENERS", None)
        env["LOFT_PASSWORD_HASH_COST"] = hash_cost
        self.loft = Loft(tmp / "data", extra_args=("--config", str(tmp / "loft.yaml")), env=env)
        admin = self.loft.admin()
        admin.call("domain.add", {"name": self.domain})
        started = time.perf_counter()
        for i in range(accounts):
            given, surname = person(i)
            admin.call("account.add", {"address": f"user{i}@{self.domain}", "password": "bench-password",
                                       "displayName": f"{given} {surname}", "givenName": given, "surname": surname})
        admin.close()
        print(f"loft: {accounts} accounts added in {time.perf_counter() - started:.1f} s", flush=True)
        # The gateway answers searches from memory; the back-end's share is the directory's refresh.
        self.pids = [child_pid(self.loft, "ldap"), child_pid(self.loft, "backend")]
        self.bind = (f"user0@{self.domain}", "bench-password")
        wait_until_listed(self.port, self.base, f"user{accounts - 1}@{self.domain}")

    def stop(self):
        self.loft.stop()


class Slapd:
    name = "slapd"
    base = "dc=anchor,dc=test"
    domain = "anchor.test"

    def __init__(self, state, accounts):
        env = dict(line.split("=", 1) for line in (state / "anchors.env").read_text().split() if "=" in line)
        env.update(line.split("=", 1) for line in (state / "secrets.env").read_text().split() if "=" in line)
        self.port = int(env.get("ANCHOR_LDAP_PORT", "3389"))
        self.pids = [int((state / "slapd" / "run" / "slapd.pid").read_text().split()[0])]
        self.bind = (f"uid=user0@{self.domain},ou=people,{self.base}", "bench-password")
        probe = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", f"ldap://127.0.0.1:{self.port}", "-b", self.base,
                                f"(mail=user{accounts - 1}@{self.domain})", "dn"], capture_output=True, text=True)
        if "dn:" in probe.stdout:
            return
        started = time.perf_counter()
        ldif = []
        for i in range(accounts):
            given, surname = person(i)
            address = f"user{i}@{self.domain}"
            ldif += [f"dn: uid={address},ou=people,{self.base}", "objectClass: inetOrgPerson", f"uid: {address}",
                     f"cn: {given} {surname}", f"givenName: {given}", f"sn: {surname}", f"mail: {address}",
                     "userPassword: bench-password", ""]
        r = subprocess.run(["ldapadd", "-c", "-x", "-H", f"ldap://127.0.0.1:{self.port}", "-D",
                            env["ANCHOR_ADMIN_DN"], "-w", env["ANCHOR_LDAP_ADMIN_PW"]],
                           input="\n".join(ldif), capture_output=True, text=True)
        if r.returncode not in (0, 68):  # 68: already exists (an earlier partial run)
            sys.exit(f"ldapadd failed ({r.returncode}): {r.stderr[-2000:]}")
        print(f"slapd: {accounts} accounts added in {time.perf_counter() - started:.1f} s", flush=True)

    def stop(self):
        pass


def wait_until_listed(port, base, address, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = Connection(port)
        found = c.search(search_request(base, equality("mail", address), ["mail"]))
        c.sock.close()
        if found:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{address} never appeared in the directory")


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", default="1,8")
    ap.add_argument("--processes", type=int, default=4, help="client processes the connections are spread over")
    ap.add_argument("--hash-cost", default="4", help="scrypt log2 cost for Loft's accounts (production: 15)")
    ap.add_argument("--anchors", default=os.environ.get("ANCHOR_STATE", "/tmp/loft-anchors"))
    ap.add_argument("--only", choices=["loft", "slapd"], help="run one server only")
    args = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="loft-ldap-bench-"))
    servers = []
    try:
        if args.only != "slapd":
            servers.append(LoftServer(tmp, args.accounts, args.hash_cost))
        if args.only != "loft":
            servers.append(Slapd(pathlib.Path(args.anchors), args.accounts))
        print(f"load average before: {load_average()}", flush=True)
        for workload in ("equality", "substring"):
            for connections in [int(n) for n in args.connections.split(",")]:
                runs = {s.name: [] for s in servers}
                for _ in range(args.rounds):
                    for s in servers:
                        if workload == "equality":
                            requests, bind = equality_requests(s.base, s.domain, args.accounts), None
                        else:
                            requests, bind = substring_requests(s.base, args.accounts), s.bind
                        runs[s.name].append(run(s.port, s.pids, bind, requests, connections, args.processes,
                                                args.seconds))
                line = [f"{workload:9} {connections:2} conn"]
                medians = {}
                for name, results in runs.items():
                    medians[name] = statistics.median(r[0] for r in results)
                    every = " ".join(f"{r[0]:.0f}" for r in results)
                    cpu = statistics.median(r[2] for r in results)
                    p50 = statistics.median(r[3] for r in results)
                    p99 = statistics.median(r[4] for r in results)
                    line.append(f"{name} {medians[name]:.0f}/s [{every}] {results[0][1]:.1f} entries/search "
                                f"{cpu:.2f} cpu-s/1k p50 {p50:.2f} ms p99 {p99:.2f} ms")
                if len(medians) == 2:
                    line.append(f"ratio loft/slapd {medians['loft'] / medians['slapd']:.2f}")
                print("  ".join(line), flush=True)
        print(f"load average after: {load_average()}")
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main()
