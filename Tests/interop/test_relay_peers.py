"""The relay tests' peers work, without Loft: the DNS server answers MX, A, AAAA, implicit MX,
null MX and NXDOMAIN as configured, and the scripted SMTP servers answer and record as told."""
import shutil
import smtplib
import socket
import ssl
import subprocess

import pytest

import relaypeers

RECORDS = {
    "a.test": {"MX": [(10, "mx1.a.test"), (20, "mx2.a.test")]},
    "mx1.a.test": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
    "mx2.a.test": {"A": ["127.0.0.3"]},
    "implicit.test": {"A": ["127.0.0.4"]},  # no MX: the domain itself is the mail host
    "null.test": {"MX": [(0, ".")]},  # RFC 7505: accepts no mail
    "dangling.test": {"MX": [(10, "gone.a.test")]},  # an MX host with no address
    "alias.test": {"CNAME": "mx2.a.test"},
}


def test_dns_answers_mx_a_aaaa(dns_server):
    dns = dns_server(RECORDS)
    mx = dns.query("a.test", "MX")
    assert mx.rcode == "NOERROR"
    assert sorted(mx.values("MX")) == [(10, "mx1.a.test"), (20, "mx2.a.test")]
    assert dns.query("mx1.a.test", "A").values("A") == ["127.0.0.2"]
    assert dns.query("mx1.a.test", "AAAA").values("AAAA") == ["::1"]
    assert dns.query("mx2.a.test", "A").values("A") == ["127.0.0.3"]
    no_aaaa = dns.query("mx2.a.test", "AAAA")
    assert (no_aaaa.rcode, no_aaaa.answers) == ("NOERROR", [])
    assert dns.query("alias.test", "A").values("A") == ["127.0.0.3"]
    # The same over TCP (a resolver falls back to it for a truncated answer).
    assert sorted(dns.query("a.test", "MX", tcp=True).values("MX")) == [(10, "mx1.a.test"), (20, "mx2.a.test")]


def test_dns_implicit_mx_null_mx_nxdomain(dns_server):
    dns = dns_server(RECORDS)
    implicit = dns.query("implicit.test", "MX")
    assert (implicit.rcode, implicit.answers) == ("NOERROR", [])  # the name exists, has no MX
    assert dns.query("implicit.test", "A").values("A") == ["127.0.0.4"]

    null = dns.query("null.test", "MX")
    assert null.rcode == "NOERROR"
    assert null.values("MX") == [(0, ".")]
    assert null.rdata == [b"\x00\x00\x00"]  # preference 0, the root name: RFC 7505's exact form

    for name, rtype in [("nope.test", "MX"), ("nope.test", "A"), ("gone.a.test", "A"), ("gone.a.test", "AAAA")]:
        got = dns.query(name, rtype)
        assert (got.rcode, got.answers) == ("NXDOMAIN", []), (name, rtype)
    assert dns.query("dangling.test", "MX").values("MX") == [(10, "gone.a.test")]


