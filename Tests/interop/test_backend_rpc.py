"""The back-end over its real sockets: every documented method, bad input, and the role split."""
import base64
import json
import select
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import Loft, login
from loftrpc import Client, RPCError

MSG = (b"From: Carol <carol@remote.test>\r\nTo: alice@example.test\r\nSubject: hello\r\n"
       b"Message-ID: <1@remote.test>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\nHi Alice.\r\n.dotted line\r\n")


def expect_error(kind, fn, *args):
    with pytest.raises(RPCError) as e:
        fn(*args)
    assert e.value.kind == kind, e.value.error
    return e.value


def test_hello_and_ping(loft):
    c = Client(str(loft.data / "gateway.sock"), hello=False)
    expect_error("hello_required", c.call, "ping", {})
    expect_error("version_mismatch", c.call, "hello", {"version": 99})
    r = c.call("hello", {"version": 1, "software": "t"})
    assert r["version"] == 1 and r["role"] == "gateway"
    assert c.call("ping") == {}


def test_bad_input_keeps_serving(loft):
    bystander = loft.admin()
    c = Client(str(loft.data / "admin.sock"))
    # garbage bytes, invalid UTF-8, invalid JSON → parse error with id null
    c.send_raw(b"\xff\xfe garbage {{{\n")
    r = c.read_response()
    assert r["error"]["code"] == -32700 and r["id"] is None
    # broken lines in the exact form the transport writes are parse errors too, whatever the
    # method (the server reads that form's envelope from its prefix)
    for line in [b'{"jsonrpc":"2.0","id":3,"method":"no.such","params":{]}\n',
                 b'{"jsonrpc":"2.0","id":4,"method":"ping","params":{"a":}\n',
                 b'{"jsonrpc":"2.0","id":4,"method":"domain.add","params":{"name":"x"}}}\n',
                 b'{"jsonrpc":"2.0","method":"ping","params":{\n']:
        c.send_raw(line)
        r = c.read_response()
        assert r["error"]["code"] == -32700 and r["id"] is None, (line, r)
    # valid JSON that is not a request
    c.send_raw(b"[1,2,3]\n")
    assert c.read_response()["error"]["data"]["kind"] == "invalid_request"
    c.send_raw(b'{"id":5,"method":"ping"}\n')  # no jsonrpc member
    r = c.read_response()
    assert r["error"]["data"]["kind"] == "invalid_request" and r["id"] == 5
    expect_error("method_not_found", c.call, "no.such.method", {})
    # wrong type, missing param
    e = expect_error("invalid_params", c.call, "domain.add", {"name": 7})
    assert e.data.get("field") == "name"
    e = expect_error("invalid_params", c.call, "account.add", {"address": "x@example.test"})
    assert e.data.get("field") == "password"
    expect_error("invalid_params", c.call, "domain.add", {"name": "bad domain!"})
    # an oversize line is discarded as it streams, answered once, and the connection goes on
    c.send_raw(b'{"jsonrpc":"2.0","id":9,"method":"ping","params":{"x":"' + b"a" * (5 << 20) + b'"}}\n')
    r = c.read_response()
    assert r["error"]["data"]["kind"] == "line_too_long"
    assert c.call("ping") == {}
    # a notification (no id) gets no answer; the next call's answer is the next line
    c.send_raw(b'{"jsonrpc":"2.0","method":"ping"}\n')
    assert c.call("domain.list") == {"domains": []}
    assert bystander.call("ping") == {}


def test_role_split(setup, loft):
    g = loft.gateway()
    for method, params in [("domain.add", {"name": "evil.test"}), ("account.list", {}),
                           ("auth.impersonate", {"account": "alice@example.test"}), ("store.verify", {})]:
        expect_error("permission_denied", g.call, method, params)
    # a session only reaches its own account
    g, alice = login(loft, "alice@example.test", "alice-pw")
    _, bob = login(loft, "bob@example.test", "bob-pw")
    g.deliver("carol@remote.test", ["bob@example.test"], MSG)
    assert g.call("message.list", {"session": bob, "mailbox": "INBOX"})["messages"]
    assert g.call("message.list", {"session": alice, "mailbox": "INBOX"})["messages"] == []
    expect_error("session_invalid", g.call, "mailbox.list", {"session": alice[:-2] + "xx"})
    expect_error("session_invalid", g.call, "mailbox.list", {"session": "1.99999999999.x.y"})


def test_domains_accounts_aliases_groups(setup, loft):
    a = setup
    expect_error("domain_exists", a.call, "domain.add", {"name": "EXAMPLE.test"})
    assert [d["name"] for d in a.call("domain.list")["domains"]] == ["example.test"]
    expect_error("no_such_domain", a.call, "account.add", {"address": "x@other.test", "password": "p"})
    expect_error("account_exists", a.call, "account.add", {"address": "Alice@Example.TEST", "password": "p"})
    expect_error("address_in_use", a.call, "account.add", {"address": "postmaster@example.test", "password": "p"})
    expect_error("invalid_params", a.call, "account.add",
                 {"address": "c@example.test", "password": "same", "apopSecret": "same"})
    info = a.call("account.get", {"address": "BOB@example.test"})
    assert info["apopEnabled"] is True and "apopSecret" not in json.dumps(info) and "password" not in json.dumps(info)
    upd = a.call("account.update", {"address": "alice@example.test", "quotaBytes": 1000000, "maxMessageBytes": 20000,
                                    "forwardTo": "carol@remote.test", "forwardKeepCopy": True,
                                    "mayManageMailboxes": False, "displayName": "Alice A"})
    assert (upd["quotaBytes"], upd["maxMessageBytes"], upd["forwardTo"], upd["forwardKeepCopy"],
            upd["mayManageMailboxes"], upd["displayName"]) == (1000000, 20000, "carol@remote.test", True, False, "Alice A")
    upd = a.call("account.update", {"address": "alice@example.test", "forwardTo": ""})
    assert upd.get("forwardTo") is None
    assert a.call("account.update", {"address": "bob@example.test", "apopEnabled": False})["apopEnabled"] is False
    assert len(a.call("account.list", {})["accounts"]) == 2
    assert len(a.call("account.list", {"domain": "nope.test"})["accounts"]) == 0
    assert a.call("alias.add", {"address": "postmaster@example.test", "targets": ["bob@example.test"]})["targets"] == \
        ["alice@example.test", "bob@example.test"]
    expect_error("loop_detected", a.call, "alias.add", {"address": "x@example.test", "targets": ["X@example.test"]})
    a.call("alias.remove", {"address": "postmaster@example.test", "target": "bob@example.test"})
    assert a.call("alias.list", {})["aliases"] == [{"address": "postmaster@example.test", "targets": ["alice@example.test"]}]
    expect_error("no_such_alias", a.call, "alias.remove", {"address": "none@example.test"})
    g = a.call("group.members", {"address": "team@example.test", "remove": ["bob@example.test"], "add": ["dan@remote.test"]})
    assert g["members"] == ["alice@example.test", "dan@remote.test"]
    assert len(a.call("group.list", {})["groups"]) == 1
    expect_error("not_empty", a.call, "domain.remove", {"name": "example.test"})
    a.call("group.remove", {"address": "team@example.test"})
    expect_error("no_such_group", a.call, "group.remove", {"address": "team@example.test"})
    assert a.call("settings.set", {"maxMessageBytes": 2048})["maxMessageBytes"] == 2048
    assert a.call("settings.get")["maxMessageBytes"] == 2048
    a.call("account.remove", {"address": "bob@example.test"})
    expect_error("no_such_account", a.call, "account.get", {"address": "bob@example.test"})


