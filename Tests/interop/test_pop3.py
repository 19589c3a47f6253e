"""POP3 end to end: `loft serve` with its POP3 gateway, driven by clients nobody here wrote —
Python's poplib, curl and fetchmail (Debian package `fetchmail`). Issue 4."""
import os
import poplib
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import free_port, Loft, child_env, eventually, login, loft_bin, loopback_gateways_env

RETURN_PATH = b"Return-Path: <carol@remote.test>\r\n"
DOTTY = (b"From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: dots\r\n\r\n"
         b".a line that starts with a dot\r\n..two dots\r\n.\r\n. space\r\nlast line\r\n")


def wait_for_port(port, timeout=30, greeting=True):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if not greeting or s.recv(512).startswith(b"+OK"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"nothing answers POP3 on port {port}")


class POP3Server:
    """`loft serve` with POP3 on two free loopback ports (STLS and implicit TLS), plaintext
    logins refused before TLS even on loopback, so the tests see the production policy."""

    def __init__(self, tmp_path, extra=""):
        self.stls_port, self.tls_port = free_port(), free_port()
        self.config = tmp_path / "loft.yaml"
        self.config.write_text(
            "serve:\n  gateways: [pop3]\n"
            "pop3:\n  allow_plaintext_on_loopback: false\n  lock_lease_seconds: 5\n" + extra + "  listeners:\n"
            f"    - {{address: 127.0.0.1, port: {self.stls_port}, tls: stls}}\n"
            f"    - {{address: 127.0.0.1, port: {self.tls_port}, tls: implicit}}\n")
        env = child_env()
        env.pop("LOFT_POP3_LISTENERS", None)  # this test's listeners come from its config file
        self.loft = Loft(tmp_path / "data", extra_args=("--config", str(self.config)), env=env)
        wait_for_port(self.stls_port)
        wait_for_port(self.tls_port, greeting=False)  # TLS first: no plaintext greeting
        a = self.loft.admin()
        a.call("domain.add", {"name": "example.test"})
        a.call("account.add", {"address": "alice@example.test", "password": "alice-pw"})
        a.call("account.add", {"address": "bob@example.test", "password": "bob-pw", "apopSecret": "bob-apop"})
        a.close()
        self.rpc = self.loft.gateway()
        if "offer_cram_md5" not in extra:
            # auto: the gateway offers CRAM-MD5 once it has heard that bob has a secret.
            eventually(lambda: "CRAM-MD5" in self.capa().get("SASL", []), what="CRAM-MD5 in CAPA")

    def capa(self):
        p = poplib.POP3("127.0.0.1", self.stls_port, timeout=30)
        try:
            return p.capa()
        finally:
            p.quit()

    def deliver(self, data, to="alice@example.test"):
        r = self.rpc.deliver("carol@remote.test", [to], data)
        assert r["recipients"][0]["status"] == "delivered", r

    def inbox_uids(self, user, password):
        g, s = login(self.loft, user, password)
        uids = [m["uid"] for m in g.call("message.list", {"session": s, "mailbox": "INBOX"})["messages"]]
        g.close()
        return uids

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=str(self.loft.data / "tls" / "cert.pem"))
        ctx.check_hostname = False  # the self-signed certificate names this host, not 127.0.0.1
        return ctx

    def stls(self, user="alice@example.test", password="alice-pw"):
        p = poplib.POP3("127.0.0.1", self.stls_port, timeout=30)
        p.stls(self.tls_context())
        p.user(user)
        p.pass_(password)
        return p

    def gateway_pid(self):
        out = subprocess.run(["pgrep", "-P", str(self.loft.proc.pid)], capture_output=True, text=True).stdout.split()
        for pid in out:
            args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            if len(args) > 1 and args[1] == b"pop3":
                return int(pid)
        return None

    def stop(self):
        self.rpc.close()
        self.loft.stop()


@pytest.fixture
def pop3(tmp_path):
    server = POP3Server(tmp_path)
    yield server
    server.stop()


def retr(p, n):
    resp, lines, octets = p.retr(n)
    assert resp.startswith(b"+OK")
    return b"\r\n".join(lines) + b"\r\n"


