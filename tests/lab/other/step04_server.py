#!/usr/bin/env python3
"""step04 in Python: a forking server that answers one-line requests.

A student's program in another language, for the checker's `-- CMD` target:

    cargo lab check 04 -- python3 tests/lab/other/step04_server.py

It takes the C original's flags (`-p PORT`, `-b ADDR`, `-m MAX_CLIENTS`,
`-t TIMEOUT`), prints the same lines on stderr and exits with the same codes as
step04-respond/original.c: the parent accepts and forks a child per connection
(os.fork), closes its copy of the connection and goes back to accept; the child
closes the listening socket and answers ECHO, TIME, PING, HELP and QUIT, one
line each, until the client leaves. A SIGCHLD handler reaps every child that
has ended (waitpid with WNOHANG, in a loop). Standard library only.
"""
import getopt
import os
import signal
import socket
import sys
import time

PORT = 1234  # the lecture's port
QLEN = 10  # slide 50
MAX_LINE = 1024  # a request line, without its LF or CRLF
BUF_SIZE = 4096  # at most this much per recv
LINGER_TIME = 2.0  # the right way to close waits this long in all for the FIN,
LINGER_TIMEOUT = 1.0  # and this long per recv
BUSY = b"ERR Service temporarily unavailable\r\n"
HELP = b"commands: ECHO <text>, TIME, PING, HELP, QUIT"

children = 0  # children alive: +1 after fork in the parent, -1 in the handler


def fail(call, err, code):
    """perror(call) and exit(code): Python's strerror text is glibc's."""
    print(f"{call}: {err.strerror}", file=sys.stderr, flush=True)
    sys.exit(code)


def usage():
    print(
        f"usage: {sys.argv[0]} [-p PORT] [-b ADDR] [-m MAX_CLIENTS] [-t TIMEOUT]",
        file=sys.stderr,
        flush=True,
    )
    sys.exit(64)  # EX_USAGE


def parse_number(arg, largest):
    if not (arg.isascii() and arg.isdigit()) or int(arg) > largest:
        usage()
    return int(arg)


def parse_args():
    port, bind_to, max_clients, timeout = PORT, "0.0.0.0", 64, 30
    try:
        opts, rest = getopt.gnu_getopt(sys.argv[1:], "p:b:m:t:")
    except getopt.GetoptError:
        usage()
    for opt, value in opts:
        if opt == "-p":
            port = parse_number(value, 65535)
        elif opt == "-b":
            bind_to = value
        elif opt == "-m":
            max_clients = parse_number(value, 100000)
        else:
            timeout = parse_number(value, 86400)
    if rest or max_clients < 1:
        usage()
    return port, bind_to, max_clients, timeout


def inet_aton(address):
    """The address in dotted form, or the C original's message and exit 10."""
    try:
        return socket.inet_ntoa(socket.inet_aton(address))
    except OSError:
        print(f"inet_aton: invalid address '{address}'", file=sys.stderr, flush=True)
        sys.exit(10)


def on_sigchld(signum, frame):
    """Reap every child that has ended, without blocking (slide 50; the slide's
    wait(NULL) loop would block here while other children live). Python runs
    this between two bytecodes of the main program, not inside a system call."""
    global children
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:  # no children at all
            return
        if pid == 0:  # the others are still running
            return
        children -= 1


def respond(line):
    """The reply to one request line (without its line ending), and whether
    the client asked to QUIT."""
    verb = line.split(b" ", 1)[0].upper()
    if verb == b"ECHO":
        return line[5:], False  # what follows "ECHO "; "ECHO" alone: empty
    if verb == b"TIME":
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode(), False
    if verb == b"PING":
        return b"PONG", False
    if verb == b"HELP":
        return HELP, False
    if verb == b"QUIT":
        return b"BYE", True
    return b"ERR unknown command", False


def answer(line, out):
    """Append the reply to a complete line to out; True when the conversation ends."""
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > MAX_LINE:
        out += b"ERR line too long\r\n"
        return True
    reply, quit = respond(line)
    out += reply + b"\r\n"  # every reply ends in CRLF
    return quit


