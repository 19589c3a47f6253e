"""Bounces after acceptance (RFC 5321 §6.1, issue 11): smtplib sends one message, without
SIZE, to two local recipients of which one refuses it at commit (its size limit, set with
`loft account set --max-message`). The client hears 250, so the refused recipient must be
reported to the sender in a delivery status notification (RFC 3464 in RFC 6522), which Python's
`email` package reads here: in the INBOX of a local sender, on the queue for a remote one."""
import email
import email.policy
import smtplib

import pytest

from test_smtp import SMTPServer, split_stored

BIG = (b"From: Alice <alice@example.test>\r\nTo: bob@example.test, petite@example.test\r\n"
       b"Subject: the minutes\r\nMessage-ID: <minutes-7@example.test>\r\n\r\n" + b"z" * 2000 + b"\r\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = SMTPServer(tmp_path_factory.mktemp("bounce"))
    a = s.loft.admin()
    a.call("account.add", {"address": "petite@example.test", "password": "petite-pw"})
    a.close()
    s.loft.cli("account", "set", "petite@example.test", "--max-message", "512")
    yield s
    s.stop()


def send_without_size(server, sender, recipients, message):
    """MAIL, RCPT and DATA by hand: smtplib's sendmail would announce SIZE, and the RCPT check
    would then refuse the small recipient before the message is sent."""
    s = smtplib.SMTP("127.0.0.1", server.mx_port, timeout=30)
    s.ehlo("client.remote.test")
    assert s.mail(sender)[0] == 250
    for r in recipients:
        assert s.rcpt(r)[0] == 250, r
    code, text = s.data(message)
    s.quit()
    return code, text


def parse_report(stored):
    """The DSN as Python's email package reads it, after the Return-Path line the back-end adds."""
    first, rest = stored.split(b"\r\n", 1)
    assert first == b"Return-Path: <>"
    report = email.message_from_bytes(rest, policy=email.policy.default)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    parts = report.get_payload()
    assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    return report, parts


def test_a_local_sender_gets_a_dsn_for_the_recipient_that_refused(server):
    before = len(server.inbox("alice@example.test", "alice-pw"))
    code, _ = send_without_size(server, "alice@example.test", ["bob@example.test", "petite@example.test"], BIG)
    assert code == 250
    assert split_stored(server.inbox("bob@example.test", "bob-pw")[-1])[2] == BIG
    assert server.inbox("petite@example.test", "petite-pw") == []

    inbox = server.inbox("alice@example.test", "alice-pw")
    assert len(inbox) == before + 1
    report, (human, status, header) = parse_report(inbox[-1])
    assert report["To"].addresses[0].addr_spec == "alice@example.test"
    assert report["From"].addresses[0].addr_spec == "MAILER-DAEMON@mx.example.test"
    assert report["Auto-Submitted"] == "auto-replied"
    assert report["Subject"] == "Undelivered Mail Returned to Sender"
    assert "petite@example.test" in human.get_content()

    per_message, *per_recipient = status.get_payload()
    assert per_message["Reporting-MTA"] == "dns; mx.example.test"
    assert per_message["Arrival-Date"]
    assert len(per_recipient) == 1
    rcpt = per_recipient[0]
    assert rcpt["Final-Recipient"] == "rfc822; petite@example.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.2.3"
    assert rcpt["Diagnostic-Code"].startswith("smtp; 552 5.2.3")
    assert "Message-ID: <minutes-7@example.test>" in header.get_content()


def test_a_remote_senders_dsn_is_queued_with_the_null_sender(server):
    code, _ = send_without_size(server, "carol@remote.test", ["bob@example.test", "petite@example.test"], BIG)
    assert code == 250
    a = server.loft.admin()
    entries = a.call("queue.list", {})["entries"]
    a.close()
    bounces = [e for e in entries if e["recipients"] == ["carol@remote.test"]]
    assert len(bounces) == 1
    assert bounces[0]["sender"] == ""


def test_no_dsn_when_every_recipient_refused(server):
    before = len(server.inbox("alice@example.test", "alice-pw"))
    s = smtplib.SMTP("127.0.0.1", server.mx_port, timeout=30)
    s.ehlo("client.remote.test")
    assert s.mail("alice@example.test")[0] == 250
    assert s.rcpt("petite@example.test")[0] == 250
    code, text = s.data(BIG)  # the only recipient refused: the client hears it, nothing to bounce
    s.quit()
    assert code == 552 and text.startswith(b"5.3.4")
    assert len(server.inbox("alice@example.test", "alice-pw")) == before
