/* Faulty on purpose: one send() per piece of data, its count ignored (no sendall loop).
 * Caught by: step03/partial-send */
/*
 * tests/lab/faulty/step03-no-send-loop.c: step03-client/original.c with that
 * one mistake (search for "Faulty"). send() on a blocking socket usually takes
 * everything, so by hand it works. It may take fewer bytes: when a signal
 * interrupts it, with a send timeout, on a non-blocking socket, or (in the
 * checker) under a shim that caps each send to a few bytes. Then the rest of
 * each piece is silently lost: with sends capped to 3 bytes,
 * "./no-loop -p PORT hello there" delivers "hel the\n" (each word and each
 * separator is one send) and still exits 0.
 *
 * By hand: cc -std=c11 -Wall -Wextra -o no-loop step03-no-send-loop.c
 *          ./no-loop -H 127.0.0.1 -p PORT hello there   (a server on PORT: step02)
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

/* Send data; on error say how far it got, and exit 7.
 * Faulty: one send(), as if it always took all len bytes (no sendall). */
static void send_or_exit(int fd, const char *data, size_t len, size_t *total)
{
    if (send(fd, data, len, MSG_NOSIGNAL) == -1) {
        fprintf(stderr, "send: %s (after %zu bytes)\n", strerror(errno), *total);
        exit(7);
    }
    *total += len;
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
    int fd;
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
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
        perror("socket");
        exit(1);
    }

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
    if (connect(fd, (struct sockaddr *)&remoteAddress, sizeof remoteAddress) == -1) {
        perror("connect");
        exit(2);
    }
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
    if (shutdown(fd, SHUT_WR) == -1) {
        perror("shutdown");
        exit(7);
    }
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n == 0) /* the server closed: the whole reply is here */
            break;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            perror("recv");
            exit(6);
        }
        write_all(STDOUT_FILENO, buffer, (size_t)n); /* the reply is data: stdout */
    }
    close(fd);
    return 0;
}
