"""Prometheus metrics (issue 14): every process of `loft serve` serves GET /metrics on its own
loopback port; scraped and parsed with prometheus_client's text-format parser (PyPI), the
counters move when mail flows, logins fail, TLS is negotiated and a gateway restarts."""
import imaplib
import os
import signal
import smtplib
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Loft, eventually, free_port, loopback_gateways_env

PROCESSES = ["serve", "backend", "smtp", "pop3", "imap", "ldap", "relay"]


def scrape(port):
    """{(sample name, frozenset(labels)): value} of one endpoint."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name, **labels):
    want = set(labels.items())
    return sum(v for (n, l), v in samples.items() if n == name and want <= set(l))


def port_of(env, key, n):
    return int(env[key].split(",")[n].split("/")[0].rsplit(":", 1)[1])


def up(port):
    try:
        scrape(port)
        return True
    except (urllib.error.URLError, ConnectionError):
        return False


def test_every_process_serves_metrics_that_move(tmp_path):
    env = loopback_gateways_env()
    ports = {p: free_port() for p in PROCESSES}
    env["LOFT_METRICS_ADDRESS"] = "127.0.0.1"
    env["LOFT_METRICS_PORTS"] = ",".join(f"{p}={n}" for p, n in ports.items())
    loft = Loft(tmp_path / "data", env=env)
    try:
        eventually(lambda: all(up(n) for n in ports.values()), what="every process's /metrics")
        for process, port in ports.items():
            samples = scrape(port)
            assert value(samples, "loft_process_start_time_seconds", process=process) > 1.7e9, process
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{ports['smtp']}/other", timeout=10)
        assert missing.value.code == 404

        loft.cli("domain", "add", "example.test")
        loft.cli("account", "add", "alice@example.test", "--password-stdin", input="alice-metrics-pw\n")
        s = smtplib.SMTP("127.0.0.1", port_of(env, "LOFT_SMTP_LISTENERS", 0), timeout=30)
        s.ehlo("client.test")
        s.sendmail("carol@remote.test", ["alice@example.test"], b"Subject: counted\r\n\r\n" + b"x" * 5000 + b"\r\n")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("carol@remote.test", ["nobody@example.test"], b"Subject: no\r\n\r\nx\r\n")
        s.quit()
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        imap = imaplib.IMAP4_SSL("127.0.0.1", port_of(env, "LOFT_IMAP_LISTENERS", 1), ssl_context=ctx, timeout=30)
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("alice@example.test", "not-her-password")
        imap.logout()

        import ldap3
        ldap_port = port_of(env, "LOFT_LDAP_LISTENERS", 0)
        conn = ldap3.Connection(ldap3.Server("127.0.0.1", port=ldap_port), user="alice@example.test", password="wrong-password")
        assert not conn.bind()
        anonymous = ldap3.Connection(ldap3.Server("127.0.0.1", port=ldap_port))
        assert anonymous.bind()
        anonymous.unbind()
        ldap_samples = scrape(ports["ldap"])
        assert value(ldap_samples, "loft_commands_total", protocol="ldap", result="invalidCredentials") == 1
        assert value(ldap_samples, "loft_commands_total", protocol="ldap", result="ok") >= 1
        smtp = scrape(ports["smtp"])
        assert value(smtp, "loft_connections_total", protocol="smtp") >= 1
        assert value(smtp, "loft_commands_total", protocol="smtp", result="ok") >= 5
        assert value(smtp, "loft_commands_total", protocol="smtp", result="permanent") >= 1  # the 550
        imap_samples = scrape(ports["imap"])
        assert value(imap_samples, "loft_tls_handshakes_total", protocol="imap", version="1.3") >= 1
        assert value(imap_samples, "loft_commands_total", protocol="imap", result="no") == 1  # the failed LOGIN
        assert value(imap_samples, "loft_commands_total", protocol="imap", result="ok") >= 1  # LOGOUT
        backend = scrape(ports["backend"])
        assert value(backend, "loft_deliveries_total", outcome="delivered") == 1
        assert value(backend, "loft_message_size_bytes_count") == 1 and value(backend, "loft_message_size_bytes_sum") > 5000
        assert value(backend, "loft_rpc_duration_seconds_count", method="delivery.check") >= 2
        assert value(backend, "loft_rpc_calls_total", method="delivery.check", result="ok") >= 2
        assert value(backend, "loft_logins_total", service="imap", result="failed") == 1
        # The store and queue gauges are refreshed every 15 s.
        eventually(lambda: value(scrape(ports["backend"]), "loft_store_messages") == 1, timeout=40, what="the store gauge")
        assert value(scrape(ports["backend"]), "loft_store_free_bytes") > 0

        # A gateway that dies is counted by the supervisor as it restarts it.
        children = subprocess.run(["pgrep", "-P", str(loft.proc.pid)], capture_output=True, text=True).stdout.split()
        pop3 = next(int(p) for p in children if open(f"/proc/{p}/cmdline").read().split("\0")[1] == "pop3")
        os.kill(pop3, signal.SIGKILL)
        eventually(lambda: value(scrape(ports["serve"]), "loft_restarts_total", child="pop3") == 1, what="pop3's restart counted")
    finally:
        loft.stop()