def test_poplib_stls_user_pass_top_uidl_and_byte_exact_retr(pop3):
    pop3.deliver(DOTTY)
    pop3.deliver(b"Subject: two\r\n\r\nsecond\r\n")
    plain = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
    assert b"<" in plain.getwelcome() and plain.getwelcome().endswith(b">")
    caps = plain.capa()
    assert "STLS" in caps and "USER" not in caps and "TOP" in caps and "UIDL" in caps
    # Before TLS only mechanisms that never reveal the password are offered.
    assert "PLAIN" not in caps.get("SASL", []) and "SCRAM-SHA-256" in caps.get("SASL", [])
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        plain.user("alice@example.test")
    plain.quit()

    p = pop3.stls()
    count, size = p.stat()
    assert count == 2 and size == len(RETURN_PATH + DOTTY) + len(RETURN_PATH + b"Subject: two\r\n\r\nsecond\r\n")
    assert retr(p, 1) == RETURN_PATH + DOTTY
    resp, lines, _ = p.top(1, 2)
    assert lines[-2:] == [b".a line that starts with a dot", b"..two dots"]
    assert lines[0] == RETURN_PATH.rstrip()
    listing = p.uidl()[1]
    ids = [line.split()[1] for line in listing]
    assert len(set(ids)) == 2
    assert p.uidl(2).split()[2] == ids[1]
    p.quit()


def test_poplib_pop3_ssl_and_apop(pop3):
    pop3.deliver(b"Subject: for bob\r\n\r\nhello bob\r\n", to="bob@example.test")
    s = poplib.POP3_SSL("127.0.0.1", pop3.tls_port, context=pop3.tls_context(), timeout=30)
    caps = s.capa()
    assert "USER" in caps and "STLS" not in caps
    s.user("alice@example.test")
    s.pass_("alice-pw")
    assert s.stat() == (0, 0)
    s.quit()

    a = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        a.apop("bob@example.test", "bob-pw")  # the login password is never the APOP secret
    a.apop("bob@example.test", "bob-apop")
    assert retr(a, 1) == RETURN_PATH + b"Subject: for bob\r\n\r\nhello bob\r\n"
    a.quit()

    alice = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        alice.apop("alice@example.test", "alice-pw")  # no APOP secret: fails like a wrong password
    alice.close()


def test_quit_commits_deletions_and_a_dropped_connection_does_not(pop3):
    for n in range(3):
        pop3.deliver(f"Subject: {n}\r\n\r\nbody {n}\r\n".encode())
    before = pop3.inbox_uids("alice@example.test", "alice-pw")
    p = pop3.stls()
    p.dele(1)
    p.dele(2)
    p.close()  # dropped without QUIT
    time.sleep(0.3)
    assert pop3.inbox_uids("alice@example.test", "alice-pw") == before

    p = pop3.stls()
    ids = [line.split()[1] for line in p.uidl()[1]]
    p.dele(1)
    p.dele(3)
    p.rset()
    p.dele(2)
    assert p.quit().startswith(b"+OK")
    assert pop3.inbox_uids("alice@example.test", "alice-pw") == [before[0], before[2]]
    p = pop3.stls()
    assert [line.split()[1] for line in p.uidl()[1]] == [ids[0], ids[2]]
    p.quit()


def test_second_session_is_refused_and_a_killed_gateway_frees_the_lock(pop3):
    pop3.deliver(b"Subject: locked\r\n\r\nbody\r\n")
    first = pop3.stls()
    ids = first.uidl()[1]
    second = poplib.POP3("127.0.0.1", pop3.stls_port, timeout=30)
    second.stls(pop3.tls_context())
    second.user("alice@example.test")
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        second.pass_("alice-pw")

    pid = pop3.gateway_pid()
    assert pid
    os.kill(pid, signal.SIGKILL)
    killed = time.time()
    first.close()
    # The supervisor restarts the gateway; the lock must be free again within its lease.
    while True:
        try:
            again = pop3.stls()
            break
        except (OSError, poplib.error_proto) as error:
            assert time.time() - killed < 30, f"still refused after 30 s: {error}"
            time.sleep(0.2)
    assert pop3.gateway_pid() not in (None, pid)
    assert again.uidl()[1] == ids  # stable across gateway restarts
    again.quit()