def test_login_throttling_and_challenge_response(setup, loft):
    import hashlib, hmac
    g = loft.gateway()
    challenge = lambda service="pop3": g.call("auth.challenge", {"service": service, "hostname": "mail.example.test"})
    expect_error("auth_failed", g.call, "auth.login", {"username": "nobody@example.test", "password": "x", "clientAddress": "10.9.9.9"})
    # alice has no APOP secret: APOP fails like a wrong password, but is no guess at anything, so
    # it does not count toward the throttle (clients try CRAM-MD5 first when it is offered)
    for _ in range(5):
        ts = challenge()["challenge"]
        d = hashlib.md5((ts + "alice-pw").encode()).hexdigest()
        expect_error("auth_failed", g.call, "auth.apop", {"username": "alice@example.test", "timestamp": ts, "digest": d})
    for _ in range(3):
        expect_error("auth_failed", g.call, "auth.login", {"username": "alice@example.test", "password": "wrong", "clientAddress": "10.0.0.1"})
    e = expect_error("auth_throttled", g.call, "auth.login",
                     {"username": "alice@example.test", "password": "alice-pw", "clientAddress": "10.0.0.1"})
    assert e.data["retryAfterMs"] > 0 and e.data["temporary"] is True
    # APOP (RFC 1939 §7) and CRAM-MD5 (RFC 2195) with bob's own secret, over a timestamp or
    # challenge the back-end issued (DESIGN §2); never with the password
    issued = challenge()
    ts = issued["challenge"]
    assert ts.startswith("<") and ts.endswith("@mail.example.test>") and issued["expiresMs"] == 600000
    assert challenge()["challenge"] != ts
    digest = hashlib.md5((ts + "bob-apop").encode()).hexdigest()
    assert g.call("auth.apop", {"username": "bob@example.test", "timestamp": ts, "digest": digest})["account"] == "bob@example.test"
    ts = challenge()["challenge"]
    bad = hashlib.md5((ts + "bob-pw").encode()).hexdigest()
    expect_error("auth_failed", g.call, "auth.apop", {"username": "bob@example.test", "timestamp": ts, "digest": bad})
    ch = challenge("smtp")["challenge"]
    d = hmac.new(b"bob-apop", ch.encode(), hashlib.md5).hexdigest()
    assert g.call("auth.cram_md5", {"username": "bob@example.test", "challenge": ch, "digest": d})["session"]
    expect_error("invalid_params", g.call, "auth.challenge", {"service": "pop3", "hostname": "a b>"})
    s = g.call("auth.login", {"username": "bob@example.test", "password": "bob-pw"})
    assert g.call("session.info", {"session": s["session"]})["account"] == "bob@example.test"
    # a new password ends the sessions issued before it; so does disabling the account
    setup.call("account.update", {"address": "bob@example.test", "password": "bob-pw2"})
    expect_error("session_invalid", g.call, "mailbox.list", {"session": s["session"]})
    s = g.call("auth.login", {"username": "bob@example.test", "password": "bob-pw2"})
    setup.call("account.update", {"address": "bob@example.test", "enabled": False})
    expect_error("session_invalid", g.call, "message.list", {"session": s["session"], "mailbox": "INBOX"})
    expect_error("account_disabled", g.call, "auth.login", {"username": "bob@example.test", "password": "bob-pw2"})
    expect_error("account_disabled", setup.call, "auth.impersonate", {"account": "bob@example.test"})


def test_challenges_are_used_once(setup, loft):
    """A digest is only good for a challenge the back-end issued, once: a replay of a captured
    digest and a digest over a made-up challenge are refused, and count as failed logins."""
    import hashlib, hmac
    g = loft.gateway()
    challenge = lambda: g.call("auth.challenge", {"service": "pop3", "hostname": "mail.example.test"})["challenge"]
    ts = challenge()
    apop = {"username": "bob@example.test", "timestamp": ts, "digest": hashlib.md5((ts + "bob-apop").encode()).hexdigest(),
            "clientAddress": "10.1.1.1"}
    ch = challenge()
    cram = {"username": "bob@example.test", "challenge": ch, "digest": hmac.new(b"bob-apop", ch.encode(), hashlib.md5).hexdigest(),
            "clientAddress": "10.1.1.1"}
    assert g.call("auth.apop", apop)["account"] == "bob@example.test"
    assert g.call("auth.cram_md5", cram)["session"]
    expect_error("auth_failed", g.call, "auth.apop", apop)  # replayed
    expect_error("auth_failed", g.call, "auth.cram_md5", cram)  # replayed
    made_up = "<1896.697170952@mail.example.test>"
    expect_error("auth_failed", g.call, "auth.apop",
                 {"username": "bob@example.test", "timestamp": made_up,
                  "digest": hashlib.md5((made_up + "bob-apop").encode()).hexdigest(), "clientAddress": "10.1.1.1"})
    # the replays and the forgery were three failures for bob: the fourth attempt waits
    ts = challenge()
    apop = dict(apop, timestamp=ts, digest=hashlib.md5((ts + "bob-apop").encode()).hexdigest())
    expect_error("auth_throttled", g.call, "auth.apop", apop)


def test_auth_mechanisms(setup, loft):
    g = loft.gateway()
    assert g.call("auth.mechanisms", {}) == {"challengeResponse": True}  # bob has an APOP secret
    setup.call("account.update", {"address": "bob@example.test", "apopEnabled": False})
    assert g.call("auth.mechanisms", {}) == {"challengeResponse": False}