def test_dns_unanswered_name_times_out(dns_server):
    dns = dns_server(RECORDS, unanswered=["slow.test"])
    with pytest.raises(TimeoutError):
        dns.query("slow.test", "MX", timeout=1)
    assert dns.query("a.test", "MX").rcode == "NOERROR"  # the others still answer


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) not installed")
def test_dns_answers_as_dig_sees_them(dns_server):
    dns = dns_server(RECORDS)

    def dig(*args):
        r = subprocess.run(["dig", "@127.0.0.1", "-p", str(dns.port), "+time=5", "+tries=2", *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    assert sorted(dig("+short", "a.test", "MX").split("\n")) == ["", "10 mx1.a.test.", "20 mx2.a.test."]
    assert dig("+short", "mx1.a.test", "AAAA").strip() == "::1"
    assert dig("+short", "null.test", "MX").strip() == "0 ."
    assert "status: NXDOMAIN" in dig("+noall", "+comments", "nope.test", "MX")
    implicit = dig("+noall", "+comments", "+answer", "implicit.test", "MX")
    assert "status: NOERROR" in implicit and "\tMX\t" not in implicit


def test_smtp_peer_records_the_message_exactly(smtp_peer):
    peer = smtp_peer("127.0.0.2")
    message = (b"From: a@b.test\r\nTo: bob@a.test\r\nSubject: bytes\r\n\r\n"
               b".a line that starts with a dot\r\n..two\r\nbare\nLF and 8bit \xc3\xa9\r\n")
    with smtplib.SMTP(peer.host, peer.port, local_hostname="relay.client.test", timeout=30) as c:
        c.sendmail("a@b.test", ["bob@a.test", "Carol@a.test"], message,
                   mail_options=["BODY=8BITMIME", "RET=HDRS", "ENVID=Q+2Bx"],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Bob@a.test"])
    [got] = peer.wait_for(1)
    assert got.data == message  # smtplib dot-stuffed it; the peer un-stuffed it
    assert got.mail_from == "a@b.test"
    assert got.rcpt_tos == ["bob@a.test", "Carol@a.test"]
    assert got.ehlo == "relay.client.test" and got.esmtp
    assert got.mail_params == {"SIZE": str(len(message)), "BODY": "8BITMIME", "RET": "HDRS", "ENVID": "Q+2Bx"}
    assert got.rcpt_params["Carol@a.test"] == {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;Bob@a.test"}
    assert not got.tls and got.reply.startswith("250")
    assert peer.deliveries_to("BOB@a.test") == 1


def test_smtp_peer_null_sender_and_helo(smtp_peer):
    peer = smtp_peer("127.0.0.2")
    with smtplib.SMTP(peer.host, peer.port, timeout=30) as c:
        c.helo("old.client.test")
        c.sendmail("", ["bob@a.test"], b"Subject: bounce\r\n\r\nx\r\n")
    [got] = peer.wait_for(1)
    assert (got.mail_from, got.ehlo, got.esmtp, got.mail_params) == ("", "old.client.test", False, {})


def test_smtp_peer_tempfails_then_accepts(smtp_peer):
    peer = smtp_peer("127.0.0.2", script={"bob@a.test": ("tempfail", 2)})
    for attempt in range(2):
        with smtplib.SMTP(peer.host, peer.port, timeout=30) as c:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
                c.sendmail("a@b.test", ["bob@a.test"], b"x\r\n")
            assert e.value.recipients["bob@a.test"][0] == 451
            assert e.value.recipients["bob@a.test"][1].startswith(b"4.2.0")
    with smtplib.SMTP(peer.host, peer.port, timeout=30) as c:
        c.sendmail("a@b.test", ["bob@a.test"], b"x\r\n")
    peer.wait_for(1)
    assert peer.rcpt_log == [("bob@a.test", 451), ("bob@a.test", 451), ("bob@a.test", 250)]
    assert peer.deliveries_to("bob@a.test") == 1


def test_smtp_peer_refuses_at_rcpt_and_after_data(smtp_peer):
    peer = smtp_peer("127.0.0.2", script={"nobody@a.test": "reject", "spam@a.test": "reject-data",
                                          "later@a.test": ("tempfail-data", 1)})
    with smtplib.SMTP(peer.host, peer.port, timeout=30) as c:
        refused = c.sendmail("a@b.test", ["nobody@a.test", "bob@a.test"], b"one\r\n")
        assert refused["nobody@a.test"][0] == 550 and refused["nobody@a.test"][1].startswith(b"5.1.1")
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("a@b.test", ["spam@a.test"], b"two\r\n")
        assert e.value.smtp_code == 554
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("a@b.test", ["later@a.test"], b"three\r\n")
        assert e.value.smtp_code == 451
        c.sendmail("a@b.test", ["later@a.test"], b"three\r\n")
    got = peer.wait_for(2)
    assert [(m.rcpt_tos, m.data) for m in got] == [(["bob@a.test"], b"one\r\n"), (["later@a.test"], b"three\r\n")]
    assert [t.reply[:3] for t in peer.transactions] == ["250", "554", "451", "250"]


def test_smtp_peer_drops_after_data(smtp_peer):
    peer = smtp_peer("127.0.0.2", script={"lost@a.test": "drop-after-data"})
    with smtplib.SMTP(peer.host, peer.port, timeout=30) as c:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            c.sendmail("a@b.test", ["lost@a.test"], b"maybe\r\n")
    peer.wait_until(lambda p: p.transactions, what="the dropped transaction")
    assert peer.transactions[0].data == b"maybe\r\n" and peer.transactions[0].reply is None
    assert peer.messages == []


def test_peers_share_a_port_on_their_own_addresses(smtp_peer, mx_port):
    mx1 = smtp_peer("127.0.0.2")
    mx2 = smtp_peer("127.0.0.3")
    down = smtp_peer("127.0.0.4", down=True)
    assert mx1.port == mx2.port == down.port == mx_port
    for peer in (mx1, mx2):
        with smtplib.SMTP(peer.host, mx_port, timeout=30) as c:
            c.sendmail("a@b.test", ["bob@a.test"], f"to {peer.host}\r\n".encode())
    assert [m.data for m in mx1.wait_for(1)] == [b"to 127.0.0.2\r\n"]
    assert [m.data for m in mx2.wait_for(1)] == [b"to 127.0.0.3\r\n"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.4", mx_port), timeout=30).close()
    down.start()  # comes back up
    with smtplib.SMTP(down.host, mx_port, timeout=30) as c:
        c.sendmail("a@b.test", ["bob@a.test"], b"late\r\n")
    assert [m.data for m in down.wait_for(1)] == [b"late\r\n"]


def test_smtp_peer_without_dsn_refuses_dsn_parameters(smtp_peer):
    peer = smtp_peer("127.0.0.2", dsn=False)
    with smtplib.SMTP(peer.host, peer.port, timeout=30) as c:
        c.ehlo()
        assert not c.has_extn("dsn")
        assert c.mail("a@b.test", ["RET=FULL"])[0] == 555
        assert c.mail("a@b.test")[0] == 250
        assert c.rcpt("bob@a.test", ["NOTIFY=NEVER"])[0] == 555


def test_smtp_peer_starttls(smtp_peer, peer_tls_cert):
    peer = smtp_peer("127.0.0.2", tls=peer_tls_cert)
    ctx = ssl.create_default_context(cafile=peer_tls_cert[0])
    with smtplib.SMTP(peer.host, peer.port, local_hostname="tls.client.test", timeout=30) as c:
        c.ehlo()
        assert c.has_extn("starttls") and c.has_extn("dsn")
        c.starttls(context=ctx)  # checks the certificate against 127.0.0.2
        c.ehlo("tls.client.test")
        c.sendmail("a@b.test", ["bob@a.test"], b"secret\r\n")
    [got] = peer.wait_for(1)
    assert got.tls and got.data == b"secret\r\n"