def curl(*args, input=None):
    r = subprocess.run(["curl", "-sS", "--max-time", "30", *args], capture_output=True, timeout=60, input=input)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_list_retr_and_sasl(pop3):
    pop3.deliver(DOTTY)
    base = f"pop3://127.0.0.1:{pop3.stls_port}/"
    tls = ["--ssl-reqd", "--cacert", str(pop3.loft.data / "tls" / "cert.pem"), "-k"]
    # curl prefers CRAM-MD5 when offered, which only works for accounts with an APOP secret:
    # others name the mechanism, as a mail client's "normal password" setting does.
    # AUTH=+APOP is curl's name for APOP.
    listing = curl(*tls, "--login-options", "AUTH=PLAIN", "-u", "alice@example.test:alice-pw", base)
    assert listing == f"1 {len(RETURN_PATH + DOTTY)}\r\n".encode()
    for mechanism in ["PLAIN", "LOGIN"]:
        got = curl(*tls, "--login-options", f"AUTH={mechanism}", "-u", "alice@example.test:alice-pw", base + "1")
        assert got == RETURN_PATH + DOTTY
    pop3.deliver(DOTTY, to="bob@example.test")
    # CRAM-MD5 (curl's default choice) and APOP need no TLS: they never send the secret.
    assert curl("-u", "bob@example.test:bob-apop", base) == f"1 {len(RETURN_PATH + DOTTY)}\r\n".encode()
    assert curl("--login-options", "AUTH=+APOP", "-u", "bob@example.test:bob-apop", base + "1") == RETURN_PATH + DOTTY
    r = subprocess.run(["curl", "-sS", "--max-time", "30", "-u", "bob@example.test:bob-pw", base], capture_output=True)
    assert r.returncode != 0
    implicit = curl("--cacert", str(pop3.loft.data / "tls" / "cert.pem"), "-k", "--login-options", "AUTH=PLAIN",
                    "-u", "alice@example.test:alice-pw",
                    f"pop3s://127.0.0.1:{pop3.tls_port}/1")
    assert implicit == RETURN_PATH + DOTTY


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_cram_md5_can_be_left_unoffered(tmp_path):
    """With pop3.offer_cram_md5 false, curl's own choice is a password mechanism that works for
    every account, and CRAM-MD5 is refused; APOP is not affected."""
    server = POP3Server(tmp_path, extra="  offer_cram_md5: false\n")
    try:
        server.deliver(DOTTY)
        p = poplib.POP3("127.0.0.1", server.stls_port, timeout=30)
        assert "CRAM-MD5" not in p.capa().get("SASL", [])
        with pytest.raises(poplib.error_proto):
            p._shortcmd("AUTH CRAM-MD5")
        p.quit()
        tls = ["--ssl-reqd", "--cacert", str(server.loft.data / "tls" / "cert.pem"), "-k"]
        got = curl(*tls, "-u", "alice@example.test:alice-pw", f"pop3://127.0.0.1:{server.stls_port}/1")
        assert got == RETURN_PATH + DOTTY
        server.deliver(DOTTY, to="bob@example.test")
        p = poplib.POP3("127.0.0.1", server.stls_port, timeout=30)
        p.apop("bob@example.test", "bob-apop")
        assert p.stat()[0] == 1
        p.quit()
    finally:
        server.stop()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_cram_md5_is_offered_only_while_some_account_can_use_it(tmp_path):
    """offer_cram_md5: auto (the default) in both gateways: while no enabled account has a
    challenge-response secret, neither offers CRAM-MD5, and curl, left to choose, logs in with
    PLAIN; once one has, both offer it."""
    env = loopback_gateways_env()
    pop3_port = int(env["LOFT_POP3_LISTENERS"].split(",")[0].split("/")[0].rsplit(":", 1)[1])
    sub_port = int(env["LOFT_SMTP_LISTENERS"].split(",")[1].split("/")[0].rsplit(":", 1)[1])
    loft = Loft(tmp_path / "data", env=env)
    try:
        wait_for_port(pop3_port)
        wait_for_port(sub_port, greeting=False)
        a = loft.admin()
        a.call("domain.add", {"name": "example.test"})
        a.call("account.add", {"address": "alice@example.test", "password": "alice-pw"})
        g = loft.gateway()
        assert g.call("auth.mechanisms", {}) == {"challengeResponse": False}
        g.deliver("carol@remote.test", ["alice@example.test"], DOTTY)

        def pop3_sasl():
            p = poplib.POP3("127.0.0.1", pop3_port, timeout=30)
            try:
                return p.capa().get("SASL", [])
            finally:
                p.quit()

        def smtp_auth():
            s = smtplib.SMTP("127.0.0.1", sub_port, timeout=30)
            try:
                s.ehlo("laptop.test")
                return s.esmtp_features.get("auth", "").split()
            finally:
                s.quit()

        time.sleep(0.5)  # several refreshes (LOFT_CRAM_MD5_REFRESH_MS): the answer stays no
        assert "PLAIN" in pop3_sasl() and "CRAM-MD5" not in pop3_sasl()
        assert "PLAIN" in smtp_auth() and "CRAM-MD5" not in smtp_auth()
        got = curl("-u", "alice@example.test:alice-pw", f"pop3://127.0.0.1:{pop3_port}/1")
        assert got == RETURN_PATH + DOTTY

        a.call("account.add", {"address": "bob@example.test", "password": "bob-pw", "apopSecret": "bob-apop"})
        assert g.call("auth.mechanisms", {}) == {"challengeResponse": True}
        eventually(lambda: "CRAM-MD5" in pop3_sasl(), what="CRAM-MD5 in CAPA")
        eventually(lambda: "CRAM-MD5" in smtp_auth(), what="CRAM-MD5 in EHLO")
        a.close()
        g.close()
    finally:
        loft.stop()