def test_mailboxes(setup, loft):
    g, s = login(loft, "alice@example.test", "alice-pw")
    listed = lambda: g.call("mailbox.list", {"session": s})["mailboxes"]
    names = lambda: [m["name"] for m in listed()]
    # RFC 6154: every account starts with its special-use mailboxes.
    defaults = {"Archive": "\\Archive", "Drafts": "\\Drafts", "Junk": "\\Junk", "Sent": "\\Sent", "Trash": "\\Trash"}
    assert {m["name"]: m.get("specialUse") for m in listed()} == {**defaults, "INBOX": None}
    g.call("mailbox.create", {"session": s, "mailbox": "Work/2026", "specialUse": None})
    g.call("mailbox.create", {"session": s, "mailbox": "Outbox", "specialUse": "\\Drafts \\Sent \\Drafts"})
    assert [m.get("specialUse") for m in listed() if m["name"] == "Outbox"] == ["\\Drafts \\Sent"]
    for use in ["\\All", "\\Flagged", "\\Bogus", "Sent"]:
        expect_error("invalid_params", g.call, "mailbox.create", {"session": s, "mailbox": "V", "specialUse": use})
    assert names() == ["Archive", "Drafts", "INBOX", "Junk", "Outbox", "Sent", "Trash", "Work", "Work/2026"]
    expect_error("mailbox_exists", g.call, "mailbox.create", {"session": s, "mailbox": "work/2026".replace("w", "W")})
    expect_error("invalid_mailbox_name", g.call, "mailbox.create", {"session": s, "mailbox": "a//b"})
    expect_error("invalid_mailbox_name", g.call, "mailbox.create", {"session": s, "mailbox": "bad*name"})
    g.call("mailbox.rename", {"session": s, "from": "Work", "to": "Archive/Work"})
    assert names() == ["Archive", "Archive/Work", "Archive/Work/2026", "Drafts", "INBOX", "Junk", "Outbox", "Sent", "Trash"]
    # RFC 5819's one call: the counters of every selectable mailbox with the list.
    with_status = g.call("mailbox.list", {"session": s, "status": True})["mailboxes"]
    assert all(m["status"]["mailbox"] == m["name"] and m["status"]["messages"] == 0 for m in with_status)
    assert all("status" not in m for m in listed())
    # RFC 3501 §6.3.4: a mailbox with children stays as \Noselect; then deleting it is refused
    g.call("mailbox.delete", {"session": s, "mailbox": "Archive/Work"})
    assert [m for m in listed() if m["name"] == "Archive/Work"][0]["noselect"] is True
    assert [m for m in g.call("mailbox.list", {"session": s, "status": True})["mailboxes"]
            if m["name"] == "Archive/Work"][0].get("status") is None
    expect_error("not_selectable", g.call, "mailbox.select", {"session": s, "mailbox": "Archive/Work"})
    expect_error("not_empty", g.call, "mailbox.delete", {"session": s, "mailbox": "Archive/Work"})
    expect_error("mailbox_is_inbox", g.call, "mailbox.delete", {"session": s, "mailbox": "inbox"})
    expect_error("invalid_rename", g.call, "mailbox.rename", {"session": s, "from": "Archive", "to": "Archive/x"})
    g.call("mailbox.delete", {"session": s, "mailbox": "Archive/Work/2026"})
    g.call("mailbox.delete", {"session": s, "mailbox": "Archive/Work"})
    g.call("mailbox.subscribe", {"session": s, "mailbox": "Sent", "subscribed": False})
    assert "Sent" not in [m["name"] for m in g.call("mailbox.list", {"session": s, "subscribedOnly": True})["mailboxes"]]
    st = g.call("mailbox.status", {"session": s, "mailbox": "INBOX"})
    assert (st["messages"], st["unseen"], st["uidNext"]) == (0, 0, 1)
    expect_error("no_such_mailbox", g.call, "mailbox.status", {"session": s, "mailbox": "Nope"})
    # the per-account setting forbids management
    setup.call("account.update", {"address": "alice@example.test", "mayManageMailboxes": False})
    for m, p in [("mailbox.create", {"mailbox": "X"}), ("mailbox.rename", {"from": "Sent", "to": "Y"}),
                 ("mailbox.delete", {"mailbox": "Sent"})]:
        expect_error("permission_denied", g.call, m, {"session": s, **p})


def test_delivery_routing_and_messages(setup, loft):
    g, alice = login(loft, "alice@example.test", "alice-pw")
    _, bob = login(loft, "bob@example.test", "bob-pw")
    r = g.deliver("carol@remote.test", ["alice@example.test", "nobody@example.test", "team@example.test",
                                        "postmaster@example.test", "x@remote.test"], MSG)
    outcomes = {o["recipient"]: o for o in r["recipients"]}
    assert outcomes["alice@example.test"]["status"] == "delivered"
    assert outcomes["nobody@example.test"]["status"] == "failed" and outcomes["nobody@example.test"]["kind"] == "no_such_user"
    assert outcomes["team@example.test"]["status"] == "delivered"
    assert outcomes["x@remote.test"]["status"] == "failed" and outcomes["x@remote.test"]["kind"] == "relay_denied"
    # alice reached three ways, stored once; bob once through the group
    lst = g.call("message.list", {"session": alice, "mailbox": "INBOX", "withStructure": True})
    assert len(lst["messages"]) == 1
    m = lst["messages"][0]
    assert m["size"] == len(MSG) + len(b"Return-Path: <carol@remote.test>\r\n")
    assert m["structure"]["envelope"]["subject"] == "hello"
    raw = g.read_all(alice, "INBOX", m["uid"])
    assert raw == b"Return-Path: <carol@remote.test>\r\n" + MSG
    assert len(g.call("message.list", {"session": bob, "mailbox": "INBOX"})["messages"]) == 1
    # sections and ranges
    assert g.read_all(alice, "INBOX", m["uid"], section="text") == b"Hi Alice.\r\n.dotted line\r\n"
    assert g.read_all(alice, "INBOX", m["uid"], part="1") == b"Hi Alice.\r\n.dotted line\r\n"
    hdr = g.read_all(alice, "INBOX", m["uid"], section="header")
    assert hdr.startswith(b"Return-Path:") and hdr.endswith(b"\r\n\r\n")
    rng = g.call("message.read", {"session": alice, "mailbox": "INBOX", "uid": m["uid"], "offset": 6, "length": 5})
    assert base64.b64decode(rng["data"]) == b"-Path" and rng["total"] == m["size"]
    expect_error("no_such_part", g.call, "message.read", {"session": alice, "mailbox": "INBOX", "uid": m["uid"], "part": "2"})
    expect_error("no_such_message", g.call, "message.read", {"session": alice, "mailbox": "INBOX", "uid": 99})
    # flags
    f = g.call("message.flags", {"session": alice, "mailbox": "INBOX", "uids": "1:*", "operation": "add",
                                 "flags": ["\\Seen", "$Work"]})
    assert f["updated"][0]["flags"] == ["\\Seen", "$Work"]
    assert g.call("mailbox.status", {"session": alice, "mailbox": "INBOX"})["unseen"] == 0
    f2 = g.call("message.flags", {"session": alice, "mailbox": "INBOX", "uids": "1", "operation": "remove",
                                  "flags": ["$Work"], "unchangedSince": 1})
    assert f2["skipped"] == [1] and f2["updated"] == []
    expect_error("invalid_params", g.call, "message.flags", {"session": alice, "mailbox": "INBOX", "uids": "1",
                                                             "operation": "add", "flags": ["\\Bogus"]})
    expect_error("invalid_params", g.call, "message.flags", {"session": alice, "mailbox": "INBOX", "uids": "0:x",
                                                             "operation": "add", "flags": []})
    # copy, move, expunge
    g.call("mailbox.create", {"session": alice, "mailbox": "Keep"})
    c = g.call("message.copy", {"session": alice, "mailbox": "INBOX", "uids": "1", "to": "Keep"})
    assert c["sourceUids"] == [1] and c["targetUids"] == [1]
    mv = g.call("message.move", {"session": alice, "mailbox": "Keep", "uids": "1", "to": "INBOX"})
    assert mv["targetUids"] == [2]
    assert g.call("quota.get", {"session": alice})["messages"] == 2
    assert g.call("message.expunge", {"session": alice, "mailbox": "INBOX"})["expunged"] == []  # none is \Deleted
    g.call("message.flags", {"session": alice, "mailbox": "INBOX", "uids": "2", "operation": "add", "flags": ["\\Deleted"]})
    assert g.call("message.expunge", {"session": alice, "mailbox": "INBOX"})["expunged"] == [2]
    assert g.call("message.expunge", {"session": alice, "mailbox": "INBOX", "uids": "1",
                                      "regardlessOfFlags": True})["expunged"] == [1]
    q = g.call("quota.get", {"session": alice})
    assert (q["messages"], q["usedBytes"]) == (0, 0)
    assert setup.call("store.verify")["problems"] == []


