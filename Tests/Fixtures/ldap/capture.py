#!/usr/bin/env python3
"""Records what a real LDAP client and server say to each other, for LDAPCodecTests' fixtures.

A proxy on 127.0.0.1:LISTEN that forwards one connection at a time to the server at
UPSTREAM and prints, per connection, each direction's bytes as hex (the client's as `C:`, the
server's as `S:`), one read per line. Usage:

    python3 capture.py LISTEN UPSTREAM_PORT &
    ldapsearch -H ldap://127.0.0.1:LISTEN -x -b dc=example,dc=org '(cn=*ali*)' cn mail
"""
import select
import socket
import sys


def relay(client: socket.socket, upstream_port: int) -> None:
    server = socket.create_connection(("127.0.0.1", upstream_port))
    peers = {client: (server, "C"), server: (client, "S")}
    while True:
        readable, _, _ = select.select(list(peers), [], [], 5)
        if not readable:
            break
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                print("--", flush=True)
                return
            other, label = peers[sock]
            print(f"{label}: {data.hex()}", flush=True)
            other.sendall(data)


def main() -> None:
    listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(1)
    while True:
        client, _ = listener.accept()
        with client:
            relay(client, upstream_port)


if __name__ == "__main__":
    main()