def fetchmail(pop3, tmp_path, auth, user, password, keep):
    out = tmp_path / f"fetched-{auth}-{keep}"
    out.mkdir()
    deliver = tmp_path / "deliver.sh"  # fetchmail expands % in its mda line: keep it in a script
    deliver.write_text('exec cat > "$1/$(date +%s%N)-$$"\n')
    rc = tmp_path / f"fetchmailrc-{auth}-{keep}"
    rc.write_text(
        # fetchmail spells APOP as a protocol and CRAM-MD5 as an authentication of POP3.
        f'poll 127.0.0.1 service {pop3.stls_port} '
        + ('protocol apop\n' if auth == "apop" else f'protocol pop3 auth {auth}\n')
        + f'  user "{user}" there password "{password}" is "{os.environ.get("USER", "root")}" here\n'
        f'  {"keep" if keep else "nokeep"} fetchall no sslcertck\n'
        f'  mda "/bin/sh {deliver} {out}"\n')
    rc.chmod(0o600)
    env = dict(child_env(), HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    r = subprocess.run(["fetchmail", "-f", str(rc), "--nodetach", "--idfile", str(tmp_path / "fetchids"),
                        "--pidfile", str(tmp_path / "fetchmail.pid"), "-v"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return sorted(p.read_bytes() for p in out.iterdir())


@pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail is not installed (apt-get install fetchmail)")
@pytest.mark.parametrize("auth", ["apop", "cram-md5"])
def test_fetchmail_keeping_and_deleting(pop3, tmp_path, auth):
    messages = [b"Subject: fm %d\r\n\r\nline one\r\n.dot line\r\n" % n for n in range(3)]
    for m in messages:
        pop3.deliver(m, to="bob@example.test")
    kept = fetchmail(pop3, tmp_path, auth, "bob@example.test", "bob-apop", keep=True)
    assert len(kept) == 3
    for m in messages:
        # fetchmail adds its own Received: line on top and hands the MDA LF line ends.
        assert any(m.replace(b"\r\n", b"\n") in got for got in kept), (m, kept)
    assert len(pop3.inbox_uids("bob@example.test", "bob-pw")) == 3
    deleted = fetchmail(pop3, tmp_path, auth, "bob@example.test", "bob-apop", keep=False)
    assert len(deleted) == 3
    assert pop3.inbox_uids("bob@example.test", "bob-pw") == []


def test_auth_scram_sha256_over_pop3s(pop3):
    """No packaged POP3 client speaks SCRAM-SHA-256, so the client side here is written from
    RFC 5802 §3 and RFC 5034 on top of poplib's line I/O."""
    import base64
    import hashlib
    import hmac
    pop3.deliver(b"Subject: scram\r\n\r\nhi\r\n")
    s = poplib.POP3_SSL("127.0.0.1", pop3.tls_port, context=pop3.tls_context(), timeout=30)
    assert "SCRAM-SHA-256" in s.capa()["SASL"]
    first_bare = "n=alice@example.test,r=c5b0c8f3a8e1d7"
    s._putcmd("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
    line = s._getline()[0]
    assert line.startswith(b"+ ")
    server_first = base64.b64decode(line[2:]).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", b"alice-pw", base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, hashlib.sha256).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
    s._putcmd(base64.b64encode(f"{without_proof},p={proof}".encode()).decode())
    line = s._getline()[0]
    assert line.startswith(b"+ ")  # RFC 5034 §4: the server-final-message, then an empty answer
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    assert base64.b64decode(line[2:]) == b"v=" + base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest())
    s._putcmd("")
    assert s._getline()[0].startswith(b"+OK")
    assert s.stat()[0] == 1
    s.quit()
