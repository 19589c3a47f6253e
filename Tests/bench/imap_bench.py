"""IMAP benchmark (issue 9): Loft's IMAP gateway beside Dovecot 2.3, in the same run, with the
same client, on the same 10,000 messages.

    sudo /work/shared/peers/up.sh          # Dovecot on 127.0.0.1:3143 (or let --peers auto do it)
    LOFT_BIN=.build/release/loft python3 Tests/bench/imap_bench.py [--runs 5] [--sessions 1000]

What it does:
1. Makes the corpus: `--messages` (10,000) messages from a fixed seed (`--seed`): From, To, Cc,
   Subject, Date, Message-ID, In-Reply-To, MIME-Version; text/plain, multipart/alternative and
   multipart/mixed with a base64 attachment; 1,000 of them about 2.6 MiB. It prints the
   corpus's SHA-256, so two runs can be seen to use the same bytes.
2. Dovecot: the peers stack of /work/shared/peers (Debian's dovecot-imapd, Maildir, LMTP on
   3124, IMAP on 3143). `--peers auto` (default) uses it when 3143 answers, else runs `up.sh`
   (as root: it installs Debian's packages the first time) and `down.sh` at the end;
   `--peers no` never starts it. The user `imapbench@anchor.test` is (re)made with anchorctl,
   its INBOX emptied, then filled by IMAP MULTIAPPEND with LITERAL+, with each message's
   flags and INTERNALDATE.
3. Loft: `loft serve` (from `--loft PATH` or LOFT_BIN) in a temporary directory with only the
   IMAP gateway, one STARTTLS listener on a free loopback port (plaintext LOGIN is allowed on
   loopback), LOFT_PASSWORD_HASH_COST=4. The account is made over the admin socket and filled
   through the back-end RPC (`message.append` and `upload.append` pipelined 32 at a time, the
   `upload.commit`s one by one so that UIDs follow the corpus's order), with the same bytes,
   flags and INTERNALDATE. Both servers then serve each message's bytes as appended (no
   Return-Path or Received added, as a delivery would).
4. One untimed round on each server (Dovecot builds its cache there) in which every answer is
   parsed and compared: ENVELOPE and BODYSTRUCTURE of every message, Loft against Dovecot.
5. `--runs` rounds, interleaved Loft, Dovecot, Loft, Dovecot …: each round is a new
   connection, LOGIN (not timed), then each operation timed from sending the command to
   reading its tagged answer: SELECT INBOX; FETCH 1:* (FLAGS); FETCH 1:* (FLAGS ENVELOPE);
   FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE); UID SEARCH HEADER Subject (1 % match);
   SEARCH BODY (no match); FETCH 1:1000 BODY.PEEK[]. Every answer is checked (count of
   FETCH responses, SEARCH hits, literal bytes); a NO, BAD, timeout, closed connection or wrong
   answer is a failure in the table, not a crash.
6. `--sessions` (1,000) sessions logged in, SELECTed and idle on each server in turn, from 25
   loopback source addresses (Dovecot allows 200 per user and address, Loft 50): the RSS of
   Loft's gateway process (`loft imap`, a child of `loft serve`) against the sum over all of
   Dovecot's processes, with PSS beside it (Dovecot runs a process per session, whose shared
   pages RSS counts again in each). A session a server refuses is counted and reported; the
   peers' Dovecot refuses the last few of 1,000 (its stats service's client_limit is 1,000
   connections, one per imap process).

The client is a raw socket: it finds literals and the tagged line with bytes.find and counts
untagged responses with bytes.count, so its own cost stays small beside the servers' (its CPU
is printed with every figure). Write-up and figures: Tests/bench/IMAP.md.
"""
import argparse
import base64
import calendar
import hashlib
import itertools
import os
import pathlib
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "interop"))
from conftest import child_env, wait_for  # noqa: E402
from loftrpc import Client, RPCError  # noqa: E402

PEERS = pathlib.Path(os.environ.get("LOFT_PEERS", "/work/shared/peers"))
DOVECOT_PORT = 3143
DOVECOT_USER, DOVECOT_PASSWORD = "imapbench@anchor.test", "imapbench-pw"
LOFT_USER, LOFT_PASSWORD = "alice@example.test", "alice-bench-pw"
SUBJECT_TOKEN = "quarterly budget review"   # in exactly 1 % of the subjects
BODY_MISS = "xylophonic nebula"             # in no message


# ---------------------------------------------------------------------------------- corpus --

FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil "
         "Trent Victor Walter Yasmin Zoe Liam Emma Noah Ava Mateo Mia Lucas Sofia Hugo Lea Jonas").split()
LAST = ("Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker "
        "White Roberts Green Hall Wood Jackson Clarke Martin Bernard Dubois Moreau Schmidt Weber").split()
DOMAINS = "example.com example.org example.net mail.test corp.example univ.example lists.example".split()
TOPICS = ("meeting notes", "project status", "lunch on friday", "server migration", "invoice 4471",
          "travel plans", "design review", "release checklist", "holiday schedule", "weekly report",
          "contract draft", "bug triage", "onboarding", "conference talk", "office move", "backup policy",
          "security update", "team offsite", "hiring plan", "customer feedback", "sprint planning",
          "new laptop", "expense claim", "parking permits", "printer on floor 3", "draft agenda")
WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which but "
         "have an they you were her she there been one all we their has would when if so no will what "
         "about up out them some could other into more than then its time only new these two may first "
         "any like now my such make over our even most me state after also made many before must through "
         "back years where much your way well down should because each just those people how too little "
         "good very great world still own see men work long here get both between life being under never "
         "day same another know while last might us great old year off come since against go came right "
         "used take three states himself few house use during without again place around however home small "
         "found thought went say part once general high upon school every does got united left number course "
         "war until always away something fact water though less public put think almost hand enough far "
         "took head yet government system better set told nothing night end why called eyes find going look "
         "asked later knew point next program city business give group toward young days let room side social "
         "present given several order national second possible rather per face among form important often "
         "things looked early white john become case large big need four within felt children along saw best "
         "church ever least power development light thing seemed family interest want members mind country "
         "area others done turned although open problem budget server report schedule release update").split()
