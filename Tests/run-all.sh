#!/usr/bin/env bash
# Installs what Loft's tests need on a fresh Debian 12 machine, builds once, and runs the whole
# suite: Swift unit and in-process tests, then the end-to-end tests that drive the real `loft`
# binary (and, as gateways land, real clients nobody here wrote). README.md names this command;
# .ci/run runs exactly it.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
# dnsmasq-base is dnsmasq's binary alone: the `dnsmasq` package would start a system-wide DNS
# service on port 53. The relay tests run it themselves on a high loopback port
# (Tests/interop/relaypeers.py); dig (bind9-dnsutils) checks its answers; openssl makes their
# throwaway certificates. ldap-utils (ldapsearch, ldapwhoami) and ldap3 drive `loft ldap`, and
# so does Postfix's postmap through postfix-ldap: Postfix is installed unconfigured ("No
# configuration") and never started; the test gives postmap its own configuration directory.
# Debian allows one MTA package, so where another one provides /usr/sbin/sendmail Postfix is
# left out and that one test says it was skipped.
APT_PACKAGES=(libsqlite3-dev zlib1g-dev sqlite3 socat curl procps fetchmail swaks isync dnsmasq-base bind9-dnsutils openssl ldap-utils dovecot-core docker-compose)
if dpkg -s postfix >/dev/null 2>&1 || [ ! -e /usr/sbin/sendmail ]; then APT_PACKAGES+=(postfix postfix-ldap); fi
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
PIP_PACKAGES=(pytest jsonschema imapclient aiosmtpd ldap3 prometheus_client)
python3 -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}" 2>&1 | grep -v "Running pip as the 'root' user" || true

echo "== build (debug, with tests)"
swift build --build-tests

echo "== swift format lint"
swift format lint --strict --recursive Sources Tests

echo "== swift test"
swift test --skip-build

echo "== end-to-end and protocol tests"
LOFT_BIN="$PWD/.build/debug/loft" python3 -m pytest -q Tests/interop Tests/protocol
