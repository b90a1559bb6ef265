#!/usr/bin/env python3
"""step02 in Python: an iterative server that copies what it receives to stdout.

A student's program in another language, for the checker's `-- CMD` target:

    cargo lab check 02 -- python3 tests/lab/other/step02_server.py

It takes the C original's flags (`-p PORT`, `-b ADDR`, `-B BUF_SIZE`, `-o`),
prints the same lines on stderr and exits with the same codes as
step02-receive/original.c: one client at a time, every received byte to stdout
with write(2) (no stdio buffer, NUL bytes included), "Connection closed" when
recv returns 0, then the next client. Standard library only.
"""
import getopt
import os
import signal
import socket
import sys

PORT = 1234  # the lecture's port
BACKLOG = 5  # slide 20
BUF_SIZE = 5  # the slides' char buffer[5]: one line arrives in several recv calls


def fail(call, err, code):
    """perror(call) and exit(code): Python's strerror text is glibc's."""
    print(f"{call}: {err.strerror}", file=sys.stderr, flush=True)
    sys.exit(code)


def usage():
    print(
        f"usage: {sys.argv[0]} [-p PORT] [-b ADDR] [-B BUF_SIZE] [-o]",
        file=sys.stderr,
        flush=True,
    )
    sys.exit(64)  # EX_USAGE


def parse_number(arg, largest):
    if not (arg.isascii() and arg.isdigit()) or int(arg) > largest:
        usage()
    return int(arg)


def parse_args():
    port, bind_to, bufsize, once = PORT, "0.0.0.0", BUF_SIZE, False
    try:
        opts, rest = getopt.gnu_getopt(sys.argv[1:], "p:b:B:o")
    except getopt.GetoptError:
        usage()
    for opt, value in opts:
        if opt == "-p":
            port = parse_number(value, 65535)
        elif opt == "-b":
            bind_to = value
        elif opt == "-B":
            bufsize = parse_number(value, 16 << 20)
        else:
            once = True
    if rest or bufsize == 0:
        usage()
    return port, bind_to, bufsize, once


def inet_aton(address):
    """The address in dotted form, or the C original's message and exit 10."""
    try:
        return socket.inet_ntoa(socket.inet_aton(address))
    except OSError:
        print(f"inet_aton: invalid address '{address}'", file=sys.stderr, flush=True)
        sys.exit(10)


def write_all(data):
    """write(2) on descriptor 1 until every byte is out: no buffer holds them back.
    Python ignores SIGPIPE, so a reader that went away is an error here."""
    while data:
        try:
            n = os.write(1, data)
        except OSError as err:
            fail("write", err, 1)
        data = data[n:]


def main():
    port, bind_to, bufsize, once = parse_args()
    failed = False
    # Ctrl-C and SIGTERM end the server with exit 0; what was received is
    # already on stdout, write(2) does not buffer
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: os._exit(0))

    # socket, setsockopt(SO_REUSEADDR), bind, listen: as in step01
    try:
        fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as err:
        fail("socket", err, 1)
    try:
        fd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    except OSError as err:
        fail("setsockopt", err, 1)
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

    # The iterative server: one client at a time, the others wait in the queue
    while True:
        try:
            connectionfd, (address, port) = fd.accept()
        except OSError as err:
            fail("accept", err, 4)
        print(f"Connection from: {address}:{port}", file=sys.stderr, flush=True)

        # recv until the client closes: recv returns no bytes (slide 26)
        while True:
            try:
                buffer = connectionfd.recv(bufsize)
            except OSError as err:
                # A failed recv loses this connection, not the server
                print(f"recv: {err.strerror}", file=sys.stderr, flush=True)
                failed = True
                break
            if not buffer:
                print(f"Connection closed: {address}:{port}", file=sys.stderr, flush=True)
                break
            write_all(buffer)  # exactly the bytes recv returned
        connectionfd.close()
        if once:
            break

    fd.close()
    return 6 if once and failed else 0


if __name__ == "__main__":
    sys.exit(main())
