"""The `loft` command line and the `loft serve` supervisor, as an administrator uses them."""
import json
import os
import signal
import socket
import subprocess
import time

from conftest import Loft, child_env, eventually, loft_bin, loopback_gateways_env, wait_for


def test_admin_commands(loft):
    loft.cli("domain", "add", "example.test")
    loft.cli("account", "add", "alice@example.test", "--password-stdin", "--quota", "500M", "--max-message", "25M",
             "--forward", "bob@else.test", "--keep-copy", input="pw-alice\n")
    loft.cli("account", "add", "bob@example.test", "--password-stdin", "--apop-secret-stdin", "--no-mailbox-management",
             input="pw-bob\nbob-secret\n")
    a = json.loads(loft.cli("account", "show", "alice@example.test", "--json").stdout)
    assert (a["quotaBytes"], a["maxMessageBytes"], a["forwardTo"], a["forwardKeepCopy"]) == (500 << 20, 25 << 20, "bob@else.test", True)
    b = json.loads(loft.cli("account", "show", "bob@example.test", "--json").stdout)
    assert b["apopEnabled"] and not b["mayManageMailboxes"]
    out = loft.cli("account", "show", "alice@example.test").stdout
    assert "500M" in out and "keeping a copy" in out
    b = json.loads(loft.cli("account", "set", "bob@example.test", "--no-apop", "--mailbox-management", "--quota", "1G",
                            "--json").stdout)
    assert not b["apopEnabled"] and b["mayManageMailboxes"] and b["quotaBytes"] == 1 << 30
    loft.cli("account", "set", "alice@example.test", "--password-stdin", input="new-pw\n")
    assert loft.gateway().call("auth.login", {"username": "alice@example.test", "password": "new-pw"})["session"]
    assert "alice@example.test" in loft.cli("account", "list").stdout
    loft.cli("alias", "add", "postmaster@example.test", "alice@example.test", "bob@example.test")
    assert "postmaster@example.test" in loft.cli("alias", "list").stdout
    loft.cli("alias", "remove", "postmaster@example.test", "bob@example.test")
    loft.cli("group", "add", "team@example.test", "alice@example.test", "--name", "Team")
    members = loft.cli("group", "members", "team@example.test", "--add", "bob@example.test").stdout.split()
    assert members == ["alice@example.test", "bob@example.test"]
    shown = loft.cli("group", "show", "team@example.test").stdout
    assert shown == "group team@example.test (Team)\nmembers (2):\n  alice@example.test\n  bob@example.test\n", shown
    assert json.loads(loft.cli("group", "show", "team@example.test", "--json").stdout)["members"] == members
    assert loft.cli("group", "show", "nobody@example.test", check=False).returncode != 0
    loft.cli("settings", "--max-message", "10M")
    assert json.loads(loft.cli("settings", "--json").stdout)["maxMessageBytes"] == 10 << 20
    assert json.loads(loft.cli("rpc", "domain.list").stdout)["domains"][0]["name"] == "example.test"
    assert json.loads(loft.cli("check", "--json").stdout)["problems"] == []
    # errors: clear message, non-zero exit
    r = loft.cli("rpc", "account.get", '{"address":"nobody@example.test"}', check=False)
    assert r.returncode == 1 and json.loads(r.stderr)["data"]["kind"] == "no_such_account"
    r = loft.cli("domain", "add", "example.test", check=False)
    assert r.returncode != 0 and "already exists" in r.stderr
    r = loft.cli("account", "add", "x@example.test", check=False)
    assert r.returncode != 0 and "--password-stdin" in r.stderr
    r = loft.cli("account", "add", "x@example.test", "--quota", "lots", "--password-stdin", input="p\n", check=False)
    assert r.returncode != 0 and "not a size" in r.stderr
    loft.cli("group", "remove", "team@example.test")
    loft.cli("account", "remove", "bob@example.test")
    assert "bob@example.test" not in loft.cli("account", "list").stdout


