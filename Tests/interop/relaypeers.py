"""The peers that `loft relay`'s end-to-end tests deliver to: a real DNS server (Debian's dnsmasq,
in the foreground on a high loopback port) that answers for test domains, and scripted
receiving SMTP servers (aiosmtpd) on 127.0.0.x addresses that record every message byte for
byte. Nothing here needs Loft; test_relay_peers.py shows each piece working.

    with DNSServer({"a.test": {"MX": [(10, "mx1.a.test")]},
                    "mx1.a.test": {"A": ["127.0.0.2"]}}) as dns, \\
         SMTPPeer("127.0.0.2", port, script={"bob@a.test": ("tempfail", 2)}) as mx1:
        ...  # point the relay at 127.0.0.1:dns.port and destination port `port`
        got = mx1.wait_for(1)
        assert got[0].data == message_bytes

Records: {name: {type: value}}, names without the final dot, case as written:
    "MX":    [(preference, host), ...]; host "." is a null MX (RFC 7505), e.g. [(0, ".")]
    "A":     ["127.0.0.2", ...]
    "AAAA":  ["::1", ...]
    "CNAME": "target.name"       (the target must itself be a name given here)
    "TXT":   ["text", ...]
Every name under a zone (by default the last label of each name given, e.g. "test") that is not
given answers NXDOMAIN; a given name asked for a type it lacks answers NOERROR with no records.
Names in `unanswered` are forwarded to a loopback port where nothing listens, so a query for them
gets no answer at all (the resolver's time-out: a temporary failure).

SMTP scripts: {recipient: action}, recipients compared case-insensitively; others get `default`.
    "accept"                  250 at RCPT and DATA
    "reject"                  550 5.1.1 at RCPT
    ("tempfail", n)           451 4.2.0 at RCPT the first n times this peer sees the recipient,
                              then accept; "tempfail" alone means n=1
    "reject-data"             250 at RCPT, 554 5.6.0 after DATA
    ("tempfail-data", n)      250 at RCPT, 451 4.3.0 after DATA the first n times, then 250
    "drop"                    the connection is closed at RCPT, with no reply
    "drop-after-data"         the message is read (and kept in .transactions), then the connection
                              is closed before the reply: the sender cannot know it arrived
    ("reply", "452 4.2.2 Mailbox full")   that reply at RCPT, every time
    ("slow-once", seconds)    the first RCPT for it waits that long before its 250 (logged in
                              rcpt_log at once with code None); later ones are accepted at once
A DATA reply is one for the whole transaction: "drop-after-data" on any accepted recipient wins
over "reject-data", which wins over a pending "tempfail-data". "Down" is a peer not started
(SMTPPeer(..., down=True), or .stop()): connections to its address and port are refused.

A peer given tls=(cert, key) offers STARTTLS; given auth={user: password} as well, it offers
AUTH PLAIN and LOGIN after STARTTLS only (aiosmtpd's auth_require_tls), answers 535 5.7.8 to
wrong credentials, and records every attempt in .logins.
"""
import asyncio
import dataclasses
import os
import pathlib
import pwd
import random
import re
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

# ---------------------------------------------------------------------------------------------
# Ports