def test_append_and_events(setup, loft):
    g, alice = login(loft, "alice@example.test", "alice-pw")
    watcher = loft.gateway()
    sub = watcher.call("events.subscribe", {"session": alice})["subscription"]
    up = g.call("message.append", {"session": alice, "mailbox": "INBOX", "flags": ["\\Draft"],
                                   "internalDate": 1700000000, "size": len(MSG)})
    r = g.upload(up["upload"], MSG, chunk=7)
    assert r["uid"] == 1 and r["size"] == len(MSG)
    ev = watcher.wait_notification()
    assert ev["method"] == "event" and ev["params"]["kind"] == "message.added" and ev["params"]["uids"] == [1]
    assert ev["params"]["subscription"] == sub
    lst = g.call("message.list", {"session": alice, "mailbox": "INBOX"})["messages"]
    assert lst[0]["flags"] == ["\\Draft"] and lst[0]["internalDate"] == 1700000000
    assert g.read_all(alice, "INBOX", 1) == MSG  # appended as given, no Return-Path
    g.call("message.flags", {"session": alice, "mailbox": "INBOX", "uids": "1", "operation": "add", "flags": ["\\Seen"]})
    assert watcher.wait_notification()["params"]["kind"] == "message.flags"
    g.call("mailbox.create", {"session": alice, "mailbox": "Z"})
    assert watcher.wait_notification()["params"]["kind"] == "mailbox.created"
    watcher.call("events.unsubscribe", {"subscription": sub})
    expect_error("invalid_params", watcher.call, "events.unsubscribe", {"subscription": sub})
    # abort and unknown uploads
    up = g.call("message.append", {"session": alice, "mailbox": "INBOX"})
    g.call("upload.abort", {"upload": up["upload"]})
    expect_error("no_such_upload", g.call, "upload.commit", {"upload": up["upload"]})
    expect_error("invalid_params", g.call, "upload.append", {"upload": "x", "data": 5})
    expect_error("no_such_mailbox", g.call, "message.append", {"session": alice, "mailbox": "Nope"})


def test_events_filtered_by_mailbox(setup, loft):
    """Protocol/README §9: a subscription with `mailbox` hears only that mailbox's events."""
    g, alice = login(loft, "alice@example.test", "alice-pw")
    watcher = loft.gateway()
    only_work = watcher.call("events.subscribe", {"session": alice, "mailbox": "Work"})["subscription"]
    everything = watcher.call("events.subscribe", {"session": alice})["subscription"]
    expect_error("invalid_mailbox_name", watcher.call, "events.subscribe", {"session": alice, "mailbox": "a//b"})
    g.deliver("c@remote.test", ["alice@example.test"], MSG)           # INBOX: only `everything`
    g.call("mailbox.create", {"session": alice, "mailbox": "Work"})    # both
    g.call("message.copy", {"session": alice, "mailbox": "INBOX", "uids": "1", "to": "Work"})  # both
    g.call("mailbox.rename", {"session": alice, "from": "Work", "to": "Play"})  # both (oldMailbox)
    g.call("mailbox.create", {"session": alice, "mailbox": "Other"})   # only `everything`
    g.call("ping")
    seen = {only_work: [], everything: []}
    while sum(len(v) for v in seen.values()) < 8:
        ev = watcher.wait_notification()["params"]
        seen[ev["subscription"]].append((ev["kind"], ev["mailbox"]))
    assert seen[everything] == [("message.added", "INBOX"), ("mailbox.created", "Work"), ("message.added", "Work"),
                                ("mailbox.renamed", "Play"), ("mailbox.created", "Other")]
    assert seen[only_work] == [("mailbox.created", "Work"), ("message.added", "Work"), ("mailbox.renamed", "Play")]
    watcher.call("events.unsubscribe", {"subscription": only_work})
    watcher.call("events.unsubscribe", {"subscription": everything})


def test_delivery_checks_limits_and_quota(setup, loft):
    a = setup
    g = loft.gateway()
    chk = lambda rcpt, **kw: g.call("delivery.check", {"sender": "c@remote.test", "recipient": rcpt, **kw})
    assert chk("alice@example.test")["status"] == "accepted"
    assert chk("alice+lists@example.test")["status"] == "accepted"  # sub-addressing
    assert chk("nobody@example.test")["kind"] == "no_such_user"
    assert chk("x@remote.test")["kind"] == "relay_denied"
    assert chk("x@remote.test", trustedRelay=True)["status"] == "accepted"
    _, s = login(loft, "bob@example.test", "bob-pw")
    assert chk("x@remote.test", session=s)["status"] == "accepted"
    a.call("account.update", {"address": "alice@example.test", "quotaBytes": 1000, "maxMessageBytes": 600})
    assert chk("alice@example.test", size=700)["kind"] == "too_big"
    a.call("account.update", {"address": "alice@example.test", "maxMessageBytes": 0})
    r = chk("alice@example.test", size=1500)
    assert r["kind"] == "quota_exceeded" and r["temporary"] is False  # can never fit: 552 5.2.2
    body = b"Subject: q\r\n\r\n" + b"x" * 400 + b"\r\n"
    for _ in range(2):
        assert g.deliver("c@remote.test", ["alice@example.test"], body)["recipients"][0]["status"] == "delivered"
    r = chk("alice@example.test", size=300)
    assert r["kind"] == "quota_exceeded" and r["temporary"] is True  # full for now: 452 4.2.2
    r = g.deliver("c@remote.test", ["alice@example.test", "bob@example.test"], body)["recipients"]
    assert r[0]["status"] == "failed" and r[0]["kind"] == "quota_exceeded" and r[1]["status"] == "delivered"
    # the server-wide limit, at the limit and one over
    a.call("settings.set", {"maxMessageBytes": 2048})
    exact = b"S: x\r\n\r\n" + b"y" * (2048 - 8)
    assert len(exact) == 2048
    assert g.deliver("", ["bob@example.test"], exact)["recipients"][0]["status"] == "delivered"
    up = g.call("delivery.begin", {"sender": "", "recipients": ["bob@example.test"]})
    expect_error("too_big", g.upload, up["upload"], exact + b"z")
    expect_error("too_big", g.call, "delivery.begin", {"sender": "", "recipients": ["bob@example.test"], "size": 4096})
    expect_error("invalid_address", g.call, "delivery.begin", {"sender": "bad sender", "recipients": ["bob@example.test"]})
    assert a.call("store.verify")["problems"] == []


def test_forwarding_loops_and_queue(setup, loft):
    a = setup
    a.call("account.update", {"address": "alice@example.test", "forwardTo": "bob@example.test", "forwardKeepCopy": False})
    a.call("account.update", {"address": "bob@example.test", "forwardTo": "alice@example.test", "forwardKeepCopy": False})
    g = loft.gateway()
    assert g.call("delivery.check", {"sender": "", "recipient": "alice@example.test"})["kind"] == "loop_detected"
    a.call("account.update", {"address": "bob@example.test", "forwardTo": "far@remote.test", "forwardKeepCopy": True})
    r = g.deliver("c@remote.test", ["alice@example.test"], MSG)["recipients"][0]
    assert r["status"] == "delivered"  # bob keeps a copy; far@remote.test is queued
    q = a.call("queue.list", {})["entries"]
    # Forwarded from outside: the queued copy's sender is rewritten by SRS through example.test.
    assert len(q) == 1 and q[0]["recipients"] == ["far@remote.test"]
    assert q[0]["sender"].startswith("SRS0=") and q[0]["sender"].endswith("=remote.test=c@example.test")
    assert q[0]["origin"] == "forward"
    assert q[0]["size"] == len(MSG)  # the queued copy has no Return-Path line
    _, alice = login(loft, "alice@example.test", "alice-pw")
    assert g.call("message.list", {"session": alice, "mailbox": "INBOX"})["messages"] == []
    assert a.call("store.verify")["problems"] == []