def test_usage_errors_name_the_right_command(loft):
    """Issue 14: each mistake names the command's own usage and the accepted forms."""
    r = loft.cli("account", "add", "carol@example.org", check=False)
    assert r.returncode == 64 and "--password-stdin" in r.stderr and "Usage: loft account add" in r.stderr, r.stderr
    r = loft.cli("acount", "list", check=False)
    assert r.returncode == 64 and "Did you mean 'account'?" in r.stderr, r.stderr
    for value, said in [("12Q", '"12Q" is not a size'), ("-5", "cannot be negative")]:
        r = loft.cli("account", "add", "c@example.org", "--password-stdin", "--quota", value, input="a-good-password\n",
                     check=False)
        assert r.returncode == 64 and said in r.stderr and "500M or 2G" in r.stderr and "Usage: loft account add" in r.stderr
    r = loft.cli("settings", "--max-message", "100", check=False)
    assert r.returncode == 64 and "at least 1K" in r.stderr


def test_password_policy(tmp_path):
    """Issue 14: passwords of fewer than 8 characters (backend.min_password_length), or equal
    to the address's local part, are refused, as `loft` runs by default (no test override)."""
    env = loopback_gateways_env()
    env.pop("LOFT_MIN_PASSWORD_LENGTH")
    server = Loft(tmp_path / "data", env=env)
    try:
        server.cli("domain", "add", "example.test")
        for password, said in [("x", "1 characters long; at least 8"), ("1234567", "7 characters long"),
                               ("Carol", "5 characters"), ("CarolCarol", None), ("carol@example.test", None)]:
            r = server.cli("account", "add", "carol@example.test", "--password-stdin", input=password + "\n", check=False)
            if said is None and password == "CarolCarol":
                assert r.returncode == 0, r.stderr
            elif said is None:
                assert r.returncode != 0 and "address or its local part" in r.stderr, r.stderr
            else:
                assert r.returncode != 0 and said in r.stderr, r.stderr
        r = server.cli("account", "set", "carol@example.test", "--password-stdin", input="carol\n", check=False)
        assert r.returncode != 0 and "at least 8" in r.stderr
        r = server.cli("account", "set", "carol@example.test", "--password-stdin", input="CAROL1234\n")
        assert server.gateway().call("auth.login", {"username": "carol@example.test", "password": "CAROL1234"})["session"]
    finally:
        server.stop()


def test_not_running_says_what_to_do(tmp_path):
    r = subprocess.run([loft_bin(), "domain", "list", "--data", str(tmp_path / "none")], capture_output=True, text=True,
                       env=child_env())
    assert r.returncode != 0 and "not running" in r.stderr and "loft serve" in r.stderr


def test_help_everywhere():
    for args in [[], ["serve"], ["backend"], ["account", "add"], ["alias"], ["group", "members"], ["rpc"], ["check"]]:
        r = subprocess.run([loft_bin(), *args, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "USAGE" in r.stdout.upper(), args


def test_serve_first_start_and_restarts_a_dead_backend(tmp_path):
    loft = Loft(tmp_path / "data", env=loopback_gateways_env())
    try:
        assert (tmp_path / "data" / "tls" / "cert.pem").exists() and (tmp_path / "data" / "tls" / "key.pem").exists()
        assert oct((tmp_path / "data" / "admin.sock").stat().st_mode & 0o777) == "0o600"
        assert oct((tmp_path / "data" / "gateway.sock").stat().st_mode & 0o777) == "0o660"
        assert oct((tmp_path / "data" / "loft.sqlite").stat().st_mode & 0o777) == "0o600"
        loft.cli("domain", "add", "example.test")
        # kill the back-end child: the supervisor restarts it and nothing is lost
        pid = int(subprocess.run(["pgrep", "-f", "-P", str(loft.proc.pid), "backend"], capture_output=True, text=True).stdout.split()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 20
        while time.time() < deadline:
            r = loft.cli("domain", "list", "--json", check=False)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        assert json.loads(r.stdout)["domains"][0]["name"] == "example.test"
    finally:
        loft.stop()
    log = (tmp_path / "data-serve.log").read_text()
    assert "Next steps" in log and "restarting" in log
    # ... and says where it listens (issue 14), as configured: here the loopback test ports.
    smtp_ports = [item.split("/")[0] for item in loft.env["LOFT_SMTP_LISTENERS"].split(",")]
    line = next(line for line in log.splitlines() if line.startswith("  smtp: "))
    assert all(p in line for p in smtp_ports) and " mx" in line, line
    # The first-start message names a command that works here (loft is not on the PATH).
    command = next(line.split()[0] for line in log.splitlines() if line.strip().endswith(f"domain add example.org --data {tmp_path / 'data'}"))
    assert command == os.path.realpath(loft_bin()), command
    assert loft.proc.returncode == 0


def test_children_die_with_a_killed_supervisor(tmp_path):
    loft = Loft(tmp_path / "data", env=loopback_gateways_env())
    deadline = time.time() + 20
    while True:  # the gateways start once the back-end listens
        children = [int(p) for p in subprocess.run(["pgrep", "-P", str(loft.proc.pid)], capture_output=True,
                                                     text=True).stdout.split()]
        if len(children) >= 3 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert len(children) >= 2  # the back-end and at least one gateway
    loft.proc.kill()
    loft.proc.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(os.path.exists(f"/proc/{p}") and
                                         "zombie" not in open(f"/proc/{p}/status").read().lower() for p in children):
        time.sleep(0.1)
    alive = [p for p in children if os.path.exists(f"/proc/{p}") and "zombie" not in open(f"/proc/{p}/status").read().lower()]
    assert alive == [], f"children outlived the supervisor: {alive}"
    loft.log.close()


def test_a_signal_during_start_up_still_stops_everything(tmp_path):
    """SIGTERM right after start, before the supervisor has finished starting its children."""
    env = loopback_gateways_env()
    log = open(tmp_path / "early.log", "wb")
    proc = subprocess.Popen([loft_bin(), "serve", "--data", str(tmp_path / "data")], stdout=log, stderr=subprocess.STDOUT, env=env)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    time.sleep(1)
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "data")], capture_output=True, text=True).stdout.split()
    assert leftover == []


