/* Faulty on purpose: the server stops after listen(), with no accept().
 * Caught by: step01/listens */
/* It prints "listening on" and ends at once, before any client can connect: what a
 * student who has done TODOs [1] to [5] and runs it sees. */
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
    int fd, connectionfd;
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
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
        perror("socket");
        exit(1);
    }
    /* setsockopt(SO_REUSEADDR): restart at once even while old connections
     * to this port sit in TIME_WAIT */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) == -1) {
        perror("setsockopt");
        exit(1);
    }

    /* struct sockaddr_in: family, port and address in network byte order;
     * sin_zero zeroed (slides 10-13, 22) */
    memset(&ownAddress, 0, sizeof ownAddress);
    ownAddress.sin_family = AF_INET;
    ownAddress.sin_port = htons(port);
    if (!inet_aton(bind_to, &ownAddress.sin_addr)) {
        fprintf(stderr, "inet_aton: invalid address '%s'\n", bind_to);
        exit(10);
    }

    /* bind: attach the socket to that address and port (slides 18, 23) */
    if (bind(fd, (struct sockaddr *)&ownAddress, sizeof ownAddress) == -1) {
        perror("bind");
        exit(2);
    }
    /* listen: the kernel now queues incoming connections (slides 20, 23) */
    if (listen(fd, BACKLOG) == -1) {
        perror("listen");
        exit(3);
    }

    /* Beyond the slides: ask which port we got (it matters with -p 0) and say
     * so; this one line is what scripts and tests wait for. */
    addrlen = sizeof ownAddress;
    if (getsockname(fd, (struct sockaddr *)&ownAddress, &addrlen) == -1) {
        perror("getsockname");
        exit(1);
    }
    fprintf(stderr, "listening on %s:%d\n", inet_ntoa(ownAddress.sin_addr),
            ntohs(ownAddress.sin_port));

    close(fd);
    return 0;
}
