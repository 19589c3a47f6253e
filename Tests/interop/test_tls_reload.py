"""TLS certificates reloaded on SIGHUP (issue 14): after a renewal, `kill -HUP` the `loft
serve` process (systemctl reload) and every gateway serves the new pair to new connections, on
implicit-TLS and STARTTLS listeners alike, while connections already open carry on with theirs;
files that do not load leave the current pair serving, and the log says why."""
import imaplib
import os
import shutil
import signal
import socket
import ssl

from conftest import Loft, eventually, loopback_gateways_env
from relaypeers import make_self_signed_cert


def context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def served(port):
    """The DER certificate an implicit-TLS listener presents; None while nothing listens."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context().wrap_socket(raw) as tls:
                return tls.getpeercert(binary_form=True)
    except ConnectionRefusedError:
        return None


def der(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def ports(env, key):
    return [int(item.split("/")[0].rsplit(":", 1)[1]) for item in env[key].split(",")]


def test_sighup_reloads_the_certificate_without_dropping_connections(tmp_path):
    first = make_self_signed_cert(tmp_path / "first", names=("first.test",))
    second = make_self_signed_cert(tmp_path / "second", names=("second.test",))
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "cert.pem", live / "key.pem"
    shutil.copy(first[0], cert)
    shutil.copy(first[1], key)
    config = tmp_path / "loft.yaml"
    config.write_text(f"tls:\n  certificate: {cert}\n  key: {key}\n")
    env = loopback_gateways_env()
    imap_starttls, imaps = ports(env, "LOFT_IMAP_LISTENERS")
    pop3s = ports(env, "LOFT_POP3_LISTENERS")[1]
    ldaps = ports(env, "LOFT_LDAP_LISTENERS")[1]
    smtps = ports(env, "LOFT_SMTP_LISTENERS")[2]
    implicit = [imaps, pop3s, ldaps, smtps]
    loft = Loft(tmp_path / "data", extra_args=("--config", str(config)), env=env)
    try:
        eventually(lambda: all(served(p) == der(first[0]) for p in implicit), what="every gateway up with the first pair")
        held = imaplib.IMAP4_SSL("127.0.0.1", imaps, ssl_context=context(), timeout=10)

        shutil.copy(second[0], cert)
        shutil.copy(second[1], key)
        os.kill(loft.proc.pid, signal.SIGHUP)
        eventually(lambda: all(served(p) == der(second[0]) for p in implicit), what="the second pair on every gateway")
        upgraded = imaplib.IMAP4("127.0.0.1", imap_starttls, timeout=10)
        upgraded.starttls(ssl_context=context())
        assert upgraded.sock.getpeercert(binary_form=True) == der(second[0]), "STARTTLS takes the new pair too"
        upgraded.logout()
        # The connection opened before the reload was not dropped and keeps its pair.
        assert held.noop()[0] == "OK"
        assert held.sock.getpeercert(binary_form=True) == der(first[0])
        held.logout()

        # A renewal caught half-written: the pair in use stays, the log says why.
        cert.write_text("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
        os.kill(loft.proc.pid, signal.SIGHUP)
        log = tmp_path / "data-serve.log"
        eventually(lambda: log.read_text().count("SIGHUP: kept the current TLS certificate") >= 4, what="every gateway kept its pair")
        assert all(served(p) == der(second[0]) for p in implicit)
        assert loft.proc.poll() is None, "SIGHUP never stops loft serve"
    finally:
        loft.stop()
