/*
 * step02-receive/exercise/exercise.c: the exercise of step 02 (slides 26-31).
 * Start from step01's server (done below: socket, bind, listen, accept) and make
 * it receive: copy every byte a client sends to stdout, say when the client
 * closed, and serve the next client. Your task: the numbered TODOs [1] to [4],
 * in the order the program runs them, each naming the slide that shows how.
 *
 * Start:  cargo lab start 02 --c   (your copy: work/step02-receive/exercise.c)
 * Build:  cc -std=c11 -Wall -Wextra -o step02 exercise.c
 * Run:    ./step02 -p 1234
 *         then, in a second terminal: nc 127.0.0.1 1234   (type lines, then Ctrl-D)
 * Check:  cargo lab check 02       (cargo lab watch 02: again on every save)
 *
 * As shipped it compiles (warning: write_all is not used yet) and behaves like
 * step01: one client, "Connection from", nothing on stdout, exit.
 * The solution is step02-receive/original.c; this file differs from it only
 * where the TODOs are (and in this comment).
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

/* Beyond the slides: write(2) may write fewer bytes than asked (a pipe, a
 * terminal), and may be interrupted; loop like sendall does for send. */
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
    char *buffer = malloc(bufsize);
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
    {
        /* accept: the next client (slides 21, 24) */
        addrlen = sizeof remAddress;
        if ((connectionfd = accept(fd, (struct sockaddr *)&remAddress, &addrlen)) == -1) {
            perror("accept");
            exit(4);
        }
        fprintf(stderr, "Connection from: %s:%d\n", inet_ntoa(remAddress.sin_addr),
                ntohs(remAddress.sin_port));

        /* recv until the client closes: recv returns 0 (slide 26) */
        /* TODO (slide 26): [1] recv from connectionfd into buffer (at most bufsize
         * bytes), again and again, until recv returns 0. If recv fails:
         * perror("recv"), failed = 1, and stop reading from this client. */
        /* TODO (slide 26): [2] after each recv, copy to stdout exactly the bytes
         * it received, unbuffered */
        /* TODO (slide 26): [3] when recv returns 0, print on stderr
         * "Connection closed: IP:PORT", the same client as "Connection from" */
        close(connectionfd);
        /* TODO (slide 24): [4] then serve the next client: from accept() to here,
         * again and again; with -o (once), only the first client */
    }

    close(fd);
    free(buffer);
    return once && failed ? 6 : 0;
}
