"""deploy/ (issue 14), validated with the tools that read these files: systemd-analyze verify
on the units, docker-compose on the compose file (it needs no engine), the config loader on
the production example."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import child_env, loft_bin

DEPLOY = pathlib.Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_systemd_units_verify(tmp_path):
    units = sorted((DEPLOY / "systemd").iterdir()) + [DEPLOY / "loft.service"]
    for unit in units:
        # ExecStart must name an executable that exists: the binary under test.
        text = unit.read_text().replace("/usr/local/bin/loft", os.path.realpath(loft_bin()))
        (tmp_path / unit.name).write_text(text)
    (tmp_path / "loft-gateway@smtp.service").write_text((tmp_path / "loft-gateway@.service").read_text())
    names = [u.name for u in units if "@." not in u.name] + ["loft-gateway@smtp.service"]
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    backend = (DEPLOY / "systemd" / "loft-backend.service").read_text()
    gateway = (DEPLOY / "systemd" / "loft-gateway@.service").read_text()
    relay = (DEPLOY / "systemd" / "loft-relay.service").read_text()
    # Capabilities: binding low ports for the gateways only; the data for the back-end only.
    assert re.search(r"^CapabilityBoundingSet=$", backend, re.M) and re.search(r"^CapabilityBoundingSet=$", relay, re.M)
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in gateway
    assert "ReadWritePaths=/var/lib/loft /run/loft" in backend
    assert "InaccessiblePaths=-/var/lib/loft" in gateway and "InaccessiblePaths=-/var/lib/loft" in relay
    for text in (backend, gateway, relay):
        for setting in ("User=loft", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes"):
            assert setting in text
    assert "ExecReload=/bin/kill -HUP $MAINPID" in gateway and "ExecReload=/bin/kill -HUP $MAINPID" in (DEPLOY / "loft.service").read_text()


def test_the_production_example_loads(tmp_path):
    r = subprocess.run([loft_bin(), "backend", "--check", "--config", str(DEPLOY / "loft.production.yaml"), "--data",
                        str(tmp_path / "data")], capture_output=True, text=True, env=child_env())
    assert r.returncode == 0 and "starting creates a new store" in r.stdout, r
    r = subprocess.run([loft_bin(), "status", "--json", "--config", str(DEPLOY / "loft.production.yaml"), "--data",
                        str(tmp_path / "data")], capture_output=True, text=True, env=child_env())
    import json
    report = json.loads(r.stdout)
    assert {(l["gateway"], l["port"]) for l in report["listeners"]} >= {("smtp", 25), ("smtp", 587), ("smtp", 465), ("imap", 993)}


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="no docker-compose (Debian package docker-compose)")
def test_compose_file_is_valid():
    r = subprocess.run(["docker-compose", "-f", str(DEPLOY / "compose.yaml"), "config"], capture_output=True, text=True,
                       cwd=DEPLOY)
    assert r.returncode == 0, r.stderr
    assert all(f"  {s}:" in r.stdout for s in ("backend", "smtp", "pop3", "imap", "ldap", "relay"))
    # Only the back-end mounts the data volume.
    services = ("\n" + r.stdout).split("\nservices:\n", 1)[1].split("\nvolumes:\n")[0]
    blocks = re.split(r"\n  (?=\w+:\n)", "\n" + services)
    for block in blocks:
        if block.strip():
            name = block.strip().split(":")[0]
            assert ("/var/lib/loft" in block) == (name == "backend"), block


def test_containerfile_is_multi_stage_and_non_root():
    text = (DEPLOY / "Containerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2 and "AS build" in text
    assert re.search(r"^USER loft$", text, re.M) and "COPY --from=build" in text
    assert not re.search(r"^ADD ", text, re.M), "COPY, not ADD"
    assert "rm -rf /var/lib/apt/lists/*" in text