def close_gracefully(conn):
    """The right way to close (slide 31): done sending, read until the client
    is done (for LINGER_TIME at most), close."""
    try:
        conn.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_TIME
        while True:
            left = min(deadline - time.monotonic(), LINGER_TIMEOUT)
            if left <= 0:
                break
            conn.settimeout(left)
            if not conn.recv(BUF_SIZE):
                break
    except OSError:  # a timeout, or a reset: the client has its replies
        pass
    conn.close()


def serve_client(conn, timeout):
    """The child's whole job; returns its exit status (6: recv failed, 7: send)."""
    conn.settimeout(timeout or None)  # an idle client is dropped after timeout
    line = bytearray()
    while True:
        try:
            data = conn.recv(BUF_SIZE)
        except TimeoutError:
            conn.close()  # idle too long
            return 0
        except OSError as err:
            print(f"recv: {err.strerror}", file=sys.stderr, flush=True)
            conn.close()
            return 6
        out = bytearray()
        done = False
        for byte in data:  # every byte used once, by count
            if byte != 0x0A:
                if len(line) == MAX_LINE + 1:  # even minus a CR: too long
                    out += b"ERR line too long\r\n"
                    done = True
                    break
                line.append(byte)
                continue
            done = answer(bytes(line), out)
            line.clear()
            if done:
                break
        if not data and line:  # the client left: an unterminated last line
            answer(bytes(line), out)
        try:
            if out:
                conn.sendall(out)
        except OSError as err:
            print(f"send: {err.strerror}", file=sys.stderr, flush=True)
            conn.close()
            return 7
        if not data or done:
            close_gracefully(conn)
            return 0


def refuse(conn):
    """Beyond the slides: max_clients children busy: answer without forking."""
    try:
        conn.sendall(BUSY)
        conn.shutdown(socket.SHUT_WR)
        conn.setblocking(False)
        while conn.recv(BUF_SIZE):
            pass
    except OSError:
        pass
    conn.close()


def main():
    global children
    port, bind_to, max_clients, timeout = parse_args()
    # Ctrl-C and SIGTERM end the server with exit 0
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: os._exit(0))
    # SIGCHLD: reap children as they exit, or they stay zombies (slide 50). An
    # accept() it interrupts is retried by Python (PEP 475), as SA_RESTART does.
    signal.signal(signal.SIGCHLD, on_sigchld)

    # socket, setsockopt(SO_REUSEADDR), bind, listen: as in step01
    try:
        fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as err:
        fail("socket", err, 1)
    try:
        fd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    except OSError as err:
        fail("setsockopt", err, 1)
    my_address = (inet_aton(bind_to), port)
    try:
        fd.bind(my_address)
    except OSError as err:
        fail("bind", err, 2)
    try:
        fd.listen(QLEN)
    except OSError as err:
        fail("listen", err, 3)
    address, port = fd.getsockname()
    print(f"listening on {address}:{port}", file=sys.stderr, flush=True)

    while True:
        # accept: the next client (slide 50); one failed accept does not end it
        try:
            conn, (address, port) = fd.accept()
        except OSError as err:
            print(f"accept: {err.strerror}", file=sys.stderr, flush=True)
            continue
        if children >= max_clients:
            refuse(conn)
            continue
        # fork: a child process for this client (slides 49, 51-53)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as err:
            print(f"fork: {err.strerror}", file=sys.stderr, flush=True)
            refuse(conn)
            continue
        if pid == 0:
            # The child does not accept: it closes its copy of the listening
            # socket, serves, and leaves with os._exit (not the parent's cleanup)
            fd.close()
            os._exit(serve_client(conn, timeout))
        # The parent: the child has the connection now; closing our copy lets
        # the client see it close, and keeps the parent's descriptors few
        children += 1
        print(f"Connection from: {address}:{port} (pid {pid})", file=sys.stderr, flush=True)
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