def test_queue_methods_over_the_sockets(tmp_path):
    """The queue as a relay and an administrator drive it, on a bare back-end (no relay of its
    own to take the work): lease on relay.sock, read, renew, report; show, status, retry,
    remove on admin.sock; the gateway socket may not lease, the relay socket may do nothing else."""
    server = Loft(tmp_path / "data", role="backend")
    try:
        a = server.admin()
        a.call("domain.add", {"name": "example.test"})
        a.call("account.add", {"address": "alice@example.test", "password": "alice-pw"})
        g, session = login(server, "alice@example.test", "alice-pw")
        out = g.deliver("alice@example.test", ["x@remote.test", "y@remote.test"], MSG, session=session,
                        dsn={"ret": "HDRS", "envid": "e1", "recipients": [{"notify": "SUCCESS"}, {}]})
        assert [r["status"] for r in out["recipients"]] == ["queued", "queued"]
        with pytest.raises(RPCError) as refused:
            g.call("queue.lease", {})
        assert refused.value.kind == "permission_denied"
        r = Client(str(server.data / "relay.sock"))
        with pytest.raises(RPCError):
            r.call("domain.list")
        lease = r.call("queue.lease", {"max": 10})
        message = lease["messages"][0]
        assert lease["domain"] == "remote.test" and message["envid"] == "e1" and message["ret"] == "hdrs"
        assert [x.get("notify") for x in message["recipients"]] == ["SUCCESS", None]
        body = base64.b64decode(r.call("queue.read", {"lease": lease["lease"], "message": message["id"]})["data"])
        assert body == MSG
        assert r.call("queue.renew", {"lease": lease["lease"], "leaseMs": 600000})["recipients"] == 2
        status = a.call("queue.status")
        assert status["messages"] == 1 and status["leased"] == 2
        report = r.call("queue.report", {"lease": lease["lease"], "message": message["id"], "outcomes": [
            {"recipient": "x@remote.test", "result": "delivered", "code": 250, "remoteMta": "mx.remote.test"},
            {"recipient": "y@remote.test", "result": "deferred", "code": 451, "text": "later"}]})
        assert sorted(report["applied"]) == ["x@remote.test", "y@remote.test"]
        # Nothing of this connection waits in queue.lease: nothing to answer.
        assert r.call("queue.unpark") == {"answered": 0}
        shown = a.call("queue.show", {"id": message["id"]})
        assert [s["status"] for s in shown["states"]] == ["delivered", "deferred"]
        assert a.call("queue.retry", {"id": message["id"]})["changed"] == 1
        assert a.call("queue.remove", {"id": message["id"], "bounce": True})["changed"] == 1
        with pytest.raises(RPCError) as gone:
            a.call("queue.show", {"id": message["id"]})
        assert gone.value.kind == "no_such_queue_entry"
        # Alice has the relayed notice for x (NOTIFY=SUCCESS, a server that did not take it on)
        # and the bounce for y.
        subjects = []
        for m in g.call("message.list", {"session": session, "mailbox": "INBOX"})["messages"]:
            text = g.read_all(session, "INBOX", m["uid"])
            subjects.append(next(l for l in text.split(b"\r\n") if l.startswith(b"Subject: ")))
        assert sorted(subjects) == [b"Subject: Successful Mail Delivery Report", b"Subject: Undelivered Mail Returned to Sender"]
        r.close()
        g.close()
        a.close()
    finally:
        server.stop()


def test_locks(setup, loft):
    g, s = login(loft, "alice@example.test", "alice-pw")
    other = loft.gateway()
    lock = g.call("lock.acquire", {"session": s, "name": "pop3", "leaseMs": 5000})
    expect_error("in_use", other.call, "lock.acquire", {"session": s, "name": "pop3"})
    assert g.call("lock.renew", {"lock": lock["lock"]})["leaseMs"] == 5000
    g.call("lock.release", {"lock": lock["lock"]})
    expect_error("no_such_lock", g.call, "lock.renew", {"lock": lock["lock"]})
    lock2 = other.call("lock.acquire", {"session": s, "name": "pop3"})
    other.close()  # a closed connection frees its locks at once
    import time
    for _ in range(50):
        try:
            g.call("lock.acquire", {"session": s, "name": "pop3"})
            break
        except RPCError:
            time.sleep(0.02)
    else:
        raise AssertionError("lock not freed on close")


def test_pipelining_many_in_flight(setup, loft):
    c = loft.admin()
    ids = [c.request("ping", {}) for _ in range(200)]
    got = [c.read_response()["id"] for _ in ids]
    assert sorted(got) == sorted(ids)


def test_concurrent_connections(setup, loft):
    errors = []

    def worker(n):
        try:
            g = loft.gateway()
            for i in range(20):
                g.deliver("c@remote.test", ["bob@example.test"], MSG + f"{n}-{i}\r\n".encode())
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert setup.call("account.get", {"address": "bob@example.test"})["messages"] == 160
    assert setup.call("store.verify")["problems"] == []


def test_a_removed_accounts_sessions_do_not_open_its_successor(setup, loft):
    """SQLite may reuse a removed account's id; the old tokens must still be refused."""
    a = loft.admin()
    a.call("account.add", {"address": "temp@example.test", "password": "pw-one"})
    g, old = login(loft, "temp@example.test", "pw-one")
    before = g.call("session.info", {"session": old})
    a.call("account.remove", {"address": "temp@example.test"})
    expect_error("session_invalid", g.call, "mailbox.list", {"session": old})
    a.call("account.add", {"address": "temp@example.test", "password": "pw-two"})
    _, new = login(loft, "temp@example.test", "pw-two")
    assert new.split(".")[0] == old.split(".")[0], "the id was not reused; the test shows nothing"
    expect_error("session_invalid", g.call, "mailbox.list", {"session": old})
    assert g.call("session.info", {"session": new})["account"] == before["account"]


def test_session_refresh_extends_a_valid_session_only(setup, loft):
    a = loft.admin()
    a.call("account.add", {"address": "long@example.test", "password": "pw-one"})
    g, old = login(loft, "long@example.test", "pw-one")
    first = g.call("session.info", {"session": old})
    time.sleep(1.1)
    fresh = g.call("session.refresh", {"session": old})
    assert fresh["account"] == "long@example.test" and fresh["session"] != old
    assert fresh["expiresAt"] > first["expiresAt"]
    assert g.call("mailbox.list", {"session": fresh["session"]})["mailboxes"]
    # A new password ends the refreshed session too, and nothing refreshes a revoked one.
    a.call("account.update", {"address": "long@example.test", "password": "pw-two"})
    expect_error("session_invalid", g.call, "mailbox.list", {"session": fresh["session"]})
    expect_error("session_invalid", g.call, "session.refresh", {"session": fresh["session"]})
    expect_error("session_invalid", g.call, "session.refresh", {"session": "forged.token"})
    a.call("account.remove", {"address": "long@example.test"})


