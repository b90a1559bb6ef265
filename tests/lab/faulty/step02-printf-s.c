/* Faulty on purpose: the received bytes NUL-terminated and printed with printf("%s", buffer).
 * Caught by: step02/binary-safe */
/*
 * tests/lab/faulty/step02-printf-s.c: step02-receive/original.c with that one
 * mistake (search for "Faulty"). The student knew recv() does not terminate
 * the string, so the buffer has room for a '\0' after the n bytes, and knew
 * stdout to a pipe is buffered, so fflush follows: text arrives intact and at
 * once, but "%s" stops at the first NUL byte of each recv:
 * - sent "hello world\n": stdout "hello world\n" (right);
 * - sent "ab\0cd\n": recv gets "ab\0cd", printf prints "ab"; then "\n":
 *   stdout "ab\n", 3 bytes of 6.
 *
 * By hand: cc -std=c11 -Wall -Wextra -o printf-s step02-printf-s.c && ./printf-s -p 0
 *          printf 'ab\0cd\n' | nc -q1 127.0.0.1 PORT   (then: od -c of its stdout)
 */
#define _DEFAULT_SOURCE /* inet_aton and getopt are not in plain C11 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The lecture's port. 0 would let the kernel choose one (slide 18). */
static const unsigned short int PORT = 1234;
/* Queue of connections waiting for accept(): while one client is being served,
 * up to this many more wait, connected, in the kernel (slide 20). */
static const int BACKLOG = 5;
/* The slides' "char buffer[5]": a teaching value, so that a line typed in nc
 * arrives in several recv() calls and TCP's byte stream becomes visible. */
static const size_t BUF_SIZE = 5;

/* Beyond the slides: SIGINT/SIGTERM end the server with exit 0 (see step01).
 * Everything received is already on stdout: write(2) does not buffer. */
static void on_stop_signal(int sig)
{
    (void)sig;
    _exit(0);
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-p PORT] [-b ADDR] [-B BUF_SIZE] [-o]\n", prog);
    exit(64); /* EX_USAGE */
}

static unsigned long parse_number(const char *arg, unsigned long max, const char *prog)
{
    char *end;
    errno = 0;
    unsigned long value = strtoul(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || value > max || arg[0] == '-')
        usage(prog);
    return value;
}

int main(int argc, char *argv[])
{
    int fd, connectionfd;
    struct sockaddr_in ownAddress;
    struct sockaddr_in remAddress;
    socklen_t addrlen; /* Slide bug: "int addrlen" on the slides; see step01 */
    int yes = 1;
    unsigned short port = PORT;
    const char *bind_to = "0.0.0.0";
    size_t bufsize = BUF_SIZE;
    int once = 0, failed = 0;
    int opt;

    while ((opt = getopt(argc, argv, "p:b:B:o")) != -1) {
        switch (opt) {
        case 'p': port = (unsigned short)parse_number(optarg, 65535, argv[0]); break;
        case 'b': bind_to = optarg; break;
        case 'B': bufsize = parse_number(optarg, 16 << 20, argv[0]); break;
        case 'o': once = 1; break;
        default: usage(argv[0]);
        }
    }
    if (optind != argc || bufsize == 0)
        usage(argv[0]);
    char *buffer = malloc(bufsize + 1); /* room for the '\0' */
    if (buffer == NULL) {
        perror("malloc");
        exit(1);
    }

    /* Beyond the slides: Ctrl-C and SIGTERM end the server with exit 0 */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1) {
        perror("sigaction");
        exit(5);
    }

    /* socket, setsockopt(SO_REUSEADDR): as in step01 (slide 17) */
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
        perror("socket");
        exit(1);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) == -1) {
        perror("setsockopt");
        exit(1);
    }

    /* struct sockaddr_in, network byte order (slides 10-13, 22) */
    memset(&ownAddress, 0, sizeof ownAddress);
    ownAddress.sin_family = AF_INET;
    ownAddress.sin_port = htons(port);
    if (!inet_aton(bind_to, &ownAddress.sin_addr)) {
        fprintf(stderr, "inet_aton: invalid address '%s'\n", bind_to);
        exit(10);
    }

    /* bind, listen: as in step01 (slides 18-23) */
    if (bind(fd, (struct sockaddr *)&ownAddress, sizeof ownAddress) == -1) {
        perror("bind");
        exit(2);
    }
    if (listen(fd, BACKLOG) == -1) {
        perror("listen");
        exit(3);
    }

    /* Beyond the slides: which port did we get? (matters with -p 0) */
    addrlen = sizeof ownAddress;
    if (getsockname(fd, (struct sockaddr *)&ownAddress, &addrlen) == -1) {
        perror("getsockname");
        exit(1);
    }
    fprintf(stderr, "listening on %s:%d\n", inet_ntoa(ownAddress.sin_addr),
            ntohs(ownAddress.sin_port));

    /* The iterative server: one client at a time; the others wait in the
     * listen queue until we come back to accept(). */
    for (;;) {
        /* accept: the next client (slides 21, 24) */
        addrlen = sizeof remAddress;
        if ((connectionfd = accept(fd, (struct sockaddr *)&remAddress, &addrlen)) == -1) {
            perror("accept");
            exit(4);
        }
        fprintf(stderr, "Connection from: %s:%d\n", inet_ntoa(remAddress.sin_addr),
                ntohs(remAddress.sin_port));

        /* recv until the client closes: recv returns 0 (slide 26) */
        for (;;) {
            ssize_t n = recv(connectionfd, buffer, bufsize, 0);
            if (n > 0) {
                /* Faulty: a C string, printed with "%s": it ends at the
                 * first NUL byte the client sent. */
                buffer[n] = '\0';
                printf("%s", buffer);
                fflush(stdout);
                continue;
            }
            if (n == 0) {
                fprintf(stderr, "Connection closed: %s:%d\n",
                        inet_ntoa(remAddress.sin_addr), ntohs(remAddress.sin_port));
                break;
            }
            /* A failed recv loses this connection, not the server. */
            perror("recv");
            failed = 1;
            break;
        }
        close(connectionfd);
        if (once)
            break;
    }

    close(fd);
    free(buffer);
    return once && failed ? 6 : 0;
}
