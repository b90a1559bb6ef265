/*
 * step01-open-port/exercise/exercise.c: the exercise of step 01 (slides 17-24).
 * Make a server that opens a port, accepts one connection, says who connected,
 * and closes. Everything around the socket calls is given (options, messages,
 * exit codes); the socket calls are your task: the numbered TODOs [1] to [8],
 * in the order the program runs them, each naming the slide that shows how.
 *
 * Start:  cargo lab start 01 --c   (your copy: work/step01-open-port/exercise.c)
 * Build:  cc -std=c11 -Wall -Wextra -o step01 exercise.c
 * Run:    ./step01 -p 1234
 *         then, in a second terminal: nc 127.0.0.1 1234
 * Check:  cargo lab check 01       (cargo lab watch 01: again on every save)
 *
 * As shipped it compiles, with warnings about the variables the TODOs will use,
 * and stops at "getsockname: Bad file descriptor": there is no socket yet.
 * The solution is step01-open-port/original.c; this file differs from it only
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
/* Length of the queue of connections waiting for accept(). A teaching value
 * (slide 20: "usually 5...10"): enough for one person with nc. */
static const int BACKLOG = 5;

/* Beyond the slides: SIGINT (Ctrl-C) and SIGTERM end the server with exit 0
 * rather than "killed by signal". _exit() is async-signal-safe (exit() is not:
 * it flushes stdio buffers the interrupted code may be using); the kernel closes
 * our sockets. A flag checked by the main loop would have a race: a signal that
 * lands just before accept() blocks would never be noticed. */
static void on_stop_signal(int sig)
{
    (void)sig;
    _exit(0);
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-p PORT] [-b ADDR]\n", prog);
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

int main(int argc, char *argv[])
{
    int fd = -1, connectionfd; /* -1: no socket until TODO [1] */
    struct sockaddr_in ownAddress;
    struct sockaddr_in remAddress;
    /* Slide bug: the slide declares "int addrlen"; accept() and getsockname()
     * take a socklen_t *, which is unsigned and need not be an int. */
    socklen_t addrlen;
    int yes = 1;
    unsigned short port = PORT;
    const char *bind_to = "0.0.0.0"; /* INADDR_ANY: every interface */
    int opt;

    while ((opt = getopt(argc, argv, "p:b:")) != -1) {
        switch (opt) {
        case 'p': port = parse_port(optarg, argv[0]); break;
        case 'b': bind_to = optarg; break;
        default: usage(argv[0]);
        }
    }
    if (optind != argc)
        usage(argv[0]);

    /* Beyond the slides: Ctrl-C and SIGTERM end the server with exit 0 */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1) {
        perror("sigaction");
        exit(5);
    }

    /* socket: a TCP endpoint for IPv4, no address yet (slide 17) */
    /* TODO (slide 17): [1] make fd a TCP socket for IPv4
     * (if that fails: perror("socket"), exit 1) */
    /* setsockopt(SO_REUSEADDR): restart at once even while old connections
     * to this port sit in TIME_WAIT */
    /* TODO (slide 17): [2] set fd's SO_REUSEADDR option to yes
     * (if that fails: perror("setsockopt"), exit 1) */

    /* struct sockaddr_in: family, port and address in network byte order;
     * sin_zero zeroed (slides 10-13, 22) */
    /* TODO (slide 22): [3] fill in ownAddress: all zero, then family AF_INET
     * and port `port` in network byte order (inet_aton below sets the address) */
    if (!inet_aton(bind_to, &ownAddress.sin_addr)) {
        fprintf(stderr, "inet_aton: invalid address '%s'\n", bind_to);
        exit(10);
    }

    /* bind: attach the socket to that address and port (slides 18, 23) */
    /* TODO (slide 23): [4] bind the socket to ownAddress
     * (if that fails: perror("bind"), exit 2) */
    /* listen: the kernel now queues incoming connections (slides 20, 23) */
    /* TODO (slide 23): [5] listen on fd, with a queue of BACKLOG connections
     * (if that fails: perror("listen"), exit 3) */

    /* Beyond the slides: ask which port we got (it matters with -p 0) and say
     * so; this one line is what scripts and tests wait for. */
    addrlen = sizeof ownAddress;
    if (getsockname(fd, (struct sockaddr *)&ownAddress, &addrlen) == -1) {
        perror("getsockname");
        exit(1);
    }
    fprintf(stderr, "listening on %s:%d\n", inet_ntoa(ownAddress.sin_addr),
            ntohs(ownAddress.sin_port));

    /* accept: block until a client connects; connectionfd is that one
     * conversation, fd keeps listening (slides 21, 24) */
    /* TODO (slide 24): [6] accept a connection on fd into connectionfd, the
     * client's address into remAddress (if that fails: perror("accept"), exit 4) */
    /* Status lines go to stderr: stdout is for data. */
    /* TODO (slide 24): [7] print "Connection from: IP:PORT" on stderr: the
     * client's address and port from remAddress, as a person reads them */

    /* close: the conversation first, then the listening socket (slide 24) */
    /* TODO (slide 24): [8] close connectionfd, then fd */
    return 0;
}
