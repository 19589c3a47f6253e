"""Slow clients must not hold the server (issue 7): connections that drip a byte every few
seconds are cut by the per-command deadline, the stress mode shortens the timeouts of
connections that have not logged in once the gateway is near its cap, and a fresh client is
then served. Real sockets against `loft serve`, from several loopback addresses."""
import poplib
import select
import smtplib
import socket
import threading
import time

from conftest import Loft, child_env, free_port
from test_pop3 import POP3Server


def drip_connections(port, addresses, per_address):
    """Opens connections from each address (127.0.0.x) and reads their greetings; returns the
    sockets that were admitted (a refused one gets -ERR or is closed)."""
    admitted = []
    for address in addresses:
        for _ in range(per_address):
            s = socket.socket()
            s.settimeout(5)
            s.bind((address, 0))
            s.connect(("127.0.0.1", port))
            greeting = s.recv(512)
            if greeting.startswith(b"+OK"):
                s.setblocking(False)
                admitted.append(s)
            else:
                s.close()
    return admitted


def drip_until_closed(sockets, interval, limit):
    """Sends one byte every `interval` seconds on every socket until the server closes each, or
    `limit` seconds pass; returns the sockets still open."""
    open_ = list(sockets)
    deadline = time.time() + limit
    message = b"USER someone-slow@example.test"
    sent = 0
    while open_ and time.time() < deadline:
        for s in list(open_):
            try:
                s.send(message[sent % len(message):sent % len(message) + 1])
            except OSError:
                open_.remove(s)
                s.close()
        sent += 1
        end = time.time() + interval
        while open_ and time.time() < end:
            readable, _, _ = select.select(open_, [], [], max(0.0, end - time.time()))
            for s in readable:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    open_.remove(s)
                    s.close()
    return open_


def test_drippers_are_cut_and_a_fresh_client_is_served(tmp_path):
    # A cap of 40: 30 connections in use make the gateway stressed, and connections that have
    # not logged in then get 10 s for a command line instead of command_timeout_seconds (20).
    server = POP3Server(
        tmp_path, extra="  max_connections: 40\n  max_connections_per_address: 8\n  command_timeout_seconds: 20\n")
    try:
        server.deliver(b"Subject: hello\r\n\r\nbody\r\n")
        addresses = [f"127.0.0.{n}" for n in range(2, 22)]
        drippers = drip_connections(server.stls_port, addresses, 2)
        assert len(drippers) == 40, "the gateway should admit up to its cap"
        # The cap is reached: a newcomer is refused for now.
        with socket.create_connection(("127.0.0.1", server.stls_port), timeout=5) as s:
            assert s.recv(512).startswith(b"-ERR")
        started = time.time()
        left = []
        dripping = threading.Thread(target=lambda: left.extend(drip_until_closed(drippers, interval=2, limit=40)))
        dripping.start()
        served_after = None
        while time.time() - started < 40:
            with socket.create_connection(("127.0.0.1", server.stls_port), timeout=5) as s:
                if s.recv(512).startswith(b"+OK"):
                    served_after = time.time() - started
                    break
            time.sleep(0.5)
        assert served_after is not None, "no slot came free"
        # The stressed deadline (10 s), well before the normal one (20 s).
        assert served_after < 18, f"a fresh client waited {served_after:.0f} s"
        p = poplib.POP3("127.0.0.1", server.stls_port, timeout=30)
        p.stls(server.tls_context())
        p.user("alice@example.test")
        p.pass_("alice-pw")
        assert p.stat()[0] == 1
        p.quit()
        dripping.join()
        for s in left:
            s.close()
        assert not left, f"{len(left)} dripping connections were never cut"
        assert time.time() - started < 35
    finally:
        server.stop()


def test_a_dripped_message_is_cut_and_a_steady_one_is_delivered(tmp_path):
    port = free_port()
    config = tmp_path / "loft.yaml"
    config.write_text(
        "serve:\n  gateways: [smtp]\n"
        "smtp:\n  command_timeout_seconds: 3\n  listeners:\n"
        f"    - {{address: 127.0.0.1, port: {port}, tls: none, mode: mx}}\n")
    env = child_env()
    env.pop("LOFT_SMTP_LISTENERS", None)
    loft = Loft(tmp_path / "data", extra_args=("--config", str(config)), env=env)
    try:
        a = loft.admin()
        a.call("domain.add", {"name": "example.test"})
        a.call("account.add", {"address": "alice@example.test", "password": "alice-pw"})
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

        # One byte of message data every half second: under 4 KiB per 3 s, cut with 421.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        f = s.makefile("rb")
        assert f.readline().startswith(b"220")
        for line in (b"HELO slow.test", b"MAIL FROM:<slow@remote.test>", b"RCPT TO:<alice@example.test>", b"DATA"):
            s.sendall(line + b"\r\n")
            assert f.readline()[:1] in (b"2", b"3")
        started = time.time()
        reply = b""
        try:
            for byte in b"Subject: drip\r\n\r\n" + b"x" * 100:
                s.sendall(bytes([byte]))
                # Read as soon as the reply comes: a byte sent after the server closed would
                # draw a reset that discards the unread 421.
                readable, _, _ = select.select([s], [], [], 0.5)
                if readable:
                    reply = f.readline()
                    break
        except OSError:
            pass
        assert reply.startswith(b"421 4.4.2"), reply
        assert time.time() - started < 8
        s.close()

        # 4 KiB a second is slow but steady: delivered.
        c = smtplib.SMTP("127.0.0.1", port, timeout=30)
        c.helo("steady.test")
        c.mail("steady@remote.test")
        c.rcpt("alice@example.test")
        c.putcmd("data")
        assert c.getreply()[0] == 354
        for _ in range(5):
            c.send(b"y" * 4094 + b"\r\n")
            time.sleep(1)
        c.send(b".\r\n")
        assert c.getreply()[0] == 250
        c.quit()
        g = loft.gateway()
        s_ = g.call("auth.login", {"username": "alice@example.test", "password": "alice-pw"})["session"]
        messages = g.call("message.list", {"session": s_, "mailbox": "INBOX"})["messages"]
        assert len(messages) == 1, "only the steady message is stored"
        g.close()
        a.close()
    finally:
        loft.stop()
