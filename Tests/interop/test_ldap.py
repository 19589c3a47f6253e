"""`loft ldap` (issue 12) driven by clients nobody here wrote: OpenLDAP's ldapsearch and
ldapwhoami (Debian's ldap-utils), the ldap3 package from PyPI, curl's ldap:// support, and
Postfix's LDAP tables (postmap -q, as an MTA beside Loft would look recipients up).

Each test runs `loft serve` with only the LDAP gateway, on free loopback ports, over a small
directory: example.test with alice (display name, given name, surname), bob, a hidden account,
an alias with one target (postmaster -> alice), an alias to an outside address and a group.
"""
import os
import shutil
import socket
import subprocess
import time

import ldap3
import pytest

from conftest import Loft, child_env, free_port

BASE = "dc=example,dc=test"
ALICE_DN = f"uid=alice,ou=people,{BASE}"
THUNDERBIRD = "(|(cn=*ali*)(mail=*ali*)(sn=*ali*)(givenName=*ali*))"


def wait_for_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answers on port {port}")


class LDAPServer:
    def __init__(self, tmp_path, ldap_extra=""):
        self.port, self.tls_port = free_port(), free_port()
        config = tmp_path / "loft.yaml"
        config.write_text(
            "serve:\n  gateways: [ldap]\n"
            "ldap:\n" + ldap_extra + "  listeners:\n"
            f"    - {{address: 127.0.0.1, port: {self.port}, tls: starttls}}\n"
            f"    - {{address: 127.0.0.1, port: {self.tls_port}, tls: implicit}}\n")
        env = child_env()
        env.pop("LOFT_LDAP_LISTENERS", None)
        self.loft = Loft(tmp_path / "data", extra_args=("--config", str(config)), env=env)
        wait_for_port(self.port)
        wait_for_port(self.tls_port)
        a = self.loft.admin()
        a.call("domain.add", {"name": "example.test"})
        a.call("account.add", {"address": "alice@example.test", "password": "alice-pw", "displayName": "Alice Liddell",
                               "givenName": "Alice", "surname": "Liddell"})
        a.call("account.add", {"address": "bob@example.test", "password": "bob-pw-long", "displayName": "Bob Builder"})
        a.call("account.add", {"address": "secret@example.test", "password": "secret-pw", "hiddenFromDirectory": True})
        a.call("alias.add", {"address": "postmaster@example.test", "targets": ["alice@example.test"]})
        a.call("alias.add", {"address": "outside@example.test", "targets": ["someone@remote.test"]})
        a.call("group.add", {"address": "team@example.test", "name": "The Team",
                             "members": ["alice@example.test", "bob@example.test", "friend@remote.test"]})
        a.close()

    def url(self):
        return f"ldap://127.0.0.1:{self.port}"

    def ldapsearch(self, *args, bind=None, url=None, check=True):
        """ldapsearch's LDIF output and exit status (the LDAP result code)."""
        cmd = ["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", url or self.url()]
        if bind:
            cmd += ["-D", bind[0], "-w", bind[1]]
        env = dict(os.environ, LDAPTLS_REQCERT="never")
        r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30, env=env)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd + list(args))}: exit {r.returncode}: {r.stdout}{r.stderr}")
        return r

    def connection(self, user=None, password=None, source="127.0.0.1"):
        server = ldap3.Server("127.0.0.1", port=self.port, get_info=ldap3.NONE)
        return ldap3.Connection(server, user=user, password=password, source_address=source, auto_bind=True,
                                raise_exceptions=False, receive_timeout=30)

    def stop(self):
        self.loft.stop()


def dns(output):
    return sorted(line[4:] for line in output.splitlines() if line.startswith("dn: "))


@pytest.fixture
def ldap(tmp_path):
    server = LDAPServer(tmp_path)
    yield server
    server.stop()


ALICE = (ALICE_DN, "alice-pw")


def test_root_dse_names_the_directory_and_its_features(ldap):
    out = ldap.ldapsearch("-b", "", "-s", "base", "+").stdout
    assert f"namingContexts: {BASE}" in out
    assert "supportedLDAPVersion: 3" in out
    assert "supportedControl: 1.2.840.113556.1.4.319" in out  # paged results
    assert "supportedExtension: 1.3.6.1.4.1.1466.20037" in out  # StartTLS
    assert "supportedExtension: 1.3.6.1.4.1.4203.1.11.3" in out  # Who am I?
    assert "subschemaSubentry: cn=Subschema" in out