def _bindable(host, port, kind):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def shared_port(hosts=("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"), udp=False):
    """A port number free for TCP (and UDP when asked) on every one of `hosts` at once, so
    several SMTPPeers can listen on the same port on their own addresses (the relay has one
    destination port setting)."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp else [])
        if all(_bindable(h, port, k) for h in hosts for k in kinds):
            return port
    raise RuntimeError(f"no port free on all of {hosts}")


# ---------------------------------------------------------------------------------------------
# A minimal DNS client (standard library only), for self-tests and for tests that want to see
# what the relay would be told.

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


@dataclasses.dataclass
class DNSAnswer:
    rcode: str  # "NOERROR", "NXDOMAIN", ...
    answers: list  # [(name, type, value)]: MX value (preference, host) with host "." for root
    authoritative: bool = False
    rdata: list = dataclasses.field(default_factory=list)  # each answer's RDATA bytes, as on the wire

    def values(self, rtype):
        return [v for (_, t, v) in self.answers if t == rtype]


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("idna" if not label.isascii() else "ascii")
    return out + b"\0"


def _decode_name(msg, off):
    labels, jumped, end = [], False, None
    for _ in range(128):
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            continue
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    return (".".join(labels) or "."), (end if jumped else off)


def dns_query(name, rtype="A", port=53, server="127.0.0.1", timeout=3.0, tcp=False):
    """Asks `server`:`port` one question and returns a DNSAnswer; raises TimeoutError when no
    answer comes within `timeout` seconds."""
    qid = random.randint(0, 0xFFFF)
    query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _encode_name(name) + struct.pack(">HH", TYPES[rtype], 1)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    try:
        if tcp:
            with socket.create_connection((server, port), timeout=timeout) as s:
                s.sendall(struct.pack(">H", len(query)) + query)
                buf = b""
                while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                    chunk = s.recv(65535)
                    if not chunk:
                        raise ConnectionError("DNS server closed the TCP connection")
                    buf += chunk
                msg = buf[2:]
        else:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.sendto(query, (server, port))
                while True:
                    msg, _ = s.recvfrom(65535)
                    if struct.unpack(">H", msg[:2])[0] == qid:
                        break
    except socket.timeout:
        raise TimeoutError(f"no DNS answer for {name} {rtype} from {server}#{port}") from None
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    if flags & 0x0200 and not tcp:  # truncated: ask again over TCP
        return dns_query(name, rtype, port, server, timeout, tcp=True)
    off = 12
    for _ in range(qd):
        _, off = _decode_name(msg, off)
        off += 4
    answers, raw = [], []
    for _ in range(an):
        rname, off = _decode_name(msg, off)
        t, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if t == 1:
            value = socket.inet_ntop(socket.AF_INET, rdata)
        elif t == 28:
            value = socket.inet_ntop(socket.AF_INET6, rdata)
        elif t == 15:
            value = (struct.unpack(">H", rdata[:2])[0], _decode_name(msg, off + 2)[0])
        elif t in (2, 5):
            value = _decode_name(msg, off)[0]
        elif t == 16:
            parts, i = [], 0
            while i < len(rdata):
                parts.append(rdata[i + 1:i + 1 + rdata[i]].decode("utf-8", "replace"))
                i += 1 + rdata[i]
            value = "".join(parts)
        else:
            value = rdata
        answers.append((rname, TYPE_NAMES.get(t, t), value))
        raw.append(bytes(rdata))
        off += rdlen
    return DNSAnswer(RCODES.get(flags & 0xF, str(flags & 0xF)), answers, bool(flags & 0x0400), raw)


# ---------------------------------------------------------------------------------------------
# DNS server


def _dnsmasq_bin():
    for p in (shutil.which("dnsmasq"), "/usr/sbin/dnsmasq"):
        if p and os.path.exists(p):
            return p
    raise RuntimeError("dnsmasq not found: apt-get install dnsmasq-base (Tests/run-all.sh does)")


class DNSServer:
    """dnsmasq in the foreground on 127.0.0.1:`port` (a free high port unless given), with no
    upstream servers, no /etc/hosts and no /etc/resolv.conf, answering only from `records` (see
    the module's doc for their shape). A context manager; .port, .log_path, .config_path."""

    def __init__(self, records, port=None, zones=None, unanswered=(), ttl=0, log_queries=True, workdir=None):
        self.records = records
        self.requested_port = port
        self.port = None
        self.zones = set(zones or ())
        for name in records:
            self.zones.add(name.rstrip(".").rsplit(".", 1)[-1].lower())
        self.unanswered = list(unanswered)
        self.ttl = ttl
        self.log_queries = log_queries
        self._own_dir = workdir is None
        self.dir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="loft-dns-"))
        self.config_path = self.dir / "dnsmasq.conf"
        self.log_path = self.dir / "dnsmasq.log"
        self.proc = None
        self._log = None

    def config(self, port):
        lines = [
            f"port={port}",
            "listen-address=127.0.0.1",
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "no-poll",
            "no-negcache",
            "cache-size=0",
            f"local-ttl={self.ttl}",
            "log-facility=-",
        ]
        if self.log_queries:
            lines.append("log-queries")
        for zone in sorted(self.zones):
            lines.append(f"local=/{zone}/")
        if self.unanswered:
            dead = shared_port(("127.0.0.1",), udp=True)  # nothing listens there
            for name in self.unanswered:
                lines.append(f"server=/{name}/127.0.0.1#{dead}")
        for name, rrs in self.records.items():
            name = name.rstrip(".")
            for rtype, value in rrs.items():
                rtype = rtype.upper()
                if rtype == "MX":
                    for pref, host in value:
                        host = "." if host in (".", "") else host.rstrip(".")
                        lines.append(f"mx-host={name},{host},{int(pref)}")
                elif rtype in ("A", "AAAA"):
                    for addr in value:
                        lines.append(f"host-record={name},{addr}")
                elif rtype == "CNAME":
                    lines.append(f"cname={name},{value.rstrip('.')}")
                elif rtype == "TXT":
                    for text in ([value] if isinstance(value, str) else value):
                        if '"' in text or "\n" in text:
                            raise ValueError("TXT text with a quote or a newline")
                        lines.append(f'txt-record={name},"{text}"')
                else:
                    raise ValueError(f"record type {rtype} not supported")
        return "\n".join(lines) + "\n"

    def start(self, timeout=30):
        user = pwd.getpwuid(os.geteuid()).pw_name
        for attempt in range(5):
            port = self.requested_port or shared_port(("127.0.0.1",), udp=True)
            self.config_path.write_text(self.config(port))
            self._log = open(self.log_path, "ab")
            # --user: stay the user we are (as root dnsmasq would otherwise switch to user
            # dnsmasq); --pid-file= writes none (the default is under /run).
            self.proc = subprocess.Popen(
                [_dnsmasq_bin(), "--keep-in-foreground", f"--conf-file={self.config_path}", "--pid-file=",
                 f"--user={user}"],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
            deadline = time.time() + timeout
            probe = next(iter(self.records), "probe.invalid")
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    dns_query(probe, "A", port=port, timeout=0.5)
                    self.port = port
                    return self
                except (TimeoutError, OSError):
                    time.sleep(0.05)
            self._stop_proc()
            if self.requested_port or "Address already in use" not in self.log_path.read_text(errors="replace"):
                break
        raise RuntimeError(f"dnsmasq did not start; its log:\n{self.log_path.read_text(errors='replace')}")

    def query(self, name, rtype="A", **kw):
        return dns_query(name, rtype, port=self.port, **kw)

    def _stop_proc(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self):
        self._stop_proc()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------------------------
# TLS


def make_self_signed_cert(directory, names=("localhost",), ips=("127.0.0.1",)):
    """A throwaway self-signed certificate and key (openssl CLI, EC P-256, valid 2 days) for
    `names` and `ips`; returns (cert_path, key_path)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "peer-cert.pem", directory / "peer-key.pem"
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={names[0]}",
                    "-addext", f"subjectAltName={san}"], check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


# ---------------------------------------------------------------------------------------------
# Scripted receiving SMTP server


@dataclasses.dataclass
class Received:
    """One DATA transaction as the peer saw it."""
    mail_from: str  # "" for the null sender <>
    rcpt_tos: list  # the recipients accepted at RCPT, as written
    data: bytes  # exactly the bytes received after un-dot-stuffing, ending in the final CRLF
    ehlo: str  # the name the client gave in EHLO (or HELO)
    esmtp: bool  # EHLO (True) or HELO (False)
    mail_params: dict  # MAIL FROM parameters: {"SIZE": "123", "BODY": "8BITMIME", "RET": "HDRS",
    #                    "ENVID": "...", "SMTPUTF8": None}; keys upper-cased, values as sent
    rcpt_params: dict  # {recipient: {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;bob@a.test"}}
    tls: bool  # STARTTLS was in force
    client: tuple  # the client's (address, port)
    reply: str  # the reply to DATA; None when the peer dropped the connection instead
    login: str = None  # the user name the client logged in with (AUTH), None without AUTH


@dataclasses.dataclass
class Login:
    """One AUTH attempt as the peer saw it."""
    mechanism: str  # "PLAIN", "LOGIN"
    user: str
    password: str
    tls: bool  # under STARTTLS
    accepted: bool


def _parse_path(arg, keyword):
    """'FROM:<a@b> SIZE=1' -> ('a@b', {'SIZE': '1'}); None when malformed."""
    if arg is None or not arg[:len(keyword)].upper() == keyword:
        return None
    m = re.match(r"\s*<([^<>]*)>(.*)$", arg[len(keyword):])
    if not m:
        return None
    params = {}
    for word in m.group(2).split():
        k, eq, v = word.partition("=")
        if not k.isalnum() or (eq and not v):
            return None
        params[k.upper()] = v if eq else None
    return m.group(1), params


try:
    from aiosmtpd.controller import Controller as _Controller
    from aiosmtpd.smtp import SMTP as _SMTP
except ImportError:  # the DNS half stays usable; SMTPPeer says what is missing
    _Controller = _SMTP = None

if _SMTP is not None:

    class _PeerSMTP(_SMTP):
        """aiosmtpd's server with MAIL and RCPT that keep their parameters as sent (aiosmtpd
        upper-cases them and refuses every RCPT parameter) and accept DSN's when offered."""

        def __init__(self, handler, peer, **kw):
            super().__init__(handler, **kw)
            self.peer_obj = peer

        async def smtp_MAIL(self, arg):
            if await self.check_helo_needed():
                return
            parsed = _parse_path(arg, "FROM:")
            if parsed is None:
                await self.push("501 5.5.4 Syntax: MAIL FROM:<address> [parameters]")
                return
            if self.envelope.mail_from is not None:
                await self.push("503 5.5.1 Nested MAIL command")
                return
            address, params = parsed
            if params and not self.session.extended_smtp:
                await self.push("501 5.5.4 Parameters need EHLO")
                return
            allowed = {"SIZE", "BODY"} | ({"SMTPUTF8"} if self.enable_SMTPUTF8 else set()) | \
                ({"RET", "ENVID"} if self.peer_obj.dsn else set())
            unknown = set(params) - allowed
            if unknown:
                await self.push(f"555 5.5.4 Unsupported parameter {sorted(unknown)[0]}")
                return
            size = params.get("SIZE")
            if size is not None and self.data_size_limit and size.isdigit() and int(size) > self.data_size_limit:
                await self.push("552 5.3.4 Message size exceeds fixed maximum message size")
                return
            self.envelope.mail_from = address
            self.envelope.smtp_utf8 = "SMTPUTF8" in params
            self.envelope.mail_params = params
            self.envelope.rcpt_params = {}
            await self.push("250 2.1.0 OK")

        async def smtp_RCPT(self, arg):
            if await self.check_helo_needed():
                return
            if self.envelope.mail_from is None:
                await self.push("503 5.5.1 Need MAIL command")
                return
            parsed = _parse_path(arg, "TO:")
            if parsed is None or not parsed[0]:
                await self.push("501 5.5.4 Syntax: RCPT TO:<address> [parameters]")
                return
            address, params = parsed
            unknown = set(params) - ({"NOTIFY", "ORCPT"} if self.peer_obj.dsn else set())
            if unknown:
                await self.push(f"555 5.5.4 Unsupported parameter {sorted(unknown)[0]}")
                return
            kind, arg = self.peer_obj._action(address)
            if kind == "slow-once" and self.peer_obj._slow_once(address):
                # The first time: the RCPT is seen (rcpt_log), the reply held back long enough
                # for a test to kill the client mid-transaction.
                await asyncio.sleep(arg)
            reply = self.peer_obj._rcpt_reply(address)
            if reply is None:  # "drop"
                self.transport.close()
                return
            if reply.startswith("2"):
                self.envelope.rcpt_tos.append(address)
                self.envelope.rcpt_params[address] = params
            await self.push(reply)

    class _PeerController(_Controller):
        def __init__(self, handler, peer, **kw):
            super().__init__(handler, **kw)
            self.peer_obj = peer

        def factory(self):
            return _PeerSMTP(self.handler, self.peer_obj, **self.SMTP_kwargs)


