#!/usr/bin/env python3
"""step03 in Python: connect, send MESSAGE (or stdin), shut down sending, print the reply.

A student's program in another language, for the checker's `-- CMD` target:

    cargo lab check 03 -- python3 tests/lab/other/step03_client.py

It takes the C original's arguments (`-H HOST`, `-p PORT`, `MESSAGE...`), prints
the same lines on stderr and exits with the same codes as step03-client/original.c:
a send loop (slide 29), shutdown(SHUT_WR) and recv until the server closes
(slide 31). Standard library only.
"""
import getopt
import os
import socket
import sys

PORT = 1234  # the lecture's port
SERVER = "127.0.0.1"  # slide 25 has 192.168.1.1; loopback works everywhere
BUF_SIZE = 65536  # how much of stdin or of the reply one call moves at most


def fail(call, err, code):
    """perror(call) and exit(code): Python's strerror text is glibc's."""
    print(f"{call}: {err.strerror}", file=sys.stderr, flush=True)
    sys.exit(code)


def usage():
    print(f"usage: {sys.argv[0]} [-H HOST] [-p PORT] [MESSAGE...]", file=sys.stderr, flush=True)
    sys.exit(64)  # EX_USAGE


def parse_args():
    host, port = SERVER, PORT
    try:
        opts, message = getopt.gnu_getopt(sys.argv[1:], "H:p:")
    except getopt.GetoptError:
        usage()
    for opt, value in opts:
        if opt == "-H":
            host = value
        elif not (value.isascii() and value.isdigit()) or int(value) > 65535:
            usage()
        else:
            port = int(value)
    return host, port, message


def server_address(host):
    """inet_aton first (glibc's, as in the C); a typo that starts with a digit is
    exit 10; any other name goes to the resolver, whose failure is exit 10 too."""
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        pass
    if host[:1].isdigit():
        print(f"inet_aton: invalid address '{host}'", file=sys.stderr, flush=True)
        sys.exit(10)
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as err:
        print(f"getaddrinfo: {err.strerror}", file=sys.stderr, flush=True)
        sys.exit(10)
    return infos[0][4][0]


def sendall(fd, data, total):
    """send until every byte has gone (slide 29); Python retries EINTR itself.
    On an error, say how many bytes went in all, and exit 7."""
    transferred = 0
    while transferred < len(data):
        try:
            transferred += fd.send(data[transferred:], socket.MSG_NOSIGNAL)
        except OSError as err:
            print(
                f"send: {err.strerror} (after {total + transferred} bytes)",
                file=sys.stderr,
                flush=True,
            )
            sys.exit(7)
    return total + transferred


def write_all(data):
    """write(2) on descriptor 1 until every byte is out."""
    while data:
        try:
            n = os.write(1, data)
        except OSError as err:
            fail("write", err, 1)
        data = data[n:]


def main():
    host, port, message = parse_args()

    # socket: a TCP endpoint for IPv4 (slide 25)
    try:
        fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as err:
        fail("socket", err, 1)

    # connect: the three-way handshake with the server (slides 19, 27)
    try:
        fd.connect((server_address(host), port))
    except OSError as err:
        fail("connect", err, 2)
    print("Success!", file=sys.stderr, flush=True)

    # send: the words joined by spaces plus a newline, or else all of stdin
    total = 0
    if message:
        # the argument bytes as given (fsencode undoes Python's decoding)
        words = b" ".join(os.fsencode(word) for word in message)
        total = sendall(fd, words + b"\n", total)
    else:
        while True:
            try:
                chunk = os.read(0, BUF_SIZE)
            except OSError as err:
                fail("read", err, 1)
            if not chunk:
                break
            total = sendall(fd, chunk, total)

    # The right way to close (slide 31): shutdown(SHUT_WR), recv until the
    # server closes, close
    try:
        fd.shutdown(socket.SHUT_WR)
    except OSError as err:
        fail("shutdown", err, 7)
    while True:
        try:
            buffer = fd.recv(BUF_SIZE)
        except OSError as err:
            fail("recv", err, 6)
        if not buffer:
            break
        write_all(buffer)
    fd.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