assert "quarterly" not in WORDS and not any("quarterly" in t for t in TOPICS)
assert "xylophonic" not in WORDS
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()


def rfc5322_date(t):
    tm = time.gmtime(t)
    return f"{DAYS[tm.tm_wday]}, {tm.tm_mday} {MONTHS[tm.tm_mon - 1]} {tm.tm_year} {tm.tm_hour:02}:{tm.tm_min:02}:{tm.tm_sec:02} +0000"


def imap_date(t):
    tm = time.gmtime(t)
    return f"{tm.tm_mday:02}-{MONTHS[tm.tm_mon - 1]}-{tm.tm_year} {tm.tm_hour:02}:{tm.tm_min:02}:{tm.tm_sec:02} +0000"


def person(rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    addr = f"{first.lower()}.{last.lower()}@{rng.choice(DOMAINS)}"
    r = rng.random()
    if r < 0.1:   # RFC 2047, as mail from outside the ASCII world looks
        name = f"{first} {last}".replace("o", "\u00f6").replace("a", "\u00e4")
        q = "".join(c if c.isascii() and c.isalnum() else ("_" if c == " " else "".join(f"={b:02X}" for b in c.encode()))
                    for c in name)
        return f"=?UTF-8?Q?{q}?= <{addr}>"
    if r < 0.25:  # a display name that must be quoted
        return f'"{last}, {first}" <{addr}>'
    if r < 0.9:
        return f"{first} {last} <{addr}>"
    return addr


def paragraph_text(rng, size):
    """Words wrapped at 72 columns, CRLF, about `size` bytes."""
    lines, line, total = [], [], 0
    while total < size:
        w = rng.choice(WORDS)
        if sum(len(x) + 1 for x in line) + len(w) > 72:
            text = " ".join(line)
            lines.append(text)
            total += len(text) + 2
            line = []
            if rng.random() < 0.12:
                lines.append("")
                total += 2
        line.append(w)
    if line:
        lines.append(" ".join(line))
    lines[0] = lines[0].capitalize()
    return "\r\n".join(lines) + "\r\n"


def html_of(text):
    paras = [p.replace("\r\n", " ") for p in text.split("\r\n\r\n")]
    body = "\r\n".join(f"<p>{p}</p>" for p in paras)
    return f"<html><head><meta charset=\"utf-8\"></head><body>\r\n{body}\r\n</body></html>\r\n"


def base64_lines(data):
    b = base64.b64encode(data).decode()
    return "\r\n".join(b[i:i + 76] for i in range(0, len(b), 76)) + "\r\n"


def make_corpus(count, seed):
    """[(bytes, flags, internal date)] in delivery order; deterministic for (count, seed)."""
    rng = random.Random(seed)
    token_at = set(rng.sample(range(count), max(1, count // 100)))
    t = calendar.timegm((2026, 1, 5, 8, 0, 0))
    me = "Alice Example <alice@example.test>"
    out, ids = [], []
    for i in range(count):
        t += rng.randint(30, 3600)
        sender = person(rng)
        topic = rng.choice(TOPICS)
        if i in token_at:
            topic = f"{topic}: {SUBJECT_TOKEN}" if rng.random() < 0.5 else f"{SUBJECT_TOKEN.capitalize()} ({topic})"
        reply = len(ids) > 0 and rng.random() < 0.3
        subject = ("Re: " if reply else "") + topic[0].upper() + topic[1:]
        domain = sender.rsplit("@", 1)[1].rstrip(">")
        mid = f"<{i:05}.{rng.getrandbits(48):012x}@{domain}>"
        ids.append(mid)
        hop = rng.choice(DOMAINS)
        headers = [
            f"Received: from mx.{hop} (mx.{hop} [192.0.2.{rng.randint(1, 254)}])\r\n"
            f"\tby mail.example.test with ESMTPS id {rng.getrandbits(40):010x}\r\n"
            f"\tfor <alice@example.test>; {rfc5322_date(t)}",
            f"From: {sender}",
            f"To: {me}" + (f", {person(rng)}" if rng.random() < 0.2 else ""),
        ]
        if rng.random() < 0.2:
            headers.append("Cc: " + ", ".join(person(rng) for _ in range(rng.randint(1, 3))))
        headers += [f"Subject: {subject}", f"Date: {rfc5322_date(t)}", f"Message-ID: {mid}"]
        if reply:
            parent = rng.choice(ids[-50:-1] or ids[:1])
            headers += [f"In-Reply-To: {parent}", f"References: {parent}"]
        if rng.random() < 0.3:
            headers.append(f"X-Mailer: {rng.choice(['Thunderbird 128.5.0', 'Apple Mail (2.3826)', 'Outlook 16.0', 'mutt 2.2.12'])}")
        headers.append("MIME-Version: 1.0")
        # Text size: log-normal, median ~1.15 KB, long tail; total mean ~2.7 KB with headers.
        size = int(min(40000, max(120, rng.lognormvariate(7.05, 0.75))))
        text = paragraph_text(rng, size)
        kind = rng.random()
        if kind < 0.70:
            headers += ["Content-Type: text/plain; charset=utf-8; format=flowed", "Content-Transfer-Encoding: 7bit"]
            body = text
        else:
            boundary = f"----=_Part_{i}_{rng.getrandbits(32):08x}"
            if kind < 0.88:
                headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
                parts = [("text/plain; charset=utf-8", "7bit", text), ("text/html; charset=utf-8", "7bit", html_of(text))]
            else:
                headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
                name = rng.choice(["report.pdf", "photo.jpg", "notes.txt", "budget.xlsx", "slides.pdf"])
                blob = rng.randbytes(rng.randint(300, 2500))
                parts = [("text/plain; charset=utf-8", "7bit", text),
                         (f'application/octet-stream; name="{name}"\r\nContent-Disposition: attachment; filename="{name}"',
                          "base64", base64_lines(blob))]
            pieces = ["This is a multi-part message in MIME format.\r\n"]
            for ctype, enc, content in parts:
                pieces.append(f"--{boundary}\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: {enc}\r\n\r\n{content}")
            pieces.append(f"--{boundary}--\r\n")
            body = "".join(pieces)
        data = ("\r\n".join(headers) + "\r\n\r\n" + body).encode()
        flags = []
        if rng.random() < 0.6:
            flags.append("\\Seen")
        if reply and rng.random() < 0.5:
            flags.append("\\Answered")
        if rng.random() < 0.05:
            flags.append("\\Flagged")
        out.append((data, flags, t))
    assert all(BODY_MISS.encode() not in m for m, _, _ in out)
    return out, sorted(token_at)


# ------------------------------------------------------------------------------ the client --

class Failure(Exception):
    """A server's answer that is not the one asked for (NO, BAD, closed, timeout, wrong)."""


class Reply:
    __slots__ = ("status", "text", "data", "untagged", "literal_bytes", "seconds", "cpu")


class IMAP:
    """One connection. `response` finds literals (`{n}` CRLF at a line's end, skipped unread)
    and the tagged line with bytes.find, and counts untagged responses with bytes.count, all in
    C, so that the client's own CPU stays small beside the server's time (it is printed with
    every figure). Each answer's buffer starts with a "\n" of its own, so that its first line is
    found like the others."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=300):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray(b"\n")
        self.chunk = None
        self.tags = itertools.count(1)
        self.greeting = self.untagged_line()

    def recv(self):
        if self.chunk is None:
            self.chunk = bytearray(1 << 18)
            self.view = memoryview(self.chunk)
        try:
            n = self.sock.recv_into(self.chunk)
        except socket.timeout:
            raise Failure("timeout") from None
        except OSError as e:
            raise Failure(f"connection error: {e}") from None
        if not n:
            raise Failure("connection closed")
        self.buf += self.view[:n]

    def untagged_line(self):
        while self.buf.find(b"\r\n") < 0:
            self.recv()
        end = self.buf.index(b"\r\n")
        line = bytes(self.buf[1:end])
        self.buf = bytearray(b"\n") + self.buf[end + 2:]
        return line

    def send(self, command):
        tag = f"T{next(self.tags)}"
        data = command if isinstance(command, bytes) else command.encode()
        self.sock.sendall(tag.encode() + b" " + data + b"\r\n")
        return tag

    def response(self, tag):
        """Reads to `tag`'s tagged line: status, counts, and the answer's bytes."""
        mark = b"\n" + tag.encode() + b" "
        pos, untagged, literal = 0, 0, 0
        while True:
            buf = self.buf
            lit = buf.find(b"}\r\n", pos)
            end = buf.find(mark, pos, lit if lit >= 0 else len(buf))
            if end >= 0 and (lit < 0 or end < lit):
                eol = buf.find(b"\r\n", end + 1)
                if eol < 0:
                    self.recv()
                    continue
                untagged += buf.count(b"\n* ", pos, end)
                r = Reply()
                words = bytes(buf[end + len(mark):eol]).decode(errors="replace").split(" ", 1)
                r.status, r.text = words[0].upper(), (words[1] if len(words) > 1 else "")
                r.untagged, r.literal_bytes = untagged, literal
                self.buf = bytearray(b"\n") + buf[eol + 2:]
                del buf[end + 1:]
                r.data = buf
                return r
            if lit >= 0:
                brace = buf.rfind(b"{", pos, lit)
                digits = buf[brace + 1:lit] if brace >= 0 else b""
                if brace < 0 or not digits.isdigit() or buf.rfind(b"\n", brace, lit) >= 0:
                    pos = lit + 3   # a "}" at a line's end that announces nothing
                    continue
                untagged += buf.count(b"\n* ", pos, brace)
                n = int(digits)
                pos = lit + 3 + n
                literal += n
                while len(self.buf) < pos:
                    self.recv()
                continue
            last = buf.rfind(b"\n", pos)
            if last > pos:
                untagged += buf.count(b"\n* ", pos, last)
                pos = last
            self.recv()

    def command(self, command, ok=True):
        start, cpu = time.perf_counter(), time.process_time()
        r = self.response(self.send(command))
        r.seconds, r.cpu = time.perf_counter() - start, time.process_time() - cpu
        if ok and r.status != "OK":
            raise Failure(f"{r.status} {r.text}"[:200])
        return r

    def login(self, user, password):
        return self.command(f"LOGIN {quote(user)} {quote(password)}")

    def close(self):
        try:
            self.sock.sendall(b"Z LOGOUT\r\n")
        except OSError:
            pass
        self.sock.close()


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def untagged_numbers(reply, name):
    """The numbers of the `* NAME …` response (SORT), or of every number in it (THREAD)."""
    m = re.search(rb"\n\* " + name.encode() + rb"([^\r\n]*)\r\n", reply.data)
    if m is None:
        raise Failure(f"no * {name} response")
    return m.group(1).strip().decode()


def relative(text):
    numbers = [int(x) for x in re.findall(r"\d+", text)]
    low = min(numbers, default=1) - 1
    return re.sub(r"\d+", lambda m: str(int(m.group()) - low), text)


def search_hits(reply):
    m = re.search(rb"\n\* SEARCH([^\r\n]*)\r\n", reply.data)
    if m is None:
        raise Failure("no * SEARCH response")
    return [int(x) for x in m.group(1).split()]


# ----------------------------------------------------------- a parser for the checked round --

class Atom(str):
    pass


ATOM_END = re.compile(rb"[ ()\r\n\[]|$")


def parse(b, i):
    """One IMAP value at b[i:]: list, quoted string or literal (bytes), NIL (None), number,
    atom (with a [section] and <partial> kept in it). Returns (value, next index)."""
    c = b[i]
    if c == 0x28:  # (
        items, i = [], i + 1
        while True:
            while b[i] == 0x20:
                i += 1
            if b[i] == 0x29:
                return items, i + 1
            v, i = parse(b, i)
            items.append(v)
    if c == 0x22:  # "
        end = b.index(b'"', i + 1)
        if b.find(b"\\", i + 1, end) < 0:
            return bytes(b[i + 1:end]), end + 1
        out, i = bytearray(), i + 1
        while b[i] != 0x22:
            if b[i] == 0x5C:
                i += 1
            out.append(b[i])
            i += 1
        return bytes(out), i + 1
    if c == 0x7B:  # {
        j = b.index(b"}\r\n", i)
        n = int(b[i + 1:j].rstrip(b"+"))
        return bytes(b[j + 3:j + 3 + n]), j + 3 + n
    j = ATOM_END.search(b, i).start()
    if j < len(b) and b[j] == 0x5B:  # [section]
        j = b.index(b"]", j) + 1
        if j < len(b) and b[j] == 0x3C:
            j = b.index(b">", j) + 1
    word = b[i:j].decode()
    if word.upper() == "NIL":
        return None, j
    if word.isdigit():
        return int(word), j
    return Atom(word), j


def fetch_items(reply):
    """{sequence number: {item name: value}} of every `* n FETCH (...)` in an answer."""
    out, b, i = {}, reply.data, 0
    pat = re.compile(rb"\n\* (\d+) FETCH ")
    while True:
        m = pat.search(b, i)
        if m is None:
            return out
        items, i = parse(b, m.end())
        d = out.setdefault(int(m.group(1)), {})
        for k in range(0, len(items) - 1, 2):
            d[str(items[k]).upper()] = items[k + 1]


def lowered(v):
    if isinstance(v, list):
        return [lowered(x) for x in v]
    if isinstance(v, (bytes, str)):
        return (v.decode(errors="replace") if isinstance(v, bytes) else str(v)).lower()
    return v


def basic(bs):
    """BODYSTRUCTURE without extension data (RFC 3501 §7.4.2): what BODY would answer."""
    if isinstance(bs, list) and bs and isinstance(bs[0], list):
        k = next((k for k, x in enumerate(bs) if not isinstance(x, list)), len(bs))
        return [basic(p) for p in bs[:k]] + bs[k:k + 1]
    if isinstance(bs, list):
        n = 7
        t = lowered(bs[0]) if bs else None
        if t == "text":
            n = 8
        elif t == "message" and len(bs) > 1 and lowered(bs[1]) == "rfc822":
            n = 10
        return bs[:n]
    return bs


# ------------------------------------------------------------------------------ operations --

def operations(args, expected):
    """(name, command, check(reply) -> None or raises Failure)."""
    n, first = args.messages, min(1000, args.messages)

    def fetches(count, literal=None):
        def check(r):
            if r.untagged != count:
                raise Failure(f"wrong: {r.untagged} untagged responses, expected {count}")
            if literal is not None and r.literal_bytes != literal:
                raise Failure(f"wrong: {r.literal_bytes} literal bytes, expected {literal}")
        return check

    def exists(r):
        m = re.search(rb"\n\* (\d+) EXISTS\r\n", r.data)
        if m is None or int(m.group(1)) != n:
            raise Failure(f"wrong: EXISTS {m and int(m.group(1))}, expected {n}")

    def sorted_all(r):
        got = len(untagged_numbers(r, "SORT").split())
        if got != n:
            raise Failure(f"wrong: {got} sorted, expected {n}")

    def threaded_all(r):
        got = len(re.findall(r"\d+", untagged_numbers(r, "THREAD")))
        if got != n:
            raise Failure(f"wrong: {got} messages threaded, expected {n}")

    def hits(count):
        def check(r):
            got = len(search_hits(r))
            if got != count:
                raise Failure(f"wrong: {got} hits, expected {count}")
        return check

    return [
        ("SELECT INBOX", "SELECT INBOX", exists),
        ("FETCH 1:* (FLAGS)", "FETCH 1:* (FLAGS)", fetches(n)),
        ("FETCH 1:* (FLAGS ENVELOPE)", "FETCH 1:* (FLAGS ENVELOPE)", fetches(n)),
        ("FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)", "FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)", fetches(n)),
        (f"UID SEARCH HEADER Subject ({len(expected['token'])} hits)",
         f"UID SEARCH HEADER Subject {quote(SUBJECT_TOKEN)}", hits(len(expected["token"]))),
        ("SEARCH BODY (no match)", f"SEARCH BODY {quote(BODY_MISS)}", hits(0)),
        (f"FETCH 1:{first} BODY.PEEK[]", f"FETCH 1:{first} BODY.PEEK[]", fetches(first, expected["first_bytes"])),
        ("UID SORT (DATE) UTF-8 ALL", "UID SORT (DATE) UTF-8 ALL", sorted_all),
        ("UID THREAD REFERENCES UTF-8 ALL", "UID THREAD REFERENCES UTF-8 ALL", threaded_all),
    ]


def one_round(server, ops, keep=False):
    """A new session: LOGIN, then each operation once. {name: (seconds, client CPU, {process:
    CPU}) or Failure}, and the replies when `keep`. The processes are `server["pids"]` (Loft's
    gateway and back-end), read from /proc before and after each command."""
    results, replies = {}, {}
    try:
        c = IMAP(server["port"])
        c.login(server["user"], server["password"])
    except (Failure, OSError) as e:
        return {name: Failure(f"login: {e}") for name, _, _ in ops}, replies
    broken = None
    for name, command, check in ops:
        if broken:
            results[name] = Failure(f"not run ({broken})")
            continue
        try:
            pids = server.get("pids", {})
            before = {k: cpu_seconds(p) for k, p in pids.items()}
            r = c.command(command)
            used = {k: cpu_seconds(p) - before[k] for k, p in pids.items()}
            check(r)
            results[name] = (r.seconds, r.cpu, used)
            if keep:
                replies[name] = r
        except Failure as e:
            results[name] = e
            if str(e).startswith(("connection", "timeout", "answer for")):
                broken = str(e)
    c.close()
    return results, replies


def compare(loft, dovecot, corpus_count):
    """Differences between the two servers' answers of the checked round, as text lines."""
    lines = []
    for name, kind in (("UID SORT (DATE) UTF-8 ALL", "SORT"), ("UID THREAD REFERENCES UTF-8 ALL", "THREAD")):
        if name in loft and name in dovecot:
            # The two stores number UIDs from different starts: each answer's UIDs are made
            # relative to its smallest before they are compared.
            a, b = (relative(untagged_numbers(r[name], kind)) for r in (loft, dovecot))
            if a == b:
                lines.append(f"{name}: the same answer from both")
            else:
                at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                lines.append(f"{name}: the answers differ from character {at}:\n"
                             f"    Loft:    …{a[max(0, at - 60):at + 120]}\n    Dovecot: …{b[max(0, at - 60):at + 120]}")
    for name in ("FETCH 1:* (FLAGS ENVELOPE)", "FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)"):
        if name not in loft or name not in dovecot:
            continue
        a, b = fetch_items(loft[name]), fetch_items(dovecot[name])
        for item in ("FLAGS", "ENVELOPE", "BODYSTRUCTURE", "BODYSTRUCTURE with extension data"):
            if item.split()[0] not in name:
                continue
            diff, first = 0, None
            for seq in range(1, corpus_count + 1):
                x, y = a.get(seq, {}).get(item.split()[0]), b.get(seq, {}).get(item.split()[0])
                if item == "FLAGS":
                    x = sorted(str(f).lower() for f in x or [] if str(f).lower() != "\\recent")
                    y = sorted(str(f).lower() for f in y or [] if str(f).lower() != "\\recent")
                elif item == "BODYSTRUCTURE":
                    x, y = lowered(basic(x)), lowered(basic(y))
                elif item != "ENVELOPE":
                    x, y = lowered(x), lowered(y)
                if x != y:
                    diff += 1
                    if first is None:
                        first = (seq, x, y)
            if diff:
                seq, x, y = first
                lines.append(f"{item} ({name}): {diff} of {corpus_count} messages differ; first, message {seq}:\n"
                             f"    Loft:    {short(x)}\n    Dovecot: {short(y)}")
            else:
                lines.append(f"{item} ({name}): the same for all {corpus_count} messages"
                             + (" (case-insensitively)" if item.startswith("BODYSTRUCTURE") else ""))
    return lines


def short(v, limit=600):
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "…"


# ---------------------------------------------------------------------------------- filling --

def fill_dovecot(corpus):
    subprocess.run([sys.executable, str(PEERS / "anchorctl"), "add-user", DOVECOT_USER, DOVECOT_PASSWORD],
                   check=True, capture_output=True)
    c = IMAP(DOVECOT_PORT)
    c.login(DOVECOT_USER, DOVECOT_PASSWORD)
    caps = c.command("CAPABILITY").data
    r = c.command("SELECT INBOX")
    m = re.search(rb"\n\* (\d+) EXISTS", r.data)
    if m and int(m.group(1)):
        c.command("STORE 1:* +FLAGS.SILENT (\\Deleted)")
        c.command("EXPUNGE")
    c.command("CLOSE")
    caps = caps.upper()
    plus, multi = b"LITERAL+" in caps, b"MULTIAPPEND" in caps
    start = time.perf_counter()
    # MULTIAPPEND (RFC 3502) of 250 at a time: single APPENDs, even pipelined, slow down as the
    # Maildir grows (57 messages/s over 10,000, against 380/s for the first 500).
    window = 250 if multi and plus else 100 if plus else 1
    for i in range(0, len(corpus), window):
        pieces = [(f"({' '.join(flags)}) \"{imap_date(t)}\" {{{len(data)}{'+' if plus else ''}}}".encode(), data)
                  for data, flags, t in corpus[i:i + window]]
        if multi and plus:
            tags = [c.send(b"APPEND INBOX " + b" ".join(head + b"\r\n" + data for head, data in pieces))]
        elif plus:
            tags = [c.send(b"APPEND INBOX " + head + b"\r\n" + data) for head, data in pieces]
        else:
            tags = []
            for head, data in pieces:
                tags.append(c.send(b"APPEND INBOX " + head))
                if not c.untagged_line().startswith(b"+"):
                    raise Failure("APPEND: no continuation")
                c.sock.sendall(data + b"\r\n")
        for tag in tags:
            r = c.response(tag)
            if r.status != "OK":
                raise Failure(f"APPEND: {r.status} {r.text}")
    elapsed = time.perf_counter() - start
    c.close()
    return elapsed


def fill_loft(data_dir, corpus, window=32):
    """message.append + upload.append + upload.commit, `window` messages at a time on one
    connection; every commit is checked to have given the next UID, so sequence numbers follow
    the corpus's order as on Dovecot."""
    g = Client(str(data_dir / "gateway.sock"))
    session = g.call("auth.login", {"username": LOFT_USER, "password": LOFT_PASSWORD,
                                    "clientAddress": "127.0.0.1", "service": "bench"})["session"]
    start = time.perf_counter()
    last_uid = 0

    def answers(ids):
        got = {}
        while len(got) < len(ids):
            msg = g.read_response()
            got[msg.get("id")] = msg
        out = []
        for rid in ids:
            if "error" in got[rid]:
                raise RPCError(got[rid]["error"])
            out.append(got[rid]["result"])
        return out

    for i in range(0, len(corpus), window):
        batch = corpus[i:i + window]
        ids = [g.request("message.append", {"session": session, "mailbox": "INBOX", "flags": flags,
                                            "internalDate": t, "size": len(data)}) for data, flags, t in batch]
        uploads = [r["upload"] for r in answers(ids)]
        ids = [g.request("upload.append", {"upload": u, "data": base64.b64encode(data).decode()})
               for u, (data, _, _) in zip(uploads, batch)]
        answers(ids)
        # Commits one after another, so that UIDs are given in the corpus's order.
        for u in uploads:
            r = g.call("upload.commit", {"upload": u})
            if r.get("uid", last_uid + 1) <= last_uid:
                raise RuntimeError(f"UIDs out of order: {r.get('uid')} after {last_uid}")
            last_uid = r.get("uid", last_uid + 1)
    elapsed = time.perf_counter() - start
    status = g.call("mailbox.status", {"session": session, "mailbox": "INBOX"})
    g.close()
    if status.get("messages") != len(corpus):
        raise RuntimeError(f"Loft INBOX has {status.get('messages')} messages, expected {len(corpus)}")
    return elapsed


# ------------------------------------------------------------------------ Loft and Dovecot --

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, timeout=1.0):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
        return True
    except OSError:
        return False


def processes():
    """{pid: (ppid, argv)} of every process."""
    out = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        out[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), [a.decode(errors="replace") for a in argv if a])
    return out


def loft_children(pid):
    """{role: pid} of the processes `loft serve` started (`loft imap`, `loft backend`)."""
    return {argv[1]: p for p, (ppid, argv) in processes().items() if ppid == pid and len(argv) > 1}


def descendants(pid):
    procs = processes()
    out, todo = [pid], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, (ppid, _) in procs.items() if ppid == parent]
        out += kids
        todo += kids
    return out


def memory_kib(pids):
    """(RSS, PSS) in KiB summed over `pids`."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def cpu_seconds(pid):
    """User + system CPU of a process; NaN once it has gone (a gateway that crashed)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dovecot_master():
    pidfile = pathlib.Path(os.environ.get("ANCHOR_STATE", "/tmp/loft-anchors")) / "dovecot/run/master.pid"
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


class LoftServer:
    """`loft serve` with only the IMAP gateway, in a temporary directory."""

    def __init__(self, binary, work, hash_cost):
        self.binary, self.work = binary, work
        self.port = free_port()
        self.data = work / "data"
        (work / "loft.yaml").write_text(
            "log_level: warning\nserve:\n  gateways: [imap]\nimap:\n  listeners:\n"
            f"    - {{address: 127.0.0.1, port: {self.port}, tls: starttls}}\n")
        env = child_env()
        env["LOFT_PASSWORD_HASH_COST"] = hash_cost
        self.log = open(work / "serve.log", "ab")
        self.proc = subprocess.Popen([binary, "serve", "--data", str(self.data), "--config", str(work / "loft.yaml")],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for(self.data / "admin.sock", proc=self.proc)
            wait_for(self.data / "gateway.sock", proc=self.proc)
            admin = Client(str(self.data / "admin.sock"))
            admin.call("domain.add", {"name": "example.test"})
            admin.call("account.add", {"address": LOFT_USER, "password": LOFT_PASSWORD})
            admin.close()
        except BaseException:
            self.stop()
            raise

    def wait_listener(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return f"loft serve exited with {self.proc.returncode}"
            if port_open(self.port):
                return None
            time.sleep(0.2)
        return f"nothing listens on 127.0.0.1:{self.port} after {timeout} s (see {self.work / 'serve.log'})"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def loft_has_imap(binary):
    """Whether this `loft` has the `imap` subcommand (an older one prints its overview and
    exits 0 for `loft imap --help`, so the usage line is what tells)."""
    try:
        r = subprocess.run([binary, "imap", "--help"], capture_output=True, text=True, timeout=60)
    except OSError as e:
        return False, str(e)
    if r.returncode == 0 and "USAGE: loft imap" in r.stdout:
        return True, ""
    return False, f"`{binary} imap --help` does not describe an imap subcommand (no IMAP gateway in this build)"


# ----------------------------------------------------------------------- idle sessions RSS --

def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))


def idle_sessions(server, count, measure, addresses=25, batch=50):
    """Opens `count` sessions (LOGIN, SELECT INBOX), `batch` at a time, from `addresses`
    loopback source addresses; a session the server refuses or drops is counted and left out.
    A session whose SELECT is refused stays open, logged in, and is counted apart. Waits 2 s,
    then returns (measure() before, measure() with them open, sessions selected, sessions only
    logged in, seconds to open them, [refusals])."""
    before = measure()
    conns, unselected, refused = [], [], []
    start = time.perf_counter()
    for i in range(0, count, batch):
        group = []
        for k in range(min(batch, count - i)):
            try:
                group.append(IMAP(server["port"], source=f"127.0.0.{11 + (i + k) % addresses}", timeout=120))
            except (Failure, OSError) as e:
                refused.append(f"connect: {e}")
        for step in (f"LOGIN {quote(server['user'])} {quote(server['password'])}", "SELECT INBOX"):
            sent = []
            for c in group:
                try:
                    sent.append((c, c.send(step)))
                except OSError as e:
                    refused.append(f"{step.split()[0]}: {e}")
                    c.sock.close()
            group = []
            for c, tag in sent:
                try:
                    r = c.response(tag)
                    if r.status != "OK":
                        raise Failure(f"{r.status} {r.text}")
                    group.append(c)
                except Failure as e:
                    refused.append(f"{step.split()[0]}: {e}")
                    if step.startswith("SELECT") and str(e).startswith(("NO", "BAD")):
                        unselected.append(c)   # logged in, still open: measured as such
                    else:
                        c.sock.close()
        conns += group
    opened = time.perf_counter() - start
    time.sleep(2)
    during = measure()
    for c in conns + unselected:
        c.close()
    return before, during, len(conns), len(unselected), opened, refused


def refusals(refused):
    if not refused:
        return ""
    kinds = {}
    for r in refused:
        kinds[r] = kinds.get(r, 0) + 1
    return "; REFUSED " + ", ".join(f"{n} × {k}" for k, n in sorted(kinds.items(), key=lambda x: -x[1])[:3])


# ------------------------------------------------------------------------------------- main --

def fmt_seconds(v):
    return f"{v:.3f}" if v >= 0.1 else f"{v * 1000:.1f} ms"


def print_table(ops, order, runs):
    """The medians, the ratio and every run, as a Markdown table; a failed run is its error."""
    print(f"\n# medians of {len(runs[order[0]])} rounds (in brackets the CPU time of the client and, for Loft, of"
          " its gateway and back-end processes, 10 ms ticks)\n")
    head = ["operation", *order] + (["Loft/Dovecot", "Loft runs (s)", "Dovecot runs (s)"] if len(order) == 2 else ["runs (s)"])
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(" --- " for _ in head) + "|")
    for op, _, _ in ops:
        row, med = [op], {}
        for name in order:
            vals = [x[op] for x in runs[name]]
            ok = [v for v in vals if not isinstance(v, Exception)]
            bad = [v for v in vals if isinstance(v, Exception)]
            if bad:
                row.append(f"FAILED: {bad[0]}" + (f" ({len(bad)} of {len(vals)} runs)" if len(bad) != len(vals) else ""))
            else:
                med[name] = statistics.median(v[0] for v in ok)
                cpu = [("client", statistics.median(v[1] for v in ok))]
                cpu += [(k, statistics.median(v[2][k] for v in ok)) for k in ok[0][2]]
                row.append(f"{fmt_seconds(med[name])} [" + ", ".join(
                    f"{k} {fmt_seconds(x)}" if k != "client" else fmt_seconds(x) for k, x in cpu) + "]")
        if len(order) == 2:
            row.append(f"{med['Loft'] / med['Dovecot']:.2f}" if len(med) == 2 else "—")
        for name in order:
            row.append(" ".join("x" if isinstance(x[op], Exception) else f"{x[op][0]:.3f}" for x in runs[name]))
        print("| " + " | ".join(row).replace("\n", " ") + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loft", default=os.environ.get("LOFT_BIN"), help="the loft binary (default $LOFT_BIN)")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--runs", type=int, default=5, help="measured rounds per server, interleaved")
    ap.add_argument("--sessions", type=int, default=1000, help="idle selected sessions for the memory figure (0: skip)")
    ap.add_argument("--hash-cost", default="4", help="Loft's scrypt log2 cost (production: 15)")
    ap.add_argument("--peers", choices=["auto", "no"], default="auto",
                    help="auto: run up.sh if Dovecot does not answer on 3143 (and down.sh at the end)")
    ap.add_argument("--only", choices=["both", "loft", "dovecot"], default="both")
    ap.add_argument("--keep", action="store_true", help="keep Loft's temporary directory")
    args = ap.parse_args()
    raise_fd_limit(args.sessions + 256)

    print(f"# IMAP benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average {open('/proc/loadavg').read().split()[:3]}")
    t0 = time.perf_counter()
    corpus, token_at = make_corpus(args.messages, args.seed)
    first = corpus[:min(1000, args.messages)]
    digest = hashlib.sha256(b"".join(m for m, _, _ in corpus)).hexdigest()[:16]
    sizes = [len(m) for m, _, _ in corpus]
    print(f"corpus: {len(corpus)} messages, seed {args.seed}, sha256 {digest}…, {sum(sizes) / 2**20:.1f} MiB, "
          f"mean {statistics.mean(sizes):.0f} B, median {statistics.median(sizes):.0f} B, max {max(sizes)} B; "
          f"the first {len(first)}: {sum(len(m) for m, _, _ in first) / 2**20:.2f} MiB; "
          f"multipart {sum(b'Content-Type: multipart/' in m for m, _, _ in corpus)}; made in {time.perf_counter() - t0:.1f} s")
    expected = {"token": token_at, "first_bytes": sum(len(m) for m, _, _ in first)}
    ops = operations(args, expected)

    servers = {}
    started_peers = False
    loft = None
    work = pathlib.Path(tempfile.mkdtemp(prefix="loft-imap-bench-"))
    try:
        # Dovecot
        if args.only in ("both", "dovecot"):
            if not port_open(DOVECOT_PORT):
                if args.peers == "no":
                    sys.exit(f"Dovecot does not answer on 127.0.0.1:{DOVECOT_PORT}; run sudo {PEERS}/up.sh first")
                print(f"Dovecot does not answer on {DOVECOT_PORT}: running {PEERS}/up.sh", flush=True)
                subprocess.run(["sudo", "-n", str(PEERS / "up.sh")] if os.geteuid() else [str(PEERS / "up.sh")], check=True)
                started_peers = True
            version = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()
            elapsed = fill_dovecot(corpus)
            print(f"Dovecot {version} (peers, 127.0.0.1:{DOVECOT_PORT}): filled by MULTIAPPEND in {elapsed:.1f} s "
                  f"({len(corpus) / elapsed:.0f} messages/s)", flush=True)
            servers["Dovecot"] = {"port": DOVECOT_PORT, "user": DOVECOT_USER, "password": DOVECOT_PASSWORD}
        # Loft
        loft_note = None
        if args.only in ("both", "loft"):
            if not args.loft:
                loft_note = "no loft binary given (--loft PATH or LOFT_BIN)"
            else:
                binary = os.path.abspath(args.loft)
                build = "debug build" if "/debug/" in binary else "release build" if "/release/" in binary else "build"
                has, why = loft_has_imap(binary)
                print(f"Loft: {binary} ({build}, {time.strftime('%Y-%m-%d %H:%M', time.localtime(os.path.getmtime(binary)))})")
                loft_note = why
                if has:
                    try:
                        loft = LoftServer(binary, work, args.hash_cost)
                        loft_note = loft.wait_listener()
                        if not loft_note:
                            elapsed = fill_loft(loft.data, corpus)
                            print(f"Loft: filled by message.append/upload.append/upload.commit in {elapsed:.1f} s "
                                  f"({len(corpus) / elapsed:.0f} messages/s)", flush=True)
                            kids = loft_children(loft.proc.pid)
                            servers["Loft"] = {"port": loft.port, "user": LOFT_USER, "password": LOFT_PASSWORD,
                                               "pids": {k: kids[k] for k in ("imap", "backend") if k in kids}}
                    except (RuntimeError, TimeoutError, OSError, RPCError) as e:
                        loft_note = f"{type(e).__name__}: {e}"
                    if loft_note and (work / "serve.log").exists():
                        tail = (work / "serve.log").read_text(errors="replace").strip().splitlines()[-5:]
                        loft_note += "".join(f"\n      serve.log: {x}" for x in tail)
            if loft_note:
                print(f"Loft: not measured: {loft_note}")
        order = [s for s in ("Loft", "Dovecot") if s in servers]
        if not order:
            sys.exit("nothing to measure")

        # The checked round: every answer parsed and compared.
        checked = {}
        print("\n# first round (Dovecot builds its cache here; answers checked and compared)")
        for name in order:
            results, checked[name] = one_round(servers[name], ops, keep=True)
            print(f"{name:>8}: " + "; ".join(f"{op} {fmt(results[op])}" for op, _, _ in ops), flush=True)
        if len(order) == 2:
            print("  Loft's answers against Dovecot's (ENVELOPE exactly; BODYSTRUCTURE without, then with, extension data):")
            for line in compare(checked["Loft"], checked["Dovecot"], args.messages) or ["nothing to compare"]:
                print("    " + line)
        checked = None

        # Measured rounds, interleaved.
        runs = {name: [] for name in order}
        print(f"\n# {args.runs} measured rounds, interleaved {', '.join(order)}, …")
        for r in range(1, args.runs + 1):
            for name in order:
                load = open("/proc/loadavg").read().split()[0]
                results, _ = one_round(servers[name], ops)
                runs[name].append(results)
                print(f"round {r} {name:>7} (load {load}): "
                      + ", ".join(f"{fmt(results[op])}" for op, _, _ in ops), flush=True)

        print_table(ops, order, runs)

        # Idle sessions.
        if args.sessions:
            print(f"\n# {args.sessions} sessions logged in, SELECTed, idle (from 25 loopback addresses)")
            for name in order:
                if name == "Loft":
                    kids = loft_children(loft.proc.pid)
                    if "imap" not in kids:
                        print(f"    Loft: no `loft imap` child of loft serve ({kids})")
                        continue
                    gw, be = kids["imap"], kids.get("backend")

                    def measure():
                        return memory_kib([gw]), memory_kib([be]) if be else (0, 0)
                    before, during, n, unselected, opened, refused = idle_sessions(servers[name], args.sessions, measure)
                    if not n + unselected:
                        print(f"    Loft: no session opened{refusals(refused)}")
                        continue
                    what = f"{n} sessions" + (f" and {unselected} logged in, not selected" if unselected else "")
                    n += unselected
                    (g0, _), (b0, _) = before
                    (g1, gp1), (b1, _) = during
                    print(f"    Loft: {what}: gateway RSS {g0 / 1024:.1f} MiB → {g1 / 1024:.1f} MiB "
                          f"(+{(g1 - g0) / max(1, n):.0f} KiB a session; PSS {gp1 / 1024:.1f} MiB); "
                          f"back-end RSS {b0 / 1024:.1f} → {b1 / 1024:.1f} MiB; opened in {opened:.1f} s"
                          + refusals(refused), flush=True)
                else:
                    master = dovecot_master()
                    if master is None:
                        print("    Dovecot: no master.pid")
                        continue

                    def measure():
                        pids = descendants(master)
                        return len(pids), memory_kib(pids)
                    before, during, n, unselected, opened, refused = idle_sessions(servers[name], args.sessions, measure)
                    if not n + unselected:
                        print(f"    Dovecot: no session opened{refusals(refused)}")
                        continue
                    what = f"{n} sessions" + (f" and {unselected} logged in, not selected" if unselected else "")
                    n += unselected
                    (n0, (r0, p0)), (n1, (r1, p1)) = before, during
                    print(f"    Dovecot: {what}: {n0} → {n1} processes, total RSS {r0 / 1024:.1f} MiB → {r1 / 1024:.1f} MiB "
                          f"(+{(r1 - r0) / max(1, n):.0f} KiB a session), total PSS {p0 / 1024:.1f} → "
                          f"{p1 / 1024:.1f} MiB (+{(p1 - p0) / max(1, n):.0f} KiB a session); "
                          f"opened in {opened:.1f} s" + refusals(refused), flush=True)
        print(f"\nload average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    finally:
        if loft:
            loft.stop()
            log = (work / "serve.log").read_text(errors="replace").strip().splitlines()
            if log:
                print(f"\nLoft's serve.log (log_level warning), {len(log)} lines; the last 15:")
                for line in log[-15:]:
                    print("    " + line[:300])
        if args.keep:
            print(f"Loft's directory kept: {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)])
        if started_peers:
            subprocess.run(["sudo", "-n", str(PEERS / "down.sh")] if os.geteuid() else [str(PEERS / "down.sh")])


def fmt(v):
    if isinstance(v, Exception):
        return f"FAILED ({v})"
    return fmt_seconds(v[0])


if __name__ == "__main__":
    main()
