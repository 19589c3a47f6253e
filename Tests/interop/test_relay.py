"""Sending mail out (issue 11), end to end: `loft serve` with SMTP and `loft relay`, a real DNS
server (dnsmasq) answering for the test domains, and scripted receiving SMTP servers (aiosmtpd)
on 127.0.0.x addresses (Tests/interop/relaypeers.py). Mail goes in through submission with
smtplib (STARTTLS, AUTH), out through the relay, and the peers record what they received byte
for byte. Bounces come back to the local sender's INBOX and are read with Python's `email`."""
import email
import email.policy
import os
import signal
import smtplib
import ssl
import subprocess
import time

import pytest

import relaypeers
from conftest import Loft, child_env, child_pid, eventually, free_port, loft_bin, login
from test_smtp import wait_for_port

MESSAGE = (b"From: Alice <alice@example.test>\r\nTo: Xavier <x@remote.test>\r\nSubject: out into the world\r\n"
           b"Message-ID: <out-1@example.test>\r\n\r\nHello there.\r\n.A line that starts with a dot.\r\n"
           b"..and one with two.\r\nThe end.\r\n")


class RelayServer:
    """`loft serve` with SMTP (submission on loopback) and the relay, pointed at the test's DNS
    server and destination port, with a fast retry schedule."""

    def __init__(self, tmp_path, dns_port, mx_port, lifetime="1h", retry="1s", extra=""):
        """`mx_port`: the relay's destination port, or "own" for its own MX listener's."""
        self.sub_port, self.mx_port = free_port(), free_port()
        if mx_port == "own":
            mx_port = self.mx_port
        config = tmp_path / "loft.yaml"
        config.write_text(
            "serve:\n  gateways: [smtp, relay]\n"
            "smtp:\n  hostname: mx.example.test\n"
            f"  listeners:\n    - {{address: 127.0.0.1, port: {self.sub_port}, tls: starttls, mode: submission}}\n"
            f"    - {{address: 127.0.0.1, port: {self.mx_port}, tls: starttls, mode: mx}}\n"
            f"queue:\n  retry: [{retry}]\n  lifetime: {lifetime}\n  delay_warning: 0\n  tick_ms: 200\n"
            f"relay:\n  workers: 2\n  helo_name: out.example.test\n  port: {mx_port}\n"
            f"  nameservers: [\"127.0.0.1:{dns_port}\"]\n{extra}")
        self.loft = Loft(tmp_path / "data", extra_args=("--config", str(config)))
        wait_for_port(self.sub_port)
        wait_for_port(self.mx_port)
        a = self.loft.admin()
        a.call("domain.add", {"name": "example.test"})
        a.call("account.add", {"address": "alice@example.test", "password": "alice-pw"})
        a.close()

    def submit(self, recipients, message=MESSAGE, sender="alice@example.test", **kw):
        s = smtplib.SMTP("127.0.0.1", self.sub_port, timeout=30)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
        s.login("alice@example.test", "alice-pw")
        refused = s.sendmail(sender, recipients, message, **kw)
        s.quit()
        assert refused == {}

    def queue(self):
        a = self.loft.admin()
        try:
            return a.call("queue.list", {})["entries"]
        finally:
            a.close()

    def inbox(self, user="alice@example.test", password="alice-pw"):
        g, s = login(self.loft, user, password)
        uids = [m["uid"] for m in g.call("message.list", {"session": s, "mailbox": "INBOX"})["messages"]]
        out = [g.read_all(s, "INBOX", uid) for uid in uids]
        g.close()
        return out

    def queue_show(self, queue_id):
        """`loft queue show`'s text, as an administrator reads it."""
        r = subprocess.run([loft_bin(), "queue", "show", str(queue_id), "--data", str(self.loft.data)],
                           capture_output=True, text=True, env=child_env(), timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    def wait_for_attempt(self, recipient, timeout=30):
        """The queue entry and `recipient`'s state once it has been tried and is waiting again."""
        def tried():
            for entry in self.queue():
                for state in entry["states"]:
                    if state["recipient"] == recipient and state["attempts"] >= 1 and state.get("lastReply"):
                        return entry, state
            return None
        return eventually(tried, timeout=timeout, what=f"an attempt for {recipient}")

    def stop(self):
        self.loft.stop()


def dsn(stored):
    """(report, per-recipient fields as a list of dicts) of a bounce as `email` reads it."""
    first, rest = stored.split(b"\r\n", 1)
    assert first == b"Return-Path: <>"
    report = email.message_from_bytes(rest, policy=email.policy.default)
    assert report.get_content_type() == "multipart/report"
    status = report.get_payload()[1]
    assert status.get_content_type() == "message/delivery-status"
    # The per-message block, then one block per recipient (email parses each as a message).
    blocks = status.get_payload()
    return report, [dict(b.items()) for b in blocks[1:]]


DOMAINS = {
    "remote.test": {"MX": [(10, "mx.remote.test")]},
    "mx.remote.test": {"A": ["127.0.0.2"]},
    # Two MX hosts: the preferred one is down.
    "two.test": {"MX": [(10, "mx1.two.test"), (20, "mx2.two.test")]},
    "mx1.two.test": {"A": ["127.0.0.3"]},
    "mx2.two.test": {"A": ["127.0.0.4"]},
    # No MX: the domain's own address (RFC 5321 §5.1).
    "plain.test": {"A": ["127.0.0.5"]},
    # RFC 7505: accepts no mail.
    "null.test": {"MX": [(0, ".")]},
    # An outside sender's own domain, for bounces that go back to it.
    "elsewhere.test": {"MX": [(10, "mx.elsewhere.test")]},
    "mx.elsewhere.test": {"A": ["127.0.0.6"]},
}


@pytest.fixture
def relay(tmp_path, dns_server, mx_port):
    dns = dns_server(DOMAINS)
    server = RelayServer(tmp_path, dns.port, mx_port)
    yield server
    server.stop()


def test_delivered_on_the_first_try_byte_exact(relay, smtp_peer):
    peer = smtp_peer("127.0.0.2")
    relay.submit(["x@remote.test"])
    got = peer.wait_for(1)[0]
    assert got.mail_from == "alice@example.test" and got.rcpt_tos == ["x@remote.test"]
    # What the sender wrote, after the peer undid the dot-stuffing; Received is the first line.
    assert got.data.endswith(MESSAGE)
    assert got.data.startswith(b"Received: ")
    assert got.ehlo == "out.example.test"
    assert got.mail_params.get("SIZE") == str(len(got.data))
    eventually(lambda: relay.queue() == [], what="the queue to empty")
    assert relay.inbox() == [], "no notification for a plain delivery"


def test_deferred_then_delivered_on_retry(relay, smtp_peer):
    peer = smtp_peer("127.0.0.2", script={"x@remote.test": ("tempfail", 1)})
    relay.submit(["x@remote.test"])
    peer.wait_for(1)
    assert [code for rcpt, code in peer.rcpt_log] == [451, 250]
    eventually(lambda: relay.queue() == [], what="the queue to empty")
    assert peer.deliveries_to("x@remote.test") == 1


def test_a_permanent_refusal_bounces_to_the_sender(relay, smtp_peer):
    smtp_peer("127.0.0.2", script={"nobody@remote.test": "reject"})
    relay.submit(["nobody@remote.test", "x@remote.test"])
    bounce = eventually(lambda: relay.inbox(), timeout=30, what="the bounce")
    assert len(bounce) == 1
    report, recipients = dsn(bounce[0])
    assert report["Subject"] == "Undelivered Mail Returned to Sender"
    assert [r["Final-Recipient"] for r in recipients] == ["rfc822; nobody@remote.test"]
    assert recipients[0]["Action"] == "failed" and recipients[0]["Status"] == "5.1.1"
    assert recipients[0]["Remote-MTA"] == "dns; mx.remote.test"
    assert recipients[0]["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    eventually(lambda: relay.queue() == [], what="the queue to empty")


def test_the_next_mx_when_the_preferred_one_is_down(relay, smtp_peer):
    smtp_peer("127.0.0.3", down=True)
    backup = smtp_peer("127.0.0.4")
    relay.submit(["y@two.test"])
    assert backup.wait_for(1)[0].rcpt_tos == ["y@two.test"]
    eventually(lambda: relay.queue() == [], what="the queue to empty")


def test_a_domain_without_mx_gets_mail_at_its_own_address(relay, smtp_peer):
    peer = smtp_peer("127.0.0.5")
    relay.submit(["z@plain.test"])
    assert peer.wait_for(1)[0].rcpt_tos == ["z@plain.test"]


def test_null_mx_bounces_at_once(relay):
    relay.submit(["n@null.test"])
    bounce = eventually(lambda: relay.inbox(), timeout=30, what="the bounce")
    _, recipients = dsn(bounce[0])
    assert recipients[0]["Final-Recipient"] == "rfc822; n@null.test"
    assert recipients[0]["Status"] == "5.1.10"
    assert relay.queue() == []


def test_a_peer_down_past_the_lifetime_bounces(tmp_path, dns_server, mx_port, smtp_peer):
    dns = dns_server(DOMAINS)
    server = RelayServer(tmp_path, dns.port, mx_port, lifetime="4s")
    try:
        smtp_peer("127.0.0.2", down=True)
        server.submit(["x@remote.test"])
        bounce = eventually(lambda: server.inbox(), timeout=60, what="the expiry bounce")
        _, recipients = dsn(bounce[0])
        assert recipients[0]["Action"] == "failed" and recipients[0]["Status"].startswith("5.4.")
        assert server.queue() == []
    finally:
        server.stop()


def test_mail_waits_while_the_peer_is_down_and_goes_when_it_is_back(relay, smtp_peer):
    peer = smtp_peer("127.0.0.2", down=True)
    relay.submit(["x@remote.test"])
    entries = eventually(
        lambda: [e for e in relay.queue() if e["states"][0]["attempts"] >= 1], timeout=30, what="a failed attempt")
    assert entries[0]["states"][0]["status"] in ("deferred", "leased")
    peer.start()
    peer.wait_for(1)
    eventually(lambda: relay.queue() == [], what="the queue to empty")
    assert peer.deliveries_to("x@remote.test") == 1


def test_dsn_parameters_go_on_to_a_server_that_offers_dsn(relay, smtp_peer):
    peer = smtp_peer("127.0.0.2", dsn=True)
    relay.submit(["x@remote.test"], mail_options=["RET=HDRS", "ENVID=trip+2Bone"],
                 rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;X@remote.test"])
    got = peer.wait_for(1)[0]
    assert got.mail_params.get("RET") == "HDRS" and got.mail_params.get("ENVID") == "trip+2Bone"
    params = got.rcpt_params["x@remote.test"]
    assert params.get("NOTIFY") == "SUCCESS,FAILURE" and params.get("ORCPT") == "rfc822;X@remote.test"
    eventually(lambda: relay.queue() == [], what="the queue to empty")
    # The remote server took the request on: the success notice is its to send, not ours.
    time.sleep(1)
    assert relay.inbox() == []


def test_notify_success_to_a_server_without_dsn_gets_a_relayed_notice(relay, smtp_peer):
    peer = smtp_peer("127.0.0.2", dsn=False)
    relay.submit(["x@remote.test"], mail_options=["ENVID=trip-2"], rcpt_options=["NOTIFY=SUCCESS"])
    got = peer.wait_for(1)[0]
    assert "NOTIFY" not in got.rcpt_params.get("x@remote.test", {}) and "ENVID" not in got.mail_params
    notice = eventually(lambda: relay.inbox(), timeout=30, what="the relayed notice")
    report, recipients = dsn(notice[0])
    assert report["Subject"] == "Successful Mail Delivery Report"
    assert recipients[0]["Action"] == "relayed" and recipients[0]["Status"] == "2.0.0"
    status_part = report.get_payload()[1].get_payload()[0]
    assert status_part["Original-Envelope-Id"] == "trip-2"


def test_notify_never_means_no_bounce(relay, smtp_peer):
    peer = smtp_peer("127.0.0.2", script={"nobody@remote.test": "reject"})
    relay.submit(["nobody@remote.test"], rcpt_options=["NOTIFY=NEVER"])
    peer.wait_until(lambda p: p.rcpt_log, what="the refused RCPT")
    eventually(lambda: relay.queue() == [], what="the queue to empty")
    time.sleep(1)
    assert relay.inbox() == []


def test_a_relay_killed_mid_delivery_delivers_exactly_once(tmp_path, dns_server, mx_port, smtp_peer):
    """SIGKILL the relay while the peer holds its RCPT: the peer never answered, so nothing was
    delivered; `loft serve` starts a new relay, which takes the recipient over once the dead
    one's lease has run out, and the peer gets the message once."""
    dns = dns_server(DOMAINS)
    server = RelayServer(tmp_path, dns.port, mx_port, extra="  lease_seconds: 3\n")
    try:
        peer = smtp_peer("127.0.0.2", script={"x@remote.test": ("slow-once", 5)})
        server.submit(["x@remote.test"])
        peer.wait_until(lambda p: p.rcpt_log, what="the relay's RCPT")
        relay_pid = child_pid(server.loft, "relay")
        assert relay_pid
        os.kill(relay_pid, signal.SIGKILL)
        peer.wait_for(1, timeout=60)
        eventually(lambda: server.queue() == [], timeout=30, what="the queue to empty")
        eventually(lambda: child_pid(server.loft, "relay") not in (None, relay_pid), what="a new relay")
        time.sleep(2)
        assert peer.deliveries_to("x@remote.test") == 1
    finally:
        server.stop()


def test_forwarded_mail_leaves_with_an_srs_sender_and_its_bounce_comes_back(relay, smtp_peer):
    """Carol, outside, writes to a local account that forwards to far@remote.test: the copy
    leaves with an SRS0 sender in example.test (so SPF at remote.test sees us). The remote
    server's bounce to that address comes back in through the MX and goes to Carol."""
    a = relay.loft.admin()
    a.call("account.add", {"address": "fwd@example.test", "password": "fwd-pw", "forwardTo": "far@remote.test",
                           "forwardKeepCopy": False})
    a.close()
    far = smtp_peer("127.0.0.2")
    carol_mx = smtp_peer("127.0.0.6")
    s = smtplib.SMTP("127.0.0.1", relay.mx_port, timeout=30)
    s.sendmail("carol@elsewhere.test", ["fwd@example.test"], MESSAGE.replace(b"x@remote.test", b"fwd@example.test"))
    s.quit()
    got = far.wait_for(1)[0]
    assert got.rcpt_tos == ["far@remote.test"]
    srs_sender = got.mail_from
    assert srs_sender.startswith("SRS0=") and srs_sender.endswith("=elsewhere.test=carol@example.test"), srs_sender
    # The bounce, from <>, to the SRS address: accepted, and routed to Carol's own MX.
    s = smtplib.SMTP("127.0.0.1", relay.mx_port, timeout=30)
    s.sendmail("", [srs_sender], b"From: MAILER-DAEMON@remote.test\r\nSubject: Undelivered\r\n\r\nsorry\r\n")
    s.quit()
    back = carol_mx.wait_for(1)[0]
    assert back.mail_from == "" and back.rcpt_tos == ["carol@elsewhere.test"]
    # A made-up SRS address is not a way through: it is refused like any unknown user.
    s = smtplib.SMTP("127.0.0.1", relay.mx_port, timeout=30)
    s.ehlo("bad.test")
    s.mail("")
    forged = srs_sender.replace("SRS0=", "SRS0=X", 1)
    assert s.rcpt(forged)[0] == 550
    assert s.rcpt("SRS0=AAAA=AA=victim.test=v@example.test")[0] == 550
    s.quit()


# ---------------------------------------------------------------------------------------------
# TLS required per route (relay.routes: {domain: {host, tls: required}}), the certificate
# verified against relay.ca_file for the route's host name.

TLS_DOMAINS = {
    "mx.secure.test": {"A": ["127.0.0.7"]},
    "mx.plaintext.test": {"A": ["127.0.0.8"]},
    "mx.wrongname.test": {"A": ["127.0.0.9"]},
}


def tls_route_server(tmp_path, dns_server, mx_port, ca_file, routes):
    dns = dns_server(TLS_DOMAINS)
    lines = "".join(f"    {domain}: {{host: \"{host}:{mx_port}\", tls: required}}\n" for domain, host in routes.items())
    return RelayServer(tmp_path, dns.port, mx_port, extra=f"  ca_file: {ca_file}\n  routes:\n{lines}")


def test_a_route_with_tls_required_delivers_over_a_verified_connection(tmp_path, dns_server, mx_port, smtp_peer):
    # A certificate for the route's host name only (and its address, which must not be what
    # is checked), trusted through relay.ca_file.
    cert, key = relaypeers.make_self_signed_cert(tmp_path / "secure-cert", ("mx.secure.test",), ("127.0.0.7",))
    peer = smtp_peer("127.0.0.7", tls=(cert, key))
    server = tls_route_server(tmp_path, dns_server, mx_port, cert, {"secure.test": "mx.secure.test"})
    try:
        server.submit(["u@secure.test"])
        got = peer.wait_for(1)[0]
        assert got.tls, "delivered without TLS"
        assert got.rcpt_tos == ["u@secure.test"] and got.data.endswith(MESSAGE)
        eventually(lambda: server.queue() == [], what="the queue to empty")
    finally:
        server.stop()


def test_a_route_with_tls_required_waits_when_starttls_is_not_offered(tmp_path, dns_server, mx_port, smtp_peer):
    cert, _ = relaypeers.make_self_signed_cert(tmp_path / "ca", ("mx.plaintext.test",), ())
    peer = smtp_peer("127.0.0.8")  # no STARTTLS
    server = tls_route_server(tmp_path, dns_server, mx_port, cert, {"plaintext.test": "mx.plaintext.test"})
    try:
        server.submit(["u@plaintext.test"])
        entry, state = server.wait_for_attempt("u@plaintext.test")
        assert state["status"] in ("deferred", "leased")
        assert state["lastEnhancedCode"] == "4.7.0"
        assert state["lastReply"].startswith("TLS required for route plaintext.test but mx.plaintext.test [127.0.0.8]")
        assert "STARTTLS not offered" in state["lastReply"]
        shown = server.queue_show(entry["id"])
        assert "4.7.0 TLS required for route plaintext.test but" in shown, shown
        assert peer.rcpt_log == [] and peer.messages == [], "the message went out in plain text"
    finally:
        server.stop()


def test_a_route_with_tls_required_waits_when_the_certificate_is_for_another_name(tmp_path, dns_server, mx_port,
                                                                                  smtp_peer):
    # Trusted (it is the CA file), for the peer's address, but not for the route's host name.
    cert, key = relaypeers.make_self_signed_cert(tmp_path / "other-cert", ("mx.other.test",), ("127.0.0.9",))
    peer = smtp_peer("127.0.0.9", tls=(cert, key))
    server = tls_route_server(tmp_path, dns_server, mx_port, cert, {"wrongname.test": "mx.wrongname.test"})
    try:
        server.submit(["u@wrongname.test"])
        entry, state = server.wait_for_attempt("u@wrongname.test")
        assert state["lastEnhancedCode"] == "4.7.0"
        assert state["lastReply"].startswith("TLS required for route wrongname.test but mx.wrongname.test [127.0.0.9]")
        assert "not for the host name" in state["lastReply"], state["lastReply"]
        assert "TLS required for route wrongname.test" in server.queue_show(entry["id"])
        assert peer.rcpt_log == [] and peer.messages == []
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# Mail loops (RFC 5321 §5.1): an MX host that is this server's own SMTP listener.

def test_mail_whose_best_mx_is_this_server_fails_as_a_loop(tmp_path, dns_server):
    dns = dns_server({"loop.test": {"MX": [(10, "mx.loop.test")]}, "mx.loop.test": {"A": ["127.0.0.1"]}})
    # The relay's destination port is the port of its own MX listener on 127.0.0.1.
    server = RelayServer(tmp_path, dns.port, "own")
    try:
        server.submit(["u@loop.test"])
        bounce = eventually(lambda: server.inbox(), timeout=30, what="the bounce")
        report, recipients = dsn(bounce[0])
        assert recipients[0]["Final-Recipient"] == "rfc822; u@loop.test"
        assert recipients[0]["Action"] == "failed" and recipients[0]["Status"] == "5.4.6"
        assert "mail for loop.test loops back to myself" in recipients[0]["Diagnostic-Code"]
        assert b"loops back to myself" in bounce[0]
        eventually(lambda: server.queue() == [], what="the queue to empty")
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# The smarthost with AUTH PLAIN after STARTTLS, its certificate verified (smarthost_tls).

def smarthost_server(tmp_path, dns_server, mx_port, password):
    cert, key = relaypeers.make_self_signed_cert(tmp_path / "smarthost-cert", ("smarthost.test",), ("127.0.0.3",))
    dns = dns_server({"smarthost.test": {"A": ["127.0.0.3"]}})
    secret = tmp_path / "smarthost-password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    extra = (f"  smarthost: \"smarthost.test:{mx_port}\"\n  smarthost_tls: required\n  ca_file: {cert}\n"
             f"  smarthost_username: relay-user\n  smarthost_password_file: {secret}\n")
    return (cert, key), RelayServer(tmp_path, dns.port, mx_port, extra=extra)


def test_the_smarthost_gets_the_credentials_over_tls_and_the_mail(tmp_path, dns_server, mx_port, smtp_peer):
    tls, server = smarthost_server(tmp_path, dns_server, mx_port, "s3cret pass")
    peer = smtp_peer("127.0.0.3", tls=tls, auth={"relay-user": "s3cret pass"})
    try:
        server.submit(["x@remote.test"])
        got = peer.wait_for(1)[0]
        assert got.tls and got.login == "relay-user"
        assert got.rcpt_tos == ["x@remote.test"] and got.data.endswith(MESSAGE)
        assert [(l.mechanism, l.user, l.password, l.tls, l.accepted) for l in peer.logins] == [
            ("PLAIN", "relay-user", "s3cret pass", True, True)]
        eventually(lambda: server.queue() == [], what="the queue to empty")
    finally:
        server.stop()


def test_a_refused_smarthost_password_defers_with_the_servers_reply(tmp_path, dns_server, mx_port, smtp_peer):
    """Postfix's smtp_sasl_auth_soft_bounce: a refused login is the administrator's to fix, so
    the mail waits (4.7.0) rather than bouncing, and the server's 535 shows in the queue."""
    tls, server = smarthost_server(tmp_path, dns_server, mx_port, "wrong")
    peer = smtp_peer("127.0.0.3", tls=tls, auth={"relay-user": "right"})
    try:
        server.submit(["x@remote.test"])
        entry, state = server.wait_for_attempt("x@remote.test")
        assert state["status"] in ("deferred", "leased")
        assert state["lastEnhancedCode"] == "4.7.0"
        assert "535 5.7.8" in state["lastReply"], state["lastReply"]
        assert "535 5.7.8" in server.queue_show(entry["id"])
        assert peer.logins and all(l.tls and not l.accepted for l in peer.logins)
        assert peer.messages == [] and peer.rcpt_log == []
        assert server.inbox() == [], "no bounce for a login the administrator must fix"
    finally:
        server.stop()


def test_ret_full_bounce_returns_the_whole_message(relay, smtp_peer):
    """RFC 3461 §4.3: MAIL FROM with RET=FULL, a remote 550: the bounce's third part is the
    whole message (message/rfc822), its body as the sender wrote it."""
    smtp_peer("127.0.0.2", script={"nobody@remote.test": "reject"})
    relay.submit(["nobody@remote.test"], mail_options=["RET=FULL"])
    bounce = eventually(lambda: relay.inbox(), timeout=30, what="the bounce")
    assert len(bounce) == 1
    report, recipients = dsn(bounce[0])
    assert recipients[0]["Final-Recipient"] == "rfc822; nobody@remote.test" and recipients[0]["Action"] == "failed"
    explanation, _, returned = report.get_payload()
    assert "Your message is attached." in explanation.get_content()
    assert returned.get_content_type() == "message/rfc822"
    original = returned.get_payload()[0]
    assert original["Subject"] == "out into the world"
    assert original["Message-ID"] == "<out-1@example.test>"
    assert original["Received"], "the message as it left, with the gateway's trace field"
    body = MESSAGE.split(b"\r\n\r\n", 1)[1].decode()
    assert original.get_payload().replace("\r\n", "\n") == body.replace("\r\n", "\n")


def test_an_alias_passes_notify_and_orcpt_on(relay, smtp_peer):
    """RFC 3461 §5.2.7.2: an alias of one remote target passes NOTIFY and ORCPT on (ORCPT the
    alias when the client gave none): NOTIFY=NEVER through an alias means no bounce for a
    refusal there; without it, the bounce names the alias as Original-Recipient."""
    peer = smtp_peer("127.0.0.2", dsn=True, script={"gone@remote.test": "reject", "quiet@remote.test": "reject"})
    a = relay.loft.admin()
    for alias, target in (("hush", "quiet"), ("fine", "x"), ("out", "gone")):
        a.call("alias.add", {"address": f"{alias}@example.test", "targets": [f"{target}@remote.test"]})
    a.close()
    relay.submit(["hush@example.test"], rcpt_options=["NOTIFY=NEVER"])
    peer.wait_until(lambda p: ("quiet@remote.test", 550) in p.rcpt_log, what="the refused RCPT")
    relay.submit(["fine@example.test"], rcpt_options=["NOTIFY=FAILURE"])
    got = peer.wait_for(1)[0]
    assert got.rcpt_tos == ["x@remote.test"]
    assert got.rcpt_params["x@remote.test"] == {"NOTIFY": "FAILURE", "ORCPT": "rfc822;fine@example.test"}
    eventually(lambda: relay.queue() == [], what="the queue to empty")
    time.sleep(1)
    assert relay.inbox() == [], "NOTIFY=NEVER went on with the alias"
    relay.submit(["out@example.test"])
    bounce = eventually(lambda: relay.inbox(), timeout=30, what="the bounce")
    assert len(bounce) == 1
    _, recipients = dsn(bounce[0])
    assert len(recipients) == 1
    assert recipients[0]["Original-Recipient"] == "rfc822; out@example.test"
    assert recipients[0]["Final-Recipient"] == "rfc822; gone@remote.test"
    assert recipients[0]["Action"] == "failed" and recipients[0]["Status"] == "5.1.1"
