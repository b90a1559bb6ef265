#!/usr/bin/env python3
"""Step 01 in Python: open a port, accept one connection, say who it was, exit 0.

A student program in another language, for `cargo lab check 01 -- python3 THIS`:
the checker appends the C original's flags (-p PORT) and checks it as a black box.
The calls are the lecture's (socket, setsockopt, bind, listen, accept, close), made
through Python's socket module, which wraps the same C calls.
"""
import argparse
import socket
import sys


def main():
    parser = argparse.ArgumentParser(description="step01: open a port")
    parser.add_argument("-p", dest="port", type=int, default=1234)
    parser.add_argument("-b", dest="bind", default="0.0.0.0")
    args = parser.parse_args()

    # socket: a TCP endpoint for IPv4 (slide 17)
    fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # SO_REUSEADDR: restart at once while old connections sit in TIME_WAIT
    fd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # bind and listen (slides 18, 20, 23); Python does htons for us
    try:
        fd.bind((args.bind, args.port))
    except OSError as e:
        print(f"bind: {e.strerror}", file=sys.stderr)
        sys.exit(2)
    fd.listen(5)
    host, port = fd.getsockname()
    print(f"listening on {host}:{port}", file=sys.stderr, flush=True)

    # accept one connection and say who it was (slides 21, 24); Python does ntohs
    connectionfd, (ip, client_port) = fd.accept()
    print(f"Connection from: {ip}:{client_port}", file=sys.stderr, flush=True)

    # close: the conversation, then the listening socket (slide 24)
    connectionfd.close()
    fd.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