def test_message_read_batch(setup, loft):
    g, alice = login(loft, "alice@example.test", "alice-pw")
    sizes = [10, 5000, 400 << 10, 400 << 10, 400 << 10, 20]
    bodies = [b"Subject: %d\r\n\r\n" % i + b"x" * n for i, n in enumerate(sizes)]
    for body in bodies:
        g.call("delivery.submit", {"sender": "c@remote.test", "recipients": ["alice@example.test"],
                                   "data": base64.b64encode(body).decode()})
    stored = [b"Return-Path: <c@remote.test>\r\n" + body for body in bodies]
    uids = [m["uid"] for m in g.call("message.list", {"session": alice, "mailbox": "INBOX"})["messages"]]
    # In the order asked; a UID with no message is reported; 1 MiB of data in all per answer.
    asked = [uids[1], 999, uids[0], uids[2], uids[3], uids[4], uids[5]]
    r = g.call("message.read_batch", {"session": alice, "mailbox": "INBOX", "uids": asked, "length": 1 << 20})
    got = [(m["uid"], base64.b64decode(m["data"]), m["total"]) for m in r["messages"]]
    assert [u for u, _, _ in got] == [uids[1], uids[0], uids[2], uids[3]]
    assert r["missing"] == [999]
    for (uid, data, total) in got:
        i = uids.index(uid)
        assert data == stored[i] and total == len(stored[i])
    # The rest in the next call; `length` cuts every message.
    r = g.call("message.read_batch", {"session": alice, "mailbox": "INBOX", "uids": [uids[4], uids[5]], "length": 12})
    assert [(m["uid"], base64.b64decode(m["data"])) for m in r["messages"]] == [(uids[4], stored[4][:12]), (uids[5], stored[5][:12])]
    # Past the 1 MiB cut messages are left for the next call, but `missing` stays complete.
    r = g.call("message.read_batch", {"session": alice, "mailbox": "INBOX", "uids": uids + [998], "length": 1 << 20})
    assert [m["uid"] for m in r["messages"]] == uids[:4] and r["missing"] == [998]
    # 64 UIDs is the limit: at it, answered; over it, refused.
    r = g.call("message.read_batch", {"session": alice, "mailbox": "INBOX", "uids": list(range(1, 65)), "length": 1})
    assert len(r["messages"]) + len(r["missing"]) == 64
    expect_error("invalid_params", g.call, "message.read_batch",
                 {"session": alice, "mailbox": "INBOX", "uids": list(range(1, 66)), "length": 1})
    expect_error("no_such_mailbox", g.call, "message.read_batch", {"session": alice, "mailbox": "Nope", "uids": [1], "length": 1})
    # Another account's session sees its own (empty) INBOX, never alice's messages.
    _, bob = login(loft, "bob@example.test", "bob-pw")
    r = g.call("message.read_batch", {"session": bob, "mailbox": "INBOX", "uids": uids, "length": 100})
    assert r["messages"] == [] and r["missing"] == uids


def test_delivery_submit_in_one_call(setup, loft):
    g, alice = login(loft, "alice@example.test", "alice-pw")
    r = g.call("delivery.submit", {"sender": "c@remote.test", "recipients": ["alice@example.test", "nobody@example.test"],
                                   "data": base64.b64encode(MSG).decode()})
    assert [o["status"] for o in r["recipients"]] == ["delivered", "failed"]
    assert g.read_all(alice, "INBOX", 1) == b"Return-Path: <c@remote.test>\r\n" + MSG
    bad = expect_error("invalid_params", g.call, "delivery.submit", {"sender": "", "recipients": ["alice@example.test"], "data": "%%%"})
    assert bad.error["data"].get("field") == "data", bad.error
    # Base64 wrapped the way `base64` or MIME tools wrap it is accepted.
    wrapped = base64.encodebytes(MSG * 3).decode()
    assert "\n" in wrapped
    r = g.call("delivery.submit", {"sender": "", "recipients": ["alice@example.test"], "data": wrapped})
    assert g.read_all(alice, "INBOX", 2) == b"Return-Path: <>\r\n" + MSG * 3
    at_limit = b"Subject: 1 MiB\r\n\r\n" + b"x" * ((1 << 20) - 18)
    assert len(at_limit) == 1 << 20
    r = g.call("delivery.submit", {"sender": "", "recipients": ["alice@example.test"], "data": base64.b64encode(at_limit).decode()})
    assert r["recipients"][0]["status"] == "delivered"
    big = base64.b64encode(b"x" * ((1 << 20) + 1)).decode()
    expect_error("invalid_params", g.call, "delivery.submit", {"sender": "", "recipients": ["alice@example.test"], "data": big})
    assert setup.call("store.verify")["problems"] == []