def _login_of(session):
    """The user name of a session's successful AUTH, or None."""
    data = getattr(session, "auth_data", None) if getattr(session, "authenticated", False) else None
    login = getattr(data, "login", None)
    return login.decode("utf-8", "replace") if isinstance(login, bytes) else login


class _Handler:
    def __init__(self, peer):
        self.peer = peer

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.peer._ehlo(hostname, True)
        if self.peer.dsn:
            responses.insert(-1, "250-DSN")
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        self.peer._ehlo(hostname, False)
        return f"250 {server.hostname}"

    async def handle_DATA(self, server, session, envelope):
        rec = Received(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), data=bytes(envelope.original_content),
            ehlo=session.host_name or "", esmtp=bool(session.extended_smtp),
            mail_params=dict(getattr(envelope, "mail_params", {})),
            rcpt_params={k: dict(v) for k, v in getattr(envelope, "rcpt_params", {}).items()},
            tls=session.ssl is not None, client=tuple(session.peer[:2]) if session.peer else (), reply=None,
            login=_login_of(session))
        reply = self.peer._data_reply(rec)
        if reply is None:  # "drop-after-data": close before answering
            server.transport.close()
            return "250 2.0.0 (never sent)"
        return reply


class SMTPPeer:
    """A receiving SMTP server on `host`:`port` (port: a free one unless given) that answers by
    `script` (see the module's doc) and records what it receives. A context manager; .start() and
    .stop() may be called again (a peer going down and coming back keeps its records and counts).

    .messages      the accepted transactions (DATA answered 250), [Received]
    .transactions  every transaction that reached the end of DATA, whatever the reply
    .rcpt_log      every RCPT: [(recipient, reply code)]
    .ehlo_names    every EHLO/HELO name, in order (one per session, more after STARTTLS)
    .logins        every AUTH attempt: [Login]
    .wait_for(n)   waits until n messages have been accepted; returns .messages
    """

    def __init__(self, host="127.0.0.2", port=None, script=None, default="accept", tls=None,
                 require_starttls=False, dsn=True, smtputf8=True, data_size_limit=33554432,
                 hostname=None, down=False, auth=None):
        if _Controller is None:
            raise RuntimeError("aiosmtpd is missing: pip install aiosmtpd (Tests/run-all.sh does)")
        self.host = host
        self.port = port or shared_port((host,))
        self.script = {k.lower(): v for k, v in (script or {}).items()}
        self.default = default
        self.tls = tls  # (cert_path, key_path) to offer STARTTLS
        self.require_starttls = require_starttls
        self.dsn = dsn
        self.smtputf8 = smtputf8
        self.data_size_limit = data_size_limit
        self.hostname = hostname or f"peer-{host.replace(':', '-')}.test"
        self.down = down
        self.auth = dict(auth) if auth else None  # {user: password}: offer AUTH after STARTTLS
        self.messages, self.transactions, self.rcpt_log, self.ehlo_names = [], [], [], []
        self.logins = []
        self._seen = {}  # recipient -> times a tempfail was given (RCPT)
        self._data_seen = {}  # recipient -> times a tempfail-data was given
        self._cond = threading.Condition()
        self._controller = None

    # -- script --------------------------------------------------------------------------

    def _action(self, rcpt):
        a = self.script.get(rcpt.lower(), self.default)
        if isinstance(a, str):
            a = (a, 1) if a in ("tempfail", "tempfail-data") else (a, None)
        return a

    def _slow_once(self, rcpt):
        """True the first time `rcpt` is seen with a "slow-once" action (then 250 as accept);
        the RCPT is logged as seen (code None) at once."""
        with self._cond:
            key = ("slow", rcpt.lower())
            first = key not in self._seen
            self._seen[key] = 1
            if first:
                self.rcpt_log.append((rcpt, None))
                self._cond.notify_all()
            return first

    def _rcpt_reply(self, rcpt):
        kind, arg = self._action(rcpt)
        with self._cond:
            if kind == "drop":
                reply = None
            elif kind == "reject":
                reply = f"550 5.1.1 <{rcpt}>: no such user"
            elif kind == "reply":
                reply = arg
            elif kind == "tempfail" and self._seen.get(rcpt.lower(), 0) < arg:
                self._seen[rcpt.lower()] = self._seen.get(rcpt.lower(), 0) + 1
                reply = f"451 4.2.0 <{rcpt}>: try again later"
            elif kind in ("accept", "tempfail", "reject-data", "tempfail-data", "drop-after-data", "slow-once"):
                reply = "250 2.1.5 OK"
            else:
                raise ValueError(f"unknown script action {kind!r} for {rcpt}")
            self.rcpt_log.append((rcpt, int(reply[:3]) if reply else None))
            self._cond.notify_all()
        return reply

    def _data_reply(self, rec):
        with self._cond:
            actions = [(r, *self._action(r)) for r in rec.rcpt_tos]
            if any(k == "drop-after-data" for _, k, _ in actions):
                reply = None
            elif any(k == "reject-data" for _, k, _ in actions):
                reply = "554 5.6.0 Message content rejected"
            else:
                pending = [r for r, k, n in actions if k == "tempfail-data" and self._data_seen.get(r.lower(), 0) < n]
                for r in pending:
                    self._data_seen[r.lower()] = self._data_seen.get(r.lower(), 0) + 1
                reply = "451 4.3.0 Try again later" if pending else "250 2.0.0 OK: queued"
            rec.reply = reply
            self.transactions.append(rec)
            if reply is not None and reply.startswith("250"):
                self.messages.append(rec)
            self._cond.notify_all()
        return reply

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        """aiosmtpd's authenticator: the user and password against .auth; recorded either way."""
        from aiosmtpd.smtp import AuthResult, LoginPassword
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = self.auth is not None and self.auth.get(user) == password
        with self._cond:
            self.logins.append(Login(mechanism, user, password, session.ssl is not None, ok))
            self._cond.notify_all()
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def _ehlo(self, name, esmtp):
        with self._cond:
            self.ehlo_names.append(name)
            self._cond.notify_all()

    # -- life ----------------------------------------------------------------------------

    def start(self):
        if self._controller is not None:
            return self
        self.down = False
        kw = dict(hostname=self.host, port=self.port, server_hostname=self.hostname,
                  enable_SMTPUTF8=self.smtputf8, data_size_limit=self.data_size_limit, decode_data=False,
                  ready_timeout=30)
        if self.tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*self.tls)
            kw.update(tls_context=ctx, require_starttls=self.require_starttls)
        if self.auth is not None:
            kw.update(authenticator=self._authenticate, auth_require_tls=True)
        self._controller = _PeerController(_Handler(self), self, **kw)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self.down = True

    def __enter__(self):
        return self if self.down else self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- looking -------------------------------------------------------------------------

    def wait_until(self, check, timeout=60, what="the condition"):
        """Waits (without timing anything) until check(self) is true; returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = check(self)
                if got:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.host}:{self.port}: {what} did not hold within {timeout} s; "
                                         f"messages {len(self.messages)}, rcpt_log {self.rcpt_log}")
                self._cond.wait(min(left, 0.5))

    def wait_for(self, count=1, timeout=60):
        """Waits until at least `count` messages have been accepted; returns them all."""
        self.wait_until(lambda p: len(p.messages) >= count, timeout, f"{count} accepted message(s)")
        with self._cond:
            return list(self.messages)

    def deliveries_to(self, rcpt):
        """How many accepted messages had `rcpt` among their recipients (exactly-once checks)."""
        with self._cond:
            return sum(1 for m in self.messages for r in m.rcpt_tos if r.lower() == rcpt.lower())

    def address(self):
        return (self.host, self.port)