def test_a_port_in_use_stops_that_gateway_with_a_clear_message(tmp_path):
    """A gateway whose port another program holds says so in words and is left stopped, not
    restarted forever; the rest of `loft serve` carries on (issue 14)."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    env = loopback_gateways_env()
    env["LOFT_SMTP_LISTENERS"] = f"127.0.0.1:{port}/starttls/mx"
    loft = Loft(tmp_path / "data", env=env)
    log_path = tmp_path / "data-serve.log"
    try:
        eventually(lambda: "not restarting it" in log_path.read_text(), timeout=30, what="the smtp child left stopped")
        time.sleep(1.5)  # a restart would have come within 0.5 s
        log = log_path.read_text()
        assert f"cannot listen on 127.0.0.1:{port}" in log and "Address already in use: another program" in log, log
        assert "smtp cannot start (its message is above); not restarting it" in log
        assert "restarting in" not in log and "errno" not in log, log
        loft.cli("domain", "add", "example.test")  # the back-end and the other gateways carry on
        r = loft.cli("status", check=False)
        assert r.returncode == 1, r.stdout
        assert "smtp is stopped (last exit: status 78): loft serve gave up on it" in r.stdout, r.stdout
        child = {c["name"]: c for c in json.loads(loft.cli("status", "--json", check=False).stdout)["serve"]["children"]}
        assert child["smtp"]["state"] == "stopped" and child["backend"]["state"] == "running"
    finally:
        loft.stop()
        taken.close()


def status(loft):
    r = loft.cli("status", "--json", check=False)
    report = json.loads(r.stdout)
    assert (r.returncode == 0) == report["ok"], r
    return report


def test_status_says_what_runs_and_what_is_wrong(tmp_path):
    """`loft status` (issue 14): loft serve's children with their pids and restarts, every
    listener tried, the store's and the queue's size, the certificate; exit status 1 and the
    reason when something is wrong."""
    loft = Loft(tmp_path / "data", env=loopback_gateways_env())
    try:
        loft.cli("domain", "add", "example.test")
        loft.cli("account", "add", "alice@example.test", "--password-stdin", input="alice-pw\n")
        eventually(lambda: status(loft)["ok"], what="every gateway up")
        report = status(loft)
        names = [c["name"] for c in report["serve"]["children"]]
        assert names == ["backend", "pop3", "smtp", "imap", "ldap", "relay"], names
        assert {(l["gateway"], l["listening"]) for l in report["listeners"]} == {
            ("pop3", True), ("imap", True), ("ldap", True), ("smtp", True)}, report["listeners"]
        assert len(report["listeners"]) == 9
        backend = report["backend"]
        assert (backend["domains"], backend["accounts"], backend["messages"], backend["queue"]["messages"]) == (1, 1, 0, 0)
        assert backend["freeBytes"] > backend["minFreeBytes"] and backend["databaseBytes"] > 0
        assert report["certificate"]["selfSigned"] and report["certificate"]["notAfter"] > time.time() + 300 * 86400
        text = loft.cli("status").stdout
        assert text.startswith("Loft: all is well\n") and "1 domains, 1 accounts, 0 messages" in text, text
        # A gateway killed: the report says it exited and how, and counts the restart.
        pop3 = next(c for c in report["serve"]["children"] if c["name"] == "pop3")
        os.kill(pop3["pid"], signal.SIGKILL)
        eventually(lambda: next(c for c in status(loft)["serve"]["children"] if c["name"] == "pop3")["restarts"] == 1,
                   what="the restart counted")
        eventually(lambda: status(loft)["ok"], what="pop3 back")
        again = next(c for c in status(loft)["serve"]["children"] if c["name"] == "pop3")
        assert again["lastExit"] == "signal 9" and again["pid"] != pop3["pid"] and again["state"] == "running", again
    finally:
        loft.stop()
    r = loft.cli("status", check=False)
    assert r.returncode == 1 and "loft serve is not running" in r.stdout and "the back-end cannot be reached" in r.stdout, r.stdout
    assert not (tmp_path / "data" / "serve-status.json").exists()


def test_backend_check_says_what_an_upgrade_would_migrate(tmp_path):
    """`loft backend --check` (issue 14) on a store made by schema v1 (Tests/Fixtures): lists
    what starting would migrate, changes nothing, and after the upgrade has nothing to say."""
    import hashlib
    import shutil
    fixture = os.path.join(os.path.dirname(__file__), "..", "Fixtures", "store-v1")
    data = tmp_path / "data"
    shutil.copytree(fixture, data)

    def files():
        return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest() for p in data.rglob("*") if p.is_file()}

    before = files()
    r = subprocess.run([loft_bin(), "backend", "--check", "--data", str(data)], capture_output=True, text=True, env=child_env())
    assert r.returncode == 0, r
    assert "is at schema v1; starting this version would first back it up" in r.stdout, r.stdout
    assert "  v3: storage at scale" in r.stdout and "  v9: " in r.stdout, r.stdout
    assert files() == before, "--check changed the data directory"
    loft = Loft(data, env=loopback_gateways_env())  # the upgrade
    try:
        assert "alice@example.org" in loft.cli("account", "list").stdout
        r = loft.cli("backend", "--check")
        assert "is at schema v9: nothing to migrate" in r.stdout, r.stdout
    finally:
        loft.stop()


def test_sockets_can_live_outside_the_data_directory(tmp_path):
    """`socket_dir` (issue 14): the back-end's sockets in a runtime directory of their own, so
    gateways can reach them without any access to the data; every process and command follows."""
    env = loopback_gateways_env()
    env["LOFT_SOCKET_DIR"] = str(tmp_path / "run")
    loft = Loft(tmp_path / "data", env=env)
    try:
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["admin.sock", "gateway.sock", "relay.sock"]
        assert not list((tmp_path / "data").glob("*.sock"))
        loft.cli("domain", "add", "example.test")
        loft.cli("account", "add", "alice@example.test", "--password-stdin", input="alice-password\n")
        mx = int(env["LOFT_SMTP_LISTENERS"].split(",")[0].split("/")[0].rsplit(":", 1)[1])
        eventually(lambda: status(loft)["ok"], what="the gateways up on the moved sockets")
        import smtplib
        s = smtplib.SMTP("127.0.0.1", mx, timeout=30)
        s.sendmail("carol@remote.test", ["alice@example.test"], b"Subject: via run/\r\n\r\nhi\r\n")
        s.quit()
        assert json.loads(loft.cli("account", "list", "--json").stdout)["accounts"][0]["messages"] == 1
    finally:
        loft.stop()
