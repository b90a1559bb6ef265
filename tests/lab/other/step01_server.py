#!/usr/bin/env python3
"""step01 in Python: open a port, accept one connection, say who it was, close.

A student's program in another language, for the checker's `-- CMD` target:

    cargo lab check 01 -- python3 tests/lab/other/step01_server.py

It takes the C original's flags (`-p PORT`, `-b ADDR`), prints the same lines on
stderr and exits with the same codes as step01-open-port/original.c, making the
same calls through Python's socket module (standard library only).
"""
import getopt
import os
import signal
import socket
import sys

PORT = 1234  # the lecture's port; 0 lets the kernel choose (slide 18)
BACKLOG = 5  # slide 20: "usually 5...10"


def fail(call, err, code):
    """perror(call) and exit(code): Python's strerror text is glibc's."""
    print(f"{call}: {err.strerror}", file=sys.stderr, flush=True)
    sys.exit(code)


def usage():
    print(f"usage: {sys.argv[0]} [-p PORT] [-b ADDR]", file=sys.stderr, flush=True)
    sys.exit(64)  # EX_USAGE


def parse_port(arg):
    if not (arg.isascii() and arg.isdigit()) or int(arg) > 65535:
        usage()
    return int(arg)


def parse_args():
    port, bind_to = PORT, "0.0.0.0"
    try:
        opts, rest = getopt.gnu_getopt(sys.argv[1:], "p:b:")
    except getopt.GetoptError:
        usage()
    for opt, value in opts:
        if opt == "-p":
            port = parse_port(value)
        else:
            bind_to = value
    if rest:
        usage()
    return port, bind_to


def inet_aton(address):
    """The address in dotted form, or the C original's message and exit 10.
    socket.inet_aton is glibc's inet_aton: it accepts what the C accepts."""
    try:
        return socket.inet_ntoa(socket.inet_aton(address))
    except OSError:
        print(f"inet_aton: invalid address '{address}'", file=sys.stderr, flush=True)
        sys.exit(10)


def main():
    port, bind_to = parse_args()
    # Ctrl-C and SIGTERM end the server with exit 0, as in the C original
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: os._exit(0))

    # socket: a TCP endpoint for IPv4 (slide 17)
    try:
        fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as err:
        fail("socket", err, 1)
    # setsockopt(SO_REUSEADDR): restart at once, even during TIME_WAIT
    try:
        fd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    except OSError as err:
        fail("setsockopt", err, 1)

    # bind, listen (slides 18-23); Python fills the sockaddr_in, htons included
    own_address = (inet_aton(bind_to), port)
    try:
        fd.bind(own_address)
    except OSError as err:
        fail("bind", err, 2)
    try:
        fd.listen(BACKLOG)
    except OSError as err:
        fail("listen", err, 3)
    address, port = fd.getsockname()
    print(f"listening on {address}:{port}", file=sys.stderr, flush=True)

    # accept: one client (slides 21, 24); the address comes back ntohs'ed
    try:
        connectionfd, (address, port) = fd.accept()
    except OSError as err:
        fail("accept", err, 4)
    print(f"Connection from: {address}:{port}", file=sys.stderr, flush=True)

    # close: the conversation, then the listening socket (slide 24)
    connectionfd.close()
    fd.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