def test_requests_piped_through_socat_are_all_answered(setup, loft):
    """Protocol/README §13's `printf … | socat - UNIX-CONNECT:…`: the back-end answers every
    request it read before the end of input (calls on worker threads too), then closes (issue 7)."""
    assert shutil.which("socat"), "socat is needed (Tests/run-all.sh installs it)"
    requests = [("hello", {"version": 1, "software": "socat"}), ("account.list", None), ("domain.list", None),
                ("alias.list", None), ("group.list", None), ("settings.get", None), ("queue.list", None),
                ("account.get", {"address": "alice@example.test"}), ("store.verify", None), ("ping", None)]
    lines = []
    for i, (method, params) in enumerate(requests, 1):
        msg = {"jsonrpc": "2.0", "id": i, "method": method}
        if params is not None:
            msg["params"] = params
        lines.append(json.dumps(msg))
    script = "printf '%s\\n' " + " ".join("'" + line + "'" for line in lines)
    r = subprocess.run(f"{script} | socat - UNIX-CONNECT:{loft.data}/admin.sock", shell=True, capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(a["id"] for a in answers) == list(range(1, len(requests) + 1)), r.stdout
    assert all("result" in a for a in answers), answers
    by_id = {a["id"]: a["result"] for a in answers}
    assert [d["name"] for d in by_id[3]["domains"]] == ["example.test"]
    assert {a["address"] for a in by_id[2]["accounts"]} == {"alice@example.test", "bob@example.test"}


def test_delivery_idempotency_and_outcome(setup, loft):
    """Protocol/README §8: a delivery with an idempotency key is stored once however often it is
    sent, and delivery.outcome reports its result, also after the back-end restarted (issue 7)."""
    g, alice = login(loft, "alice@example.test", "alice-pw")
    env = {"sender": "c@remote.test", "recipients": ["alice@example.test", "nobody@example.test"]}
    data = base64.b64encode(MSG).decode()
    for bad in ["", "k" * 129, "caf\u00e9", "a\nb", "tab\there"]:
        e = expect_error("invalid_params", g.call, "delivery.submit", {**env, "data": data, "idempotencyKey": bad})
        assert e.data.get("field") == "idempotencyKey", e.error
        expect_error("invalid_params", g.call, "delivery.begin", {**env, "idempotencyKey": bad})
        expect_error("invalid_params", g.call, "delivery.outcome", {"idempotencyKey": bad})
    assert g.call("delivery.outcome", {"idempotencyKey": "never-sent"}) == {"committed": False}

    first = g.call("delivery.submit", {**env, "data": data, "idempotencyKey": "submit-1"})
    again = g.call("delivery.submit", {**env, "data": data, "idempotencyKey": "submit-1"})
    assert again == first and [o["status"] for o in first["recipients"]] == ["delivered", "failed"]
    key128 = "~ " + "k" * 126
    started = g.call("delivery.begin", {**env, "idempotencyKey": key128})
    chunked = g.upload(started["upload"], MSG, chunk=9)
    started = g.call("delivery.begin", {**env, "idempotencyKey": key128})
    assert g.upload(started["upload"], MSG) == chunked
    # A submit whose key a chunked delivery committed is not stored either.
    assert g.call("delivery.submit", {**env, "data": data, "idempotencyKey": key128}) == chunked
    messages = g.call("message.list", {"session": alice, "mailbox": "INBOX"})["messages"]
    assert [m["uid"] for m in messages] == [1, 2]
    assert g.call("delivery.outcome", {"idempotencyKey": "submit-1"}) == {"committed": True, "result": first}
    assert setup.call("store.verify")["problems"] == []

    # After a restart nothing is in flight: what committed is reported, the rest is final.
    setup.close()
    g.close()
    loft.stop()
    again = Loft(loft.data, role="backend")
    try:
        a = again.admin()
        assert a.call("delivery.outcome", {"idempotencyKey": key128}) == {"committed": True, "result": chunked}
        assert a.call("delivery.outcome", {"idempotencyKey": "submit-1"}) == {"committed": True, "result": first}
        assert a.call("delivery.outcome", {"idempotencyKey": "submit-2"}) == {"committed": False}
        a.close()
    finally:
        again.stop()


def test_domain_remove(loft):
    a = loft.admin()
    a.call("domain.add", {"name": "gone.test"})
    a.call("domain.remove", {"name": "gone.test"})
    assert a.call("domain.list")["domains"] == []
    expect_error("no_such_domain", a.call, "domain.remove", {"name": "gone.test"})


def test_imap_select_uids_search_and_subscriptions(setup, loft):
    """What an IMAP gateway calls (Protocol §14), over the real socket."""
    g, s = login(loft, "alice@example.test", "alice-pw")
    for n in range(1, 5):
        g.deliver("carol@remote.test", ["alice@example.test"],
                  MSG.replace(b"Subject: hello", b"Subject: report " + str(n).encode()))
    g.call("message.expunge", {"session": s, "mailbox": "INBOX", "uids": "3", "regardlessOfFlags": True})
    g.call("message.flags", {"session": s, "mailbox": "INBOX", "uids": "1", "operation": "add", "flags": ["\\Seen", "$Label1"]})
    examined = g.call("mailbox.select", {"session": s, "mailbox": "INBOX", "readOnly": True})
    assert examined["recentUids"] == "1:2,4" and examined["uids"] == "1:2,4"
    assert examined["keywords"] == ["$Label1"] and examined["firstUnseenUid"] == 2
    selected = g.call("mailbox.select", {"session": s, "mailbox": "INBOX"})
    assert selected["recentUids"] == "1:2,4" and selected["status"]["recent"] == 3
    assert "recentUids" not in g.call("mailbox.select", {"session": s, "mailbox": "INBOX"})
    uids = g.call("message.uids", {"session": s, "mailbox": "INBOX", "afterUid": 1})
    assert uids["uids"] == "2,4" and uids["uidNext"] == 5 and "nextAfterUid" not in uids
    # RFC 7162: UID 3 went at a modseq above any the messages had before; none went since.
    gone = g.call("message.vanished", {"session": s, "mailbox": "INBOX", "sinceModseq": 1})
    assert gone["uids"] == "3" and gone["highestModseq"] == uids["highestModseq"]
    assert "uids" not in g.call("message.vanished", {"session": s, "mailbox": "INBOX", "sinceModseq": 1, "uids": "4:*"})
    assert "uids" not in g.call("message.vanished", {"session": s, "mailbox": "INBOX",
                                                     "sinceModseq": uids["highestModseq"]})
    expect_error("invalid_params", g.call, "message.vanished", {"session": s, "mailbox": "INBOX", "sinceModseq": -1})
    # RFC 5256 in the back-end. REVERSE reverses the key, not the sequence order that breaks
    # ties (§3): the three usually arrive in the same second, but need not (a loaded machine).
    arrived = {m["uid"]: m["internalDate"] for m in g.call("message.list", {"session": s, "mailbox": "INBOX"})["messages"]}
    by_arrival = g.call("message.sort", {"session": s, "mailbox": "INBOX", "keys": [{"key": "arrival", "reverse": True}]})
    assert by_arrival["uids"] == sorted(arrived, key=lambda uid: (-arrived[uid], uid)) and by_arrival["total"] == 3
    page = g.call("message.sort", {"session": s, "mailbox": "INBOX", "keys": [{"key": "subject"}],
                                   "query": {"not": {"uids": "2"}}, "offset": 1, "limit": 1})
    assert page == {"uids": [4], "total": 2, "highestModseq": page["highestModseq"]}
    expect_error("invalid_params", g.call, "message.sort", {"session": s, "mailbox": "INBOX", "keys": []})
    expect_error("invalid_params", g.call, "message.sort", {"session": s, "mailbox": "INBOX", "keys": [{"key": "colour"}]})
    threads = g.call("message.thread", {"session": s, "mailbox": "INBOX", "algorithm": "orderedsubject"})
    assert sorted(threads["uids"]) == [1, 2, 4] and threads["threads"] == 3 and set(threads["depths"]) == {0}
    expect_error("invalid_params", g.call, "message.thread", {"session": s, "mailbox": "INBOX", "algorithm": "random"})
    silent = g.call("message.flags", {"session": s, "mailbox": "INBOX", "uids": "1:*", "operation": "add",
                                      "flags": ["\\Flagged"], "silent": True})
    # Short, but with the modseq the change took (so a session knows its own change's event).
    assert silent == {"updated": [], "skipped": [], "modseq": uids["highestModseq"] + 1}
    listed = g.call("message.list", {"session": s, "mailbox": "INBOX", "fields": ["envelope"], "maxBytes": 1})
    assert len(listed["messages"]) == 1 and listed["nextAfterUid"] == 1
    assert listed["messages"][0]["envelope"]["subject"] == "report 1"
    # Protocol version 1 carries the same JSON as a string (README §11).
    v1 = Client(str(loft.data / "gateway.sock"), hello=False)
    assert v1.call("hello", {"version": 1, "software": "pytest"})["version"] == 1
    old = v1.call("message.list", {"session": s, "mailbox": "INBOX", "fields": ["envelope", "structure"], "maxBytes": 1})
    summary = old["messages"][0]
    assert json.loads(summary["envelope"]) == listed["messages"][0]["envelope"]
    assert json.loads(summary["structure"])["envelope"] == listed["messages"][0]["envelope"]
    v1.close()
    found = g.call("message.search", {"session": s, "mailbox": "INBOX", "query": {
        "and": [{"flag": "\\Flagged"}, {"not": {"flag": "\\Seen"}}, {"header": ["Subject", "REPORT"]}]}})
    assert found["uids"] == "2,4" and found["highestModseq"] >= 1
    assert "uids" not in g.call("message.search", {"session": s, "mailbox": "INBOX", "query": {"body": "no such words"}})
    expect_error("invalid_params", g.call, "message.search", {"session": s, "mailbox": "INBOX", "query": {"since": "yesterday"}})
    g.call("mailbox.subscribe", {"session": s, "mailbox": "Lists/Not yet", "subscribed": True})
    assert g.call("mailbox.subscriptions", {"session": s})["names"] == [
        "Archive", "Drafts", "INBOX", "Junk", "Lists/Not yet", "Sent", "Trash"]


def test_every_documented_method_is_exercised():
    """The suite drives every method the protocol document lists (issue 2)."""
    import pathlib
    here = pathlib.Path(__file__).resolve().parent
    doc = json.loads((here.parents[1] / "Protocol" / "openrpc.json").read_text())
    sources = "".join(p.read_text() for p in here.glob("*.py"))
    missing = [m["name"] for m in doc["methods"]
               if f'"{m["name"]}"' not in sources and m["name"] not in ("hello",)]
    assert missing == [], f"methods no end-to-end test calls: {missing}"


def scram_client(g, user, password, nonce="rOprNGfwEbeRWgbNEkqO", tamper=False):
    """SCRAM-SHA-256 as RFC 5802 §3 defines the client's side, to drive the back-end's."""
    import hashlib, hmac
    first_bare = f"n={user},r={nonce}"
    import random
    address = f"10.1.{random.randint(0, 255)}.{random.randint(1, 254)}"
    ch = g.call("auth.scram_begin", {"clientFirst": "n,," + first_bare, "clientAddress": address})
    attrs = dict(kv.split("=", 1) for kv in ch["serverFirst"].split(","))
    assert attrs["r"].startswith(nonce) and int(attrs["i"]) >= 4096
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{ch['serverFirst']},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    if tamper:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    r = g.call("auth.scram_finish", {"exchange": ch["exchange"],
                                     "clientFinal": f"{without_proof},p={base64.b64encode(proof).decode()}"})
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode()
    assert r["serverFinal"] == "v=" + expected  # the client can trust the server
    return r["session"]


def test_scram_sha256(setup, loft):
    g = loft.gateway()
    s = scram_client(g, "alice@example.test", "alice-pw")
    assert s["account"] == "alice@example.test" and g.call("session.info", {"session": s["session"]})
    expect_error("auth_failed", scram_client, g, "alice@example.test", "alice-pw", "abc", True)
    expect_error("auth_failed", scram_client, g, "alice@example.test", "wrong")
    expect_error("auth_failed", scram_client, g, "nobody@example.test", "x")  # indistinguishable from a wrong password
    expect_error("invalid_params", g.call, "auth.scram_begin", {"clientFirst": "p=tls-unique,,n=a,r=b"})
    expect_error("invalid_params", g.call, "auth.scram_finish", {"exchange": "nope", "clientFinal": "c=biws,r=x,p=AA=="})
    # an exchange belongs to the connection that began it
    ch = g.call("auth.scram_begin", {"clientFirst": "n,,n=alice@example.test,r=abc"})
    expect_error("invalid_params", loft.gateway().call, "auth.scram_finish", {"exchange": ch["exchange"], "clientFinal": "c=biws,r=x,p=AA=="})
    # a new password gives a new verifier
    setup.call("account.update", {"address": "alice@example.test", "password": "newer"})
    assert scram_client(loft.gateway(), "alice@example.test", "newer")["account"] == "alice@example.test"


def test_may_send_as(setup, loft):
    g, alice = login(loft, "alice@example.test", "alice-pw")
    setup.call("alias.add", {"address": "sales@example.test", "targets": ["alice@example.test", "bob@example.test"]})
    allowed = lambda a: g.call("auth.may_send_as", {"session": alice, "address": a})["allowed"]
    assert allowed("alice@example.test") and allowed("Alice@EXAMPLE.test") and allowed("alice+x@example.test")
    assert allowed("postmaster@example.test") and allowed("sales@example.test")  # aliases reaching alice
    assert not allowed("bob@example.test") and not allowed("team@example.test")  # another account; a group
    assert not allowed("alice@remote.test") and not allowed("not an address")


def test_directory_methods_over_the_sockets(setup, loft):
    """directory.list, directory.lookup and directory.version (§16) on gateway.sock, as `loft
    ldap` calls them; the relay's socket may not."""
    g = loft.gateway()
    version = g.call("directory.version", {})["version"]
    page = g.call("directory.list", {"limit": 2})
    assert page["version"] == version and page["domains"] == ["example.test"]
    assert [e["address"] for e in page["entries"]] == ["alice@example.test", "bob@example.test"]
    rest = g.call("directory.list", {"after": page["next"]})
    assert [e["address"] for e in rest["entries"]] == ["postmaster@example.test", "team@example.test"]
    assert "next" not in rest
    alias = g.call("directory.lookup", {"address": "Postmaster@example.test"})["entry"]
    assert alias["kind"] == "alias" and alias["members"] == ["alice@example.test"]
    assert "entry" not in g.call("directory.lookup", {"address": "nobody@example.test"})
    assert "bob-apop" not in json.dumps(page) and "quota" not in json.dumps(page)
    setup.call("account.update", {"address": "bob@example.test", "hiddenFromDirectory": True})
    assert g.call("directory.version", {})["version"] != version
    assert "entry" not in g.call("directory.lookup", {"address": "bob@example.test"})
    r = Client(str(loft.data / "relay.sock"))
    expect_error("permission_denied", r.call, "directory.list", {})
    expect_error("permission_denied", r.call, "directory.watch", {})
    r.close()
    g.close()


def test_directory_watch_announces_every_change(setup, loft):
    """directory.watch (§16): the version now, then one `directory.changed` per change on this
    connection, with the version directory.version answers afterwards; watching twice on one
    connection does not double the notifications, and a connection that does not watch hears
    nothing."""
    w = loft.gateway()
    quiet = loft.gateway()
    version = w.call("directory.watch", {})["version"]
    assert w.call("directory.watch", {})["version"] == version
    assert w.notifications == []
    setup.call("account.update", {"address": "bob@example.test", "displayName": "Robert"})
    # Sent before the change's caller was answered: already waiting on the watcher's socket.
    assert select.select([w.sock], [], [], 0)[0] == [w.sock]
    changed = w.wait_notification()
    assert changed["method"] == "directory.changed"
    now = w.call("directory.version", {})["version"]
    assert changed["params"]["version"] == now != version
    setup.call("alias.add", {"address": "robert@example.test", "targets": ["bob@example.test"]})
    second = w.wait_notification()
    assert second["params"]["version"] != now
    assert w.call("directory.version", {})["version"] == second["params"]["version"]
    assert w.notifications == []
    assert quiet.call("directory.version", {})["version"] == second["params"]["version"]
    assert quiet.notifications == []
    w.close()
    quiet.close()


def test_server_status_and_store_backup_over_rpc(setup, loft, tmp_path):
    """`server.status` and `store.backup` as a script calls them on admin.sock (issue 14);
    neither is on gateway.sock."""
    a = loft.admin()
    status = a.call("server.status", {})
    assert status["domains"] == 1 and status["accounts"] >= 2 and status["problems"] == []
    assert status["queue"]["messages"] == 0 and status["maxMessageBytes"] == 50 << 20
    bad = expect_error("invalid_params", a.call, "store.backup", {"directory": "relative/dir"})
    assert bad.error.get("data", {}).get("field") == "directory", bad.error
    done = a.call("store.backup", {"directory": str(tmp_path / "snap")})
    assert done["directory"] == str(tmp_path / "snap") and done["messages"] == status["messages"]
    assert json.loads((tmp_path / "snap" / "backup.json").read_text())["createdAt"] == done["createdAt"]
    expect_error("invalid_params", a.call, "store.backup", {"directory": str(tmp_path / "snap")})  # not empty now
    g = loft.gateway()
    expect_error("permission_denied", g.call, "server.status", {})
    g.close()
    a.close()
