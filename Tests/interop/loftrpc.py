"""A small JSON-RPC 2.0 client for Loft's back-end sockets, written from Protocol/README.md.

Used by the end-to-end tests to drive the running back-end the way any script would.
"""
import base64
import itertools
import json
import socket


class RPCError(Exception):
    def __init__(self, error):
        super().__init__(f"{error.get('message')} [{error.get('data', {}).get('kind')}]")
        self.error = error
        self.code = error.get("code")
        self.kind = error.get("data", {}).get("kind")
        self.data = error.get("data", {})


class Client:
    def __init__(self, path, hello=True, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.ids = itertools.count(1)
        self.notifications = []
        if hello:
            self.call("hello", {"version": 2, "software": "pytest"})

    def close(self):
        self.sock.close()

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def read_response(self):
        while True:
            msg = self.read_line()
            if "id" not in msg and "method" in msg:
                self.notifications.append(msg)
                continue
            return msg

    def request(self, method, params=None):
        rid = next(self.ids)
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        return rid

    def call(self, method, params=None):
        rid = self.request(method, params)
        resp = self.read_response()
        assert resp.get("id") == rid, resp
        if "error" in resp:
            raise RPCError(resp["error"])
        return resp["result"]

    def wait_notification(self):
        if self.notifications:
            return self.notifications.pop(0)
        while True:
            msg = self.read_line()
            if "id" not in msg and "method" in msg:
                return msg
            raise AssertionError(f"unexpected response {msg}")

    # Conveniences over the chunked upload protocol.
    def upload(self, upload_id, data: bytes, chunk=1 << 20):
        for i in range(0, len(data), chunk):
            self.call("upload.append", {"upload": upload_id, "data": base64.b64encode(data[i:i + chunk]).decode()})
        return self.call("upload.commit", {"upload": upload_id})

    def deliver(self, sender, recipients, data: bytes, **extra):
        started = self.call("delivery.begin", {"sender": sender, "recipients": recipients, **extra})
        return self.upload(started["upload"], data)

    def read_all(self, session, mailbox, uid, part=None, section=None):
        out = b""
        while True:
            params = {"session": session, "mailbox": mailbox, "uid": uid, "offset": len(out)}
            if part:
                params["part"] = part
            if section:
                params["section"] = section
            r = self.call("message.read", params)
            out += base64.b64decode(r["data"])
            if len(out) >= r["total"] or not r["data"]:
                return out
