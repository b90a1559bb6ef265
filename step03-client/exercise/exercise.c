/*
 * step03-client/exercise/exercise.c: the exercise of step 03 (slides 25-31).
 * Make the lecture's client: connect to a server, send a message (or all of
 * stdin), tell the server you are done sending, print its reply until it
 * closes, exit. Options, the server's address (inet_aton), the messages and
 * the exit codes are given; the socket calls are your task: the numbered
 * TODOs [1] to [6], in the order the program runs them ([3] is in sendall,
 * above main), each naming the slide that shows how.
 *
 * Start:  cargo lab start 03 --c   (your copy: work/step03-client/exercise.c)
 * Build:  cc -std=c11 -Wall -Wextra -o step03 exercise.c
 * Run:    ./step03 -H 127.0.0.1 -p 1234 hello there
 *         with a server listening, e.g. step02: cargo run -q -p step02-receive
 * Check:  cargo lab check 03       (cargo lab watch 03: again on every save)
 *
 * As shipped it compiles, with warnings about what the TODOs will use (fd and
 * data in sendall, write_all), prints "Success!" without having connected, and
 * stops with "send: ... (after 0 bytes)", exit 7: there is no connection yet.
 * The solution is step03-client/original.c; this file differs from it only
 * where the TODOs are (and in this comment).
 */
#define _DEFAULT_SOURCE /* inet_aton, getaddrinfo and getopt are not in plain C11 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The lecture's port and server (slide 25 has "192.168.1.1"; loopback works
 * on every machine). */
static const unsigned short int PORT = 1234;
static const char *SERVER = "127.0.0.1";
/* How much of the reply (or of stdin) one call moves at most. */
#define BUF_SIZE 65536

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-H HOST] [-p PORT] [MESSAGE...]\n", prog);
    exit(64); /* EX_USAGE */
}

static unsigned short parse_port(const char *arg, const char *prog)
{
    char *end;
    errno = 0;
    unsigned long value = strtoul(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || value > 65535 || arg[0] == '-')
        usage(prog);
    return (unsigned short)value;
}

/* sendall (slide 29), corrected. Slide bug: the slide declares it with three
 * parameters and calls it with four, spells the counter both "transfered" and
 * "transferred", and does not retry a send interrupted by a signal (EINTR).
 * Returns 0 when every byte went, -1 on error; *len says how many went. */
static int sendall(int fd, const char *data, size_t *len)
{
    size_t transferred = 0; /* bytes already sent */
    /* TODO (slide 29): [3] send data on fd until all *len bytes have gone,
     * counting in transferred what each send took. A send interrupted by a
     * signal (EINTR) is tried again; any other failure ends the loop.
     * Beyond the slides: flags MSG_NOSIGNAL make a vanished server an EPIPE
     * error instead of a SIGPIPE that kills the program. */
    int complete = transferred == *len;
    *len = transferred; /* number of bytes successfully transferred */
    return complete ? 0 : -1;
}

/* Send data with sendall; on error say how far it got, and exit 7. */
static void send_or_exit(int fd, const char *data, size_t len, size_t *total)
{
    size_t sent = len;
    if (sendall(fd, data, &sent) == -1) {
        fprintf(stderr, "send: %s (after %zu bytes)\n", strerror(errno), *total + sent);
        exit(7);
    }
    *total += sent;
}

/* Beyond the slides: write(2) may write fewer bytes than asked; loop. */
static void write_all(int fd, const char *data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            perror("write");
            exit(1);
        }
        done += (size_t)n;
    }
}

int main(int argc, char *argv[])
{
    int fd = -1; /* -1: no socket until TODO [1] */
    struct sockaddr_in remoteAddress;
    static char buffer[BUF_SIZE];
    unsigned short port = PORT;
    const char *host = SERVER;
    int opt;

    while ((opt = getopt(argc, argv, "H:p:")) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'p': port = parse_port(optarg, argv[0]); break;
        default: usage(argv[0]);
        }
    }

    /* socket: a TCP endpoint for IPv4 (slide 25) */
    /* TODO (slide 25): [1] make fd a TCP socket for IPv4
     * (if that fails: perror("socket"), exit 1) */

    /* struct sockaddr_in of the server, network byte order (slide 27).
     * Slide bug (slide 11 says so itself): inet_addr cannot tell an error from
     * 255.255.255.255; inet_aton can. */
    memset(&remoteAddress, 0, sizeof remoteAddress);
    remoteAddress.sin_family = AF_INET;
    remoteAddress.sin_port = htons(port);
    if (!inet_aton(host, &remoteAddress.sin_addr)) {
        if (isdigit((unsigned char)host[0])) {
            fprintf(stderr, "inet_aton: invalid address '%s'\n", host);
            exit(10);
        }
        /* Beyond the slides: a name such as "localhost" goes to the system
         * resolver; we take its first IPv4 address. */
        struct addrinfo hints, *res;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        int rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc != 0) {
            fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(rc));
            exit(10);
        }
        remoteAddress.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
        freeaddrinfo(res);
    }

    /* connect: the three-way handshake with the server (slides 19, 27) */
    /* TODO (slide 27): [2] connect fd to the server at remoteAddress
     * (if that fails: perror("connect"), exit 2) */
    fprintf(stderr, "Success!\n");

    /* send: the words of MESSAGE joined by spaces plus a newline, or else all of
     * stdin until end of file; sendall because send may send less (slide 29) */
    size_t total = 0;
    if (optind < argc) {
        for (int i = optind; i < argc; i++) {
            send_or_exit(fd, argv[i], strlen(argv[i]), &total);
            send_or_exit(fd, i + 1 < argc ? " " : "\n", 1, &total);
        }
    } else {
        for (;;) {
            ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
            if (n == 0)
                break;
            if (n == -1) {
                if (errno == EINTR)
                    continue;
                perror("read");
                exit(1);
            }
            send_or_exit(fd, buffer, (size_t)n, &total);
        }
    }

    /* The right way to close (slide 31): shutdown(SHUT_WR) tells the server we
     * are done sending (it reads end of file), recv until it closes, close. */
    /* TODO (slide 31): [4] tell the server you are done sending, and only that
     * (if that fails: perror("shutdown"), exit 7) */
    /* TODO (slide 31): [5] recv from fd into buffer until recv returns 0 (the
     * server closed), copying exactly the bytes of each recv to stdout. A recv
     * interrupted by a signal (EINTR) is tried again; if recv fails otherwise:
     * perror("recv"), exit 6 */
    /* TODO (slide 31): [6] close fd */
    return 0;
}
