"""Fixtures that build nothing: they run the `loft` binary the test command built
(LOFT_BIN, default .build/debug/loft) in a fresh temporary data directory."""
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest

import relaypeers
from loftrpc import Client

ROOT = pathlib.Path(__file__).resolve().parents[2]


def loft_bin():
    return os.environ.get("LOFT_BIN", str(ROOT / ".build" / "debug" / "loft"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env():
    env = dict(os.environ)
    # Fast password hashing for tests; production uses 15 (deploy/loft.yaml).
    env["LOFT_PASSWORD_HASH_COST"] = "4"
    # Fixtures use short passwords; test_cli's test_password_policy checks the default of 8.
    env["LOFT_MIN_PASSWORD_LENGTH"] = "1"
    # Gateways in offer_cram_md5: auto ask the back-end every 10 s; tests need the answer sooner.
    env["LOFT_CRAM_MD5_REFRESH_MS"] = "100"
    # Greet MX clients at once (every test connects afresh); test_smtp's pregreet test sets it.
    env["LOFT_SMTP_MX_GREETING_DELAY_MS"] = "0"
    # Several servers run at once in some tests: no fixed metrics ports (test_metrics sets its own).
    env["LOFT_METRICS_ADDRESS"] = "off"
    env.pop("LOFT_DATA", None)
    env.pop("LOFT_CONFIG", None)
    return env


def wait_for(path, timeout=30, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        time.sleep(0.05)
    raise TimeoutError(f"{path} did not appear")


def wait_for_socket(path, timeout=30, proc=None):
    """Waits until a Unix socket at `path` accepts a connection (a file left by a killed process
    exists but refuses)."""
    deadline = time.time() + timeout
    while True:
        wait_for(path, timeout=max(0.1, deadline - time.time()), proc=proc)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(path))
                return
            except OSError:
                pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        if time.time() > deadline:
            raise TimeoutError(f"{path} does not accept connections")
        time.sleep(0.05)


# Every process the tests start, so that none outlives the run even when a fixture's set-up
# fails half way (pytest then skips its tear-down).
STARTED = []


def pytest_sessionfinish(session, exitstatus):
    for proc in STARTED:
        if proc.poll() is None:
            proc.kill()


class Loft:
    """A running `loft serve` (or bare `loft backend`) in its own data directory."""

    def __init__(self, data, role="serve", extra_args=(), env=None, log_dir=None):
        self.data = pathlib.Path(data)
        self.env = env or child_env()
        # Beside the data directory unless told otherwise (a test that fills the data
        # directory's file system keeps the log off it).
        self.log = open(pathlib.Path(log_dir or self.data.parent) / f"{self.data.name}-{role}.log", "ab")
        self.proc = subprocess.Popen([loft_bin(), role, "--data", str(self.data), *extra_args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        STARTED.append(self.proc)
        # Where the sockets are: the data directory unless LOFT_SOCKET_DIR moves them.
        self.sockets = pathlib.Path(self.env.get("LOFT_SOCKET_DIR") or self.data)
        # The files may be left from a back-end that was killed: wait until this one answers.
        wait_for_socket(self.sockets / "admin.sock", proc=self.proc)
        wait_for_socket(self.sockets / "gateway.sock", proc=self.proc)

    def admin(self):
        return Client(str(self.sockets / "admin.sock"))

    def gateway(self):
        return Client(str(self.sockets / "gateway.sock"))

    def cli(self, *args, input=None, check=True):
        r = subprocess.run([loft_bin(), *args, "--data", str(self.data)], input=input, capture_output=True,
                           text=True, env=self.env, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"loft {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def child_pid(loft, role):
    """The pid of `loft serve`'s child running `loft <role>`, or None. A child may exit between
    being listed and being looked at; that one is skipped."""
    out = subprocess.run(["pgrep", "-P", str(loft.proc.pid)], capture_output=True, text=True).stdout.split()
    for pid in out:
        try:
            args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if len(args) > 1 and args[1] == role.encode():
            return int(pid)
    return None


def loopback_gateways_env():
    """Gateways on free loopback ports, never the checkout defaults on 0.0.0.0, so test runs
    do not collide with each other or with a `loft serve` someone left running."""
    env = child_env()
    env["LOFT_POP3_LISTENERS"] = f"127.0.0.1:{free_port()}/stls,127.0.0.1:{free_port()}/implicit"
    env["LOFT_IMAP_LISTENERS"] = f"127.0.0.1:{free_port()}/starttls,127.0.0.1:{free_port()}/implicit"
    env["LOFT_LDAP_LISTENERS"] = f"127.0.0.1:{free_port()}/starttls,127.0.0.1:{free_port()}/implicit"
    env["LOFT_SMTP_LISTENERS"] = (f"127.0.0.1:{free_port()}/starttls/mx,127.0.0.1:{free_port()}/starttls/submission,"
                                  f"127.0.0.1:{free_port()}/implicit/submission")
    return env


@pytest.fixture
def loft(tmp_path):
    server = Loft(tmp_path / "data", env=loopback_gateways_env())
    yield server
    server.stop()


@pytest.fixture
def setup(loft):
    """A domain, two accounts (bob with APOP), an alias and a group."""
    a = loft.admin()
    a.call("domain.add", {"name": "example.test"})
    a.call("account.add", {"address": "alice@example.test", "password": "alice-pw"})
    a.call("account.add", {"address": "bob@example.test", "password": "bob-pw", "apopSecret": "bob-apop"})
    a.call("alias.add", {"address": "postmaster@example.test", "targets": ["alice@example.test"]})
    a.call("group.add", {"address": "team@example.test", "members": ["alice@example.test", "bob@example.test"]})
    yield a
    a.close()


def eventually(check, timeout=10, what="the condition"):
    """Polls `check` until it returns something true (gateways refresh what they offer in the
    background), and returns that."""
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.time() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        time.sleep(0.05)


def login(loft, user, password):
    g = loft.gateway()
    s = g.call("auth.login", {"username": user, "password": password, "clientAddress": "127.0.0.1", "service": "test"})
    return g, s["session"]


# The outbound relay's peers (issue 11): a DNS server and receiving SMTP servers the test starts
# (Tests/interop/relaypeers.py says what their records and scripts look like).


@pytest.fixture
def dns_server():
    """Starts a DNSServer: `dns_server(records, **kw)`; its .port is on 127.0.0.1. Stopped
    after the test."""
    servers = []

    def start(records, **kw):
        server = relaypeers.DNSServer(records, **kw)
        servers.append(server)
        server.start()
        STARTED.append(server.proc)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def mx_port():
    """One port number free on 127.0.0.2-127.0.0.9: the relay's destination port for the test,
    every SMTPPeer of the test listening on it at its own address."""
    return relaypeers.shared_port(tuple(f"127.0.0.{i}" for i in range(2, 10)))


@pytest.fixture
def smtp_peer(mx_port):
    """Starts an SMTPPeer: `smtp_peer(host="127.0.0.2", script={...}, **kw)`, on `mx_port`
    unless given a port. Stopped after the test."""
    peers = []

    def start(host="127.0.0.2", port=None, **kw):
        peer = relaypeers.SMTPPeer(host, port or mx_port, **kw)
        peers.append(peer)
        return peer.__enter__()

    yield start
    for peer in peers:
        peer.stop()


@pytest.fixture(scope="session")
def peer_tls_cert(tmp_path_factory):
    """(cert_path, key_path): a throwaway self-signed certificate for the SMTPPeers' STARTTLS
    (SMTPPeer(..., tls=peer_tls_cert)), for localhost, *.a.test, *.b.test, *.c.test, 127.0.0.1-9
    and ::1 (relaypeers.make_self_signed_cert makes one for other names)."""
    names = ("localhost", "*.a.test", "*.b.test", "*.c.test")
    ips = tuple(f"127.0.0.{i}" for i in range(1, 10)) + ("::1",)
    return relaypeers.make_self_signed_cert(tmp_path_factory.mktemp("peer-tls"), names, ips)