def test_anonymous_prefix_and_equality_lookups_work_but_dumps_are_refused(ldap):
    out = ldap.ldapsearch("-b", BASE, "(mail=ali*)", "mail", "cn").stdout
    assert dns(out) == [ALICE_DN]
    assert "cn: Alice Liddell" in out
    out = ldap.ldapsearch("-b", BASE, "(&(objectClass=inetOrgPerson)(mail=bob@example.test))", "cn").stdout
    assert dns(out) == [f"uid=bob,ou=people,{BASE}"]
    for dump in ["(mail=*)", "(cn=*)", "(cn=*ali*)", "(sn=Liddell)", "(mail=a*)"]:
        r = ldap.ldapsearch("-b", BASE, dump, check=False)
        assert r.returncode == 53, (dump, r.stdout, r.stderr)  # unwillingToPerform
    # The hidden account is not there, even by its exact address.
    assert dns(ldap.ldapsearch("-b", BASE, "(mail=secret@example.test)").stdout) == []


def test_simple_bind_by_dn_or_address_and_who_am_i(ldap):
    env = dict(os.environ, LDAPTLS_REQCERT="never")
    r = subprocess.run(["ldapwhoami", "-x", "-H", ldap.url(), "-D", ALICE_DN, "-w", "alice-pw"], capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().lower() == f"dn:{ALICE_DN}".lower()
    r = subprocess.run(["ldapwhoami", "-x", "-H", ldap.url()], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "anonymous", r.stdout + r.stderr
    r = subprocess.run(["ldapwhoami", "-x", "-H", ldap.url(), "-D", ALICE_DN, "-w", "wrong"], capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.returncode == 49, r.stdout + r.stderr  # invalidCredentials
    # The mail address as the bind name (what many address books are configured with).
    conn = ldap.connection("alice@example.test", "alice-pw")
    assert conn.bound
    conn.unbind()
    # Who am I? names the entry, whichever name was bound with (RFC 4513 §5.2.1.8).
    r = subprocess.run(["ldapwhoami", "-x", "-H", ldap.url(), "-D", "alice@example.test", "-w", "alice-pw"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().lower() == f"dn:{ALICE_DN}".lower()
    r = subprocess.run(["ldapwhoami", "-x", "-H", ldap.url(), "-D", "secret@example.test", "-w", "secret-pw"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "u:secret@example.test", r.stdout + r.stderr
    # A hidden account's address is still an account: it may bind, but is not listed.
    conn = ldap.connection("secret@example.test", "secret-pw")
    assert conn.bound
    conn.unbind()


def test_bound_users_search_with_the_address_book_filters(ldap):
    out = ldap.ldapsearch("-b", BASE, THUNDERBIRD, "cn", "mail", bind=ALICE).stdout
    assert dns(out) == [ALICE_DN]
    assert "mail: postmaster@example.test" in out  # the alias as a further mail value
    outlook = "(|(cn=bob*)(mail=bob*)(sn=bob*)(givenName=bob*)(displayName=bob*))"
    assert dns(ldap.ldapsearch("-b", BASE, outlook, "cn", bind=ALICE).stdout) == [f"uid=bob,ou=people,{BASE}"]
    out = ldap.ldapsearch("-b", f"ou=groups,{BASE}", "(mail=team@example.test)", bind=ALICE).stdout
    assert f"member: {ALICE_DN}" in out
    assert "rfc822MailMember: friend@remote.test" in out
    out = ldap.ldapsearch("-b", BASE, "(mail=outside@example.test)", "rfc822MailMember", bind=ALICE).stdout
    assert "rfc822MailMember: someone@remote.test" in out


def test_starttls_and_ldaps(ldap):
    out = ldap.ldapsearch("-ZZ", "-b", BASE, "(mail=alice@example.test)", "mail", bind=ALICE).stdout
    assert dns(out) == [ALICE_DN]
    out = ldap.ldapsearch("-b", BASE, "(mail=alice@example.test)", "mail", bind=ALICE,
                          url=f"ldaps://127.0.0.1:{ldap.tls_port}").stdout
    assert dns(out) == [ALICE_DN]


def test_paged_results_return_every_entry_once(ldap):
    a = ldap.loft.admin()
    for i in range(25):
        a.call("account.add", {"address": f"user{i:02d}@example.test", "password": f"password-{i}"})
    a.close()
    out = ldap.ldapsearch("-E", "pr=7/noprompt", "-b", f"ou=people,{BASE}", "(objectClass=inetOrgPerson)", "1.1",
                          bind=ALICE).stdout
    found = dns(out)
    assert len(found) == 27 and len(set(found)) == 27  # alice, bob and 25 users; not the hidden one
    # ldap3's paged search, as a program would page through the directory.
    conn = ldap.connection(ALICE_DN, "alice-pw")
    entries = list(conn.extend.standard.paged_search(f"ou=people,{BASE}", "(mail=user*)", attributes=["mail"], paged_size=10,
                                                     generator=True))
    assert len([e for e in entries if e["type"] == "searchResEntry"]) == 25
    # Anonymous clients get at most 10 entries (anonymous_size_limit), paged or not.
    conn = ldap.connection()
    conn.search(BASE, "(mail=use*)", attributes=["mail"])
    assert conn.result["result"] == 4 and len(conn.entries) == 10  # sizeLimitExceeded


def test_the_directory_follows_account_changes(ldap):
    def search(filter):
        return dns(ldap.ldapsearch("-b", BASE, filter, "cn", bind=ALICE).stdout)

    ldap.loft.cli("account", "add", "carol@example.test", "--password-stdin", "--name", "Carol Ann", "--given-name", "Carol",
                  "--surname", "Ann", input="carol-password\n")
    assert search("(mail=carol@example.test)") == [f"uid=carol,ou=people,{BASE}"]
    ldap.loft.cli("account", "set", "carol@example.test", "--name", "Caroline Ann")
    assert search("(cn=Caroline*)") == [f"uid=carol,ou=people,{BASE}"]
    ldap.loft.cli("account", "set", "carol@example.test", "--hidden")
    assert search("(mail=carol@example.test)") == []
    ldap.loft.cli("account", "set", "carol@example.test", "--no-hidden")
    assert search("(mail=carol@example.test)") == [f"uid=carol,ou=people,{BASE}"]
    ldap.loft.cli("account", "remove", "carol@example.test")
    assert search("(mail=carol@example.test)") == []


def test_curl_reads_an_entry(ldap):
    r = subprocess.run(["curl", "-s", f"{ldap.url()}/{BASE}?mail,cn?sub?(mail=alice@example.test)"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert f"DN: {ALICE_DN}" in r.stdout
    assert "mail: alice@example.test" in r.stdout


def test_postfix_looks_recipients_up(ldap, tmp_path):
    """ldap_table(5) as a Postfix relay or backup MX in front of Loft would configure it: the
    mailbox map by mail value, the alias map by rfc822MailMember, anonymous and bound. postmap
    reads only its own configuration directory (-c), so nothing on the machine is touched."""
    if shutil.which("postmap") is None:
        pytest.skip("Postfix is not installed: Tests/run-all.sh leaves it out where another MTA is installed")
    (tmp_path / "main.cf").write_text("")

    def table(name, **settings):
        lines = {"server_host": ldap.url(), "search_base": BASE, "version": "3", **settings}
        path = tmp_path / f"{name}.cf"
        path.write_text("".join(f"{k} = {v}\n" for k, v in lines.items()))
        return f"ldap:{path}"

    def query(key, table_):
        r = subprocess.run(["postmap", "-c", str(tmp_path), "-q", key, table_], capture_output=True, text=True,
                           timeout=30)
        # 1 is also a lookup error's status: that one says so on stderr.
        assert r.returncode in (0, 1) and "fatal" not in r.stderr and "warning" not in r.stderr, r.stderr
        return sorted(r.stdout.strip().split(",")) if r.returncode == 0 else None

    mailboxes = table("mailboxes", query_filter="(&(objectClass=inetOrgPerson)(mail=%s))", result_attribute="uid")
    assert query("alice@example.test", mailboxes) == ["alice"]
    assert query("ALICE@Example.Test", mailboxes) == ["alice"]
    assert query("postmaster@example.test", mailboxes) == ["alice"]  # an alias is a mail value of its account
    assert query("nobody@example.test", mailboxes) is None
    assert query("secret@example.test", mailboxes) is None  # hidden from the directory
    aliases = table("aliases", query_filter="(mail=%s)", result_attribute="rfc822MailMember",
                    search_base=f"ou=aliases,{BASE}")
    assert query("outside@example.test", aliases) == ["someone@remote.test"]
    groups = table("groups", query_filter="(mail=%s)", result_attribute="rfc822MailMember",
                   search_base=f"ou=groups,{BASE}", bind="yes", bind_dn=ALICE_DN, bind_pw="alice-pw")
    assert query("team@example.test", groups) == ["alice@example.test", "bob@example.test", "friend@remote.test"]
    wrong = table("wrong", query_filter="(mail=%s)", result_attribute="mail", bind="yes", bind_dn=ALICE_DN,
                  bind_pw="wrong")
    r = subprocess.run(["postmap", "-c", str(tmp_path), "-q", "alice@example.test", wrong], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0 and "49 (Invalid credentials)" in r.stderr and "query error" in r.stderr, r.stderr


def test_writes_are_refused_and_a_malformed_pdu_ends_the_connection(ldap):
    conn = ldap.connection(ALICE_DN, "alice-pw")
    conn.modify(ALICE_DN, {"cn": [(ldap3.MODIFY_REPLACE, ["Mallory"])]})
    assert conn.result["result"] == 53  # unwillingToPerform: the directory is read-only
    conn.unbind()
    with socket.create_connection(("127.0.0.1", ldap.port), timeout=10) as s:
        s.sendall(b"\x30\x03\x02\x01")  # a SEQUENCE whose INTEGER is cut short by its own length
        s.sendall(b"\x05\x30\x80")  # ... and then an indefinite length (RFC 4511 §5.1 forbids it)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        # A Notice of Disconnection (§4.4.1: messageID 0, ExtendedResponse) or nothing, then EOF.
        assert data == b"" or data[0] == 0x30


@pytest.fixture
def guarded(tmp_path):
    server = LDAPServer(tmp_path, ldap_extra="  anonymous_networks: [127.0.0.1/32]\n  anonymous_searches_per_minute: 5\n")
    yield server
    server.stop()


def test_anonymous_search_only_from_allowed_networks_and_at_a_bounded_rate(guarded):
    # From 127.0.0.2, "outside" the allowed 127.0.0.1/32: refused; bound, allowed.
    outside = guarded.connection(source="127.0.0.2")
    outside.search(BASE, "(mail=alice@example.test)")
    assert outside.result["result"] == 50  # insufficientAccessRights
    outside.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["namingContexts"])
    assert outside.result["result"] == 0  # the root DSE stays readable
    bound = guarded.connection(ALICE_DN, "alice-pw", source="127.0.0.2")
    bound.search(BASE, "(mail=alice@example.test)")
    assert bound.result["result"] == 0 and len(bound.entries) == 1
    # From 127.0.0.1: five anonymous searches a minute, then adminLimitExceeded, on any connection.
    inside = guarded.connection()
    for _ in range(5):
        inside.search(BASE, "(mail=alice@example.test)")
        assert inside.result["result"] == 0
    again = guarded.connection()
    again.search(BASE, "(mail=alice@example.test)")
    assert again.result["result"] == 11  # adminLimitExceeded
    bound = guarded.connection(ALICE_DN, "alice-pw")
    bound.search(BASE, "(mail=alice@example.test)")
    assert bound.result["result"] == 0  # bound users are not limited


def test_require_bind(tmp_path):
    server = LDAPServer(tmp_path, ldap_extra="  require_bind: true\n")
    try:
        r = server.ldapsearch("-b", BASE, "(mail=alice@example.test)", check=False)
        assert r.returncode == 50, r.stdout + r.stderr
        assert dns(server.ldapsearch("-b", BASE, "(mail=alice@example.test)", bind=ALICE).stdout) == [ALICE_DN]
        server.ldapsearch("-b", "", "-s", "base", "namingContexts")
    finally:
        server.stop()


def test_a_password_needs_tls_when_not_on_loopback_rules(tmp_path):
    server = LDAPServer(tmp_path, ldap_extra="  allow_plaintext_on_loopback: false\n")
    try:
        r = server.ldapsearch("-b", BASE, "(mail=alice@example.test)", bind=ALICE, check=False)
        assert r.returncode == 13, r.stdout + r.stderr  # confidentialityRequired
        assert dns(server.ldapsearch("-ZZ", "-b", BASE, "(mail=alice@example.test)", bind=ALICE).stdout) == [ALICE_DN]
    finally:
        server.stop()

