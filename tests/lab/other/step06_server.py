#!/usr/bin/env python3
"""step06 in Python: a forking server that answers GET and HEAD with files.

A student's program in another language, for the checker's `-- CMD` target:

    cargo lab check 06 -- python3 tests/lab/other/step06_server.py

It takes the C original's flags (`-p PORT`, `-b ADDR`, `-r ROOT`) and prints the
same `listening on` line, but is written otherwise than step06-fileserver/original.c:
children are reaped by ignoring SIGCHLD (the kernel then leaves no zombie), the
path is confined to the root with realpath rather than by refusing "/.", the
Content-Type comes from the mimetypes module, the file goes out with
socket.sendfile, and the answer is HTTP/1.1 with "Connection: close".
Standard library only.
"""
import getopt
import mimetypes
import os
import signal
import socket
import sys

PORT = 1234  # the lecture's port
QLEN = 10  # slide 50
HEAD_MAX = 8192  # the longest request head read


def usage():
    print(f"usage: {sys.argv[0]} [-p PORT] [-b ADDR] [-r ROOT]", file=sys.stderr, flush=True)
    sys.exit(64)  # EX_USAGE


def parse_args():
    port, bind_to, root = PORT, "0.0.0.0", "."
    try:
        opts, rest = getopt.gnu_getopt(sys.argv[1:], "p:b:r:")
    except getopt.GetoptError:
        usage()
    for opt, value in opts:
        if opt == "-p":
            if not (value.isascii() and value.isdigit()) or int(value) > 65535:
                usage()
            port = int(value)
        elif opt == "-b":
            bind_to = value
        else:
            root = value
    if rest:
        usage()
    return port, bind_to, os.path.realpath(root)


def answer(conn, status, fields, body=b""):
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields)
    conn.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)


def error(conn, status, head_only=False, allow=False):
    body = (status + "\n").encode()
    fields = [("Content-Type", "text/plain"), ("Content-Length", len(body))]
    if allow:
        fields.append(("Allow", "GET, HEAD"))
    answer(conn, status, fields, b"" if head_only else body)


def read_head(conn):
    """Bytes until the empty line that ends the request head (or HEAD_MAX)."""
    head = b""
    while b"\r\n\r\n" not in head and b"\n\n" not in head and len(head) < HEAD_MAX:
        chunk = conn.recv(HEAD_MAX - len(head))
        if not chunk:
            return None
        head += chunk
    return head


def find_file(root, target):
    """The file a target names under root, or None when it is not there or not inside."""
    path = target.split("?", 1)[0]
    if path.endswith("/"):
        path += "index.html"
    full = os.path.realpath(os.path.join(root, path.lstrip("/")))
    if os.path.commonpath([root, full]) != root or not os.path.isfile(full):
        return None
    return full


def serve(conn, root):
    head = read_head(conn)
    if head is None:
        return
    words = head.split(b"\n", 1)[0].decode("latin-1").split()
    if len(words) != 3 or not words[2].startswith("HTTP/1."):
        return error(conn, "400 Bad Request")
    method, target = words[0], words[1]
    if method not in ("GET", "HEAD"):
        return error(conn, "405 Method Not Allowed", allow=True)
    head_only = method == "HEAD"
    path = find_file(root, target) if target.startswith("/") else None
    if path is None:
        return error(conn, "404 Not Found", head_only)
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        answer(conn, "200 OK", [("Content-Type", kind), ("Content-Length", size)])
        if not head_only:
            conn.sendfile(f)
    # The right way to close: no more from us, then wait for the client's end.
    conn.shutdown(socket.SHUT_WR)
    while conn.recv(4096):
        pass


def main():
    port, bind_to, root = parse_args()
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # Ignored SIGCHLD: the kernel reaps the children itself (POSIX.1-2001).
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        fd.bind((bind_to, port))
    except OSError as err:
        print(f"bind: {err.strerror}", file=sys.stderr, flush=True)
        sys.exit(2)
    fd.listen(QLEN)
    host, real_port = fd.getsockname()
    print(f"listening on {host}:{real_port}", file=sys.stderr, flush=True)
    while True:
        conn, _ = fd.accept()
        if os.fork() == 0:
            fd.close()
            try:
                serve(conn, root)
            except OSError:
                os._exit(7)
            os._exit(0)
        conn.close()


if __name__ == "__main__":
    main()
