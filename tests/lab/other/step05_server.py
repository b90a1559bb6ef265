#!/usr/bin/env python3
"""step05 in Python: step04's server as a daemon.

A student's program in another language, for the checker's `-- CMD` target:

    cargo lab check 05 -- python3 tests/lab/other/step05_server.py

It takes the C original's flags (`-p PORT`, `-b ADDR`, `-f`) and serves as
step04_server.py does (imported from beside it: the same protocol, the same
children). Written differently from step05-daemon/original.c on purpose, in
one respect a daemon may choose: it opens the listening socket before it
detaches, so a port already taken is the command's own error, on the terminal,
exit 2; the daemon inherits the socket. Then the lecture's routine, in its
order: fork (the parent exits 0), umask, openlog, setsid, fork again, chdir("/"),
descriptors 0-2 onto /dev/null; from then on every event goes to syslog as
step05-daemon[PID]. With -f it stays in the foreground and its records are
copied to stderr (LOG_PERROR), as the C original's are. Standard library only.
"""
import getopt
import os
import signal
import socket
import sys
import syslog

import step04_server as step04

NAME = "step05-daemon"
MAX_CLIENTS = 64
TIMEOUT = 30


def usage():
    print(f"usage: {sys.argv[0]} [-p PORT] [-b ADDR] [-f]", file=sys.stderr, flush=True)
    sys.exit(64)  # EX_USAGE


def parse_args():
    port, bind_to, foreground = step04.PORT, "0.0.0.0", False
    try:
        opts, rest = getopt.gnu_getopt(sys.argv[1:], "p:b:f")
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
            foreground = True
    if rest:
        usage()
    return port, bind_to, foreground


def listening_socket(bind_to, port):
    """socket, SO_REUSEADDR, bind, listen, as step04; errors on the terminal."""
    try:
        fd = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        fd.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    except OSError as err:
        step04.fail("socket", err, 1)
    try:
        fd.bind((step04.inet_aton(bind_to), port))
    except OSError as err:
        step04.fail("bind", err, 2)
    try:
        fd.listen(socket.SOMAXCONN)
    except OSError as err:
        step04.fail("listen", err, 3)
    return fd


def become_daemon():
    """The daemon routine (slides 35-43)."""
    # Fork off the parent process: the shell gets its prompt back (slide 37)
    if os.fork() > 0:
        os._exit(0)
    # The file mode mask (slide 38): 027, not the slide's 0
    os.umask(0o027)
    # The logs, named, with our pid in each record (slide 39)
    syslog.openlog(NAME, syslog.LOG_PID, syslog.LOG_DAEMON)
    # A session of our own, no controlling terminal (slide 41)
    try:
        os.setsid()
    except OSError as err:
        syslog.syslog(syslog.LOG_ERR, f"setsid: {err.strerror}")
        os._exit(1)
    # Fork again: no session leader can acquire a terminal by opening one
    if os.fork() > 0:
        os._exit(0)
    # A directory that always exists (slide 42)
    os.chdir("/")
    # 0, 1 and 2 onto /dev/null, not closed (slide 43 closes them: the next
    # socket would become descriptor 0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


def main():
    port, bind_to, foreground = parse_args()
    fd = listening_socket(bind_to, port)
    if foreground:
        syslog.openlog(NAME, syslog.LOG_PID | syslog.LOG_PERROR, syslog.LOG_DAEMON)
    else:
        sys.stdout.flush()
        sys.stderr.flush()
        become_daemon()
    # SIGTERM and SIGINT stop it, logged; SIGHUP has nothing to reload
    def stop(signum, frame):
        syslog.syslog(syslog.LOG_INFO, f"received {signal.Signals(signum).name}: stopping")
        os._exit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    signal.signal(
        signal.SIGHUP, lambda *_: syslog.syslog(syslog.LOG_INFO, "received SIGHUP: nothing to reload")
    )
    signal.signal(signal.SIGCHLD, step04.on_sigchld)
    address, port = fd.getsockname()
    # Writing through syslog (slide 40)
    syslog.syslog(syslog.LOG_INFO, f"listening on {address}:{port}")

    while True:
        try:
            conn, (address, port) = fd.accept()
        except OSError as err:
            syslog.syslog(syslog.LOG_ERR, f"accept: {err.strerror}")
            continue
        if step04.children >= MAX_CLIENTS:
            step04.refuse(conn)
            continue
        try:
            pid = os.fork()
        except OSError as err:
            syslog.syslog(syslog.LOG_ERR, f"fork: {err.strerror}")
            step04.refuse(conn)
            continue
        if pid == 0:
            fd.close()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            os._exit(step04.serve_client(conn, TIMEOUT))
        step04.children += 1
        syslog.syslog(syslog.LOG_INFO, f"Connection from: {address}:{port} (pid {pid})")
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
