/* Faulty on purpose: no fork: the parent serves each client itself, then accepts the next.
 * Caught by: step04/concurrent */
/*
 * tests/lab/faulty/step04-one-client-at-a-time.c: step04-respond/original.c
 * with that one mistake (search for "Faulty"). Every request is answered, so
 * one telnet at a time sees nothing wrong. With two: while the first client
 * is connected, the second one's connection is complete (the kernel accepts
 * it into the listen queue) but its PING gets no PONG and no "Connection
 * from" line appears, until the first client says QUIT (or idles out after
 * -t seconds, 30 by default). step02's iterative server, with a protocol.
 *
 * By hand: cc -std=c11 -Wall -Wextra -o one step04-one-client-at-a-time.c && ./one -p 0
 *          nc 127.0.0.1 PORT        (first client: leave it open)
 *          printf 'PING\n' | nc -N 127.0.0.1 PORT   (second: waits until the first QUITs)
 */
#define _DEFAULT_SOURCE /* inet_aton, getopt, gmtime_r are not in plain C11 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The lecture's port. */
static const unsigned short int PORT = 1234;
/* Slide 50's queue length: connections the kernel completes while the parent
 * is busy forking. A teaching value; step06 explains why a web server wants more. */
static const int QLEN = 10;
/* A request line holds at most this many bytes, not counting its LF or CRLF. */
#define MAX_LINE 1024
/* How much one recv() takes at most. */
#define BUF_SIZE 4096
/* Beyond the slides: the right way to close waits for the client's FIN this
 * many seconds in all (nginx: lingering_time), and LINGER_TIMEOUT per recv
 * (nginx: lingering_timeout). A client that has read our last bytes closes
 * within a round trip or two; one that goes on sending is cut off. */
#define LINGER_TIME 2
#define LINGER_TIMEOUT 1

static const char *BUSY = "ERR Service temporarily unavailable\r\n";
static const char *HELP = "commands: ECHO <text>, TIME, PING, HELP, QUIT";

/* Children alive. Decremented in the SIGCHLD handler, incremented after
 * fork() in main: a lock-free atomic is safe to touch from a handler. */
static atomic_int children = 0;

/* Beyond the slides: SIGINT/SIGTERM end the server with exit 0 (see step01). */
static void on_stop_signal(int sig)
{
    (void)sig;
    _exit(0);
}

/* Reap every child that has exited, without blocking (slide 50).
 * Slide bug: "while (wait(NULL) > 0);" blocks inside the handler for as long as
 * any other child is still alive, so the parent stops accepting. WNOHANG
 * returns 0 at once when the remaining children are still running; the loop
 * matters because several children may exit while one SIGCHLD is pending.
 * waitpid may change errno; the code we interrupted may be about to read it,
 * so it is saved and restored. */
static void on_sigchld(int sig)
{
    (void)sig;
    int saved_errno = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        atomic_fetch_sub(&children, 1);
    errno = saved_errno;
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-p PORT] [-b ADDR] [-m MAX_CLIENTS] [-t TIMEOUT]\n", prog);
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

/* sendall (slide 29), corrected as in step03: loops over partial sends and
 * retries EINTR; MSG_NOSIGNAL makes a vanished client an error, not a kill. */
static int sendall(int fd, const char *data, size_t *len)
{
    size_t transferred = 0;
    while (transferred < *len) {
        ssize_t n = send(fd, data + transferred, *len - transferred, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            break;
        }
        transferred += (size_t)n;
    }
    int complete = transferred == *len;
    *len = transferred;
    return complete ? 0 : -1;
}

/* What is left until deadline, at most max seconds, as a timeval; {0, 0} once
 * the deadline has passed. */
static struct timeval time_left(const struct timespec *deadline, time_t max)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long usec = (long long)(deadline->tv_sec - now.tv_sec) * 1000000 +
                     (deadline->tv_nsec - now.tv_nsec) / 1000;
    if (usec < 0)
        usec = 0;
    if (usec > (long long)max * 1000000)
        usec = (long long)max * 1000000;
    struct timeval tv = {.tv_sec = (time_t)(usec / 1000000),
                         .tv_usec = (suseconds_t)(usec % 1000000)};
    return tv;
}

/* The right way to close (slide 31): done sending, read until the client is
 * done, close.
 * Beyond the slides: the reading is bounded as nginx bounds its "lingering
 * close": LINGER_TIME in all, LINGER_TIMEOUT per recv. A timeout set once would
 * be renewed by every byte, so a client trickling one now and then would keep
 * this process (and its max_clients slot) for as long as it liked. */
static void close_gracefully(int fd)
{
    char drain[BUF_SIZE];
    struct timespec deadline;
    shutdown(fd, SHUT_WR);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += LINGER_TIME;
    for (;;) {
        struct timeval tv = time_left(&deadline, LINGER_TIMEOUT);
        if (tv.tv_sec == 0 && tv.tv_usec == 0)
            break; /* the linger is over (and {0, 0} would mean "no timeout") */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv(fd, drain, sizeof drain, 0);
        if (n == 0 || (n == -1 && errno != EINTR))
            break; /* its FIN, a timeout or a reset */
    }
    close(fd);
}

/* Answer one request line (without its line ending) into out. Returns 1 when
 * the client asked to QUIT. */
static int respond(const char *line, size_t len, char *out, size_t *out_len)
{
    char reply[MAX_LINE + 64];
    size_t verb = 0;
    int quit = 0;
    while (verb < len && line[verb] != ' ')
        verb++;
    if (verb == 4 && strncasecmp(line, "ECHO", 4) == 0) {
        size_t text = len > 5 ? len - 5 : 0; /* what follows "ECHO " */
        memcpy(reply, line + 5, text);
        reply[text] = '\0';
    } else if (verb == 4 && strncasecmp(line, "TIME", 4) == 0) {
        time_t now = time(NULL);
        struct tm utc;
        gmtime_r(&now, &utc);
        strftime(reply, sizeof reply, "%Y-%m-%dT%H:%M:%SZ", &utc); /* RFC 3339 */
    } else if (verb == 4 && strncasecmp(line, "PING", 4) == 0) {
        strcpy(reply, "PONG");
    } else if (verb == 4 && strncasecmp(line, "HELP", 4) == 0) {
        strcpy(reply, HELP);
    } else if (verb == 4 && strncasecmp(line, "QUIT", 4) == 0) {
        strcpy(reply, "BYE");
        quit = 1;
    } else {
        strcpy(reply, "ERR unknown command");
    }
    size_t n = strlen(reply);
    memcpy(out + *out_len, reply, n);
    memcpy(out + *out_len + n, "\r\n", 2); /* every reply ends in CRLF */
    *out_len += n + 2;
    return quit;
}

/* The child's whole job: read request lines, answer each, until the client
 * leaves, says QUIT, sends a line too long, or stays idle past the timeout.
 * Returns the child's exit status. */
static int serve_client(int connectionfd, unsigned timeout)
{
    char buffer[BUF_SIZE];
    char line[MAX_LINE + 2]; /* a request, its CR, and one byte too many */
    size_t line_len = 0;
    /* Room for the replies to one buffer's worth of requests: the worst case is
     * a buffer of empty lines, 21 bytes of "ERR unknown command\r\n" for each
     * byte received, plus two replies to lines begun earlier (ECHO, at EOF). */
    static char out[BUF_SIZE * 21 + 2 * (MAX_LINE + 64)];

    /* Beyond the slides: an idle client is dropped after the timeout: recv
     * then fails with EAGAIN. */
    struct timeval tv = {.tv_sec = (time_t)timeout, .tv_usec = 0};
    if (setsockopt(connectionfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1) {
        perror("setsockopt");
        return 1;
    }

    for (;;) {
        ssize_t n = recv(connectionfd, buffer, sizeof buffer, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            close(connectionfd); /* idle too long */
            return 0;
        }
        if (n == -1) {
            perror("recv");
            close(connectionfd);
            return 6;
        }
        size_t out_len = 0;
        int done = 0;
        /* Slide bug: the slide answers with strlen(buffer) of an unterminated
         * buffer; here every byte is used exactly once, by count. */
        for (ssize_t i = 0; i < n && !done; i++) {
            if (buffer[i] != '\n') {
                if (line_len == MAX_LINE + 1) { /* even minus a CR: too long */
                    memcpy(out + out_len, "ERR line too long\r\n", 19);
                    out_len += 19;
                    done = 1;
                } else {
                    line[line_len++] = buffer[i];
                }
                continue;
            }
            size_t len = line_len;
            if (len > 0 && line[len - 1] == '\r')
                len--;
            if (len > MAX_LINE) {
                memcpy(out + out_len, "ERR line too long\r\n", 19);
                out_len += 19;
                done = 1;
            } else {
                done = respond(line, len, out, &out_len);
            }
            line_len = 0;
        }
        if (n == 0 && line_len > 0) { /* the client left: an unterminated last line */
            size_t len = line_len;
            if (line[len - 1] == '\r')
                len--;
            respond(line, len, out, &out_len);
        }
        size_t sent = out_len;
        if (out_len > 0 && sendall(connectionfd, out, &sent) == -1) {
            perror("send");
            close(connectionfd);
            return 7;
        }
        if (n == 0 || done) {
            close_gracefully(connectionfd);
            return 0;
        }
    }
}

/* Beyond the slides: with max_clients children busy, answer without forking
 * and close. Reading what the client may already have sent (without waiting)
 * avoids a reset that could destroy our answer before it is read. */
static void refuse(int connectionfd)
{
    char drain[BUF_SIZE];
    size_t len = strlen(BUSY);
    sendall(connectionfd, BUSY, &len);
    shutdown(connectionfd, SHUT_WR);
    while (recv(connectionfd, drain, sizeof drain, MSG_DONTWAIT) > 0)
        ;
    close(connectionfd);
}

int main(int argc, char *argv[])
{
    int fd, connectionfd;
    struct sockaddr_in myAddress, clientAddress;
    socklen_t siz; /* Slide bug: "int siz" on the slides; accept wants socklen_t */
    struct sigaction sa;
    int yes = 1;
    unsigned short port = PORT;
    const char *bind_to = "0.0.0.0";
    int max_clients = 64;
    unsigned timeout = 30;
    int opt;

    while ((opt = getopt(argc, argv, "p:b:m:t:")) != -1) {
        switch (opt) {
        case 'p': port = (unsigned short)parse_number(optarg, 65535, argv[0]); break;
        case 'b': bind_to = optarg; break;
        case 'm': max_clients = (int)parse_number(optarg, 100000, argv[0]); break;
        case 't': timeout = (unsigned)parse_number(optarg, 86400, argv[0]); break;
        default: usage(argv[0]);
        }
    }
    if (optind != argc || max_clients < 1)
        usage(argv[0]);

    /* Beyond the slides: Ctrl-C and SIGTERM end the server with exit 0 */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1) {
        perror("sigaction");
        exit(5);
    }

    /* sigaction(SIGCHLD): reap children as they exit, or they stay zombies
     * (slide 50). SA_RESTART: an accept() interrupted by SIGCHLD is restarted
     * by the kernel instead of failing with EINTR. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGCHLD, &sa, NULL) == -1) {
        perror("sigaction");
        exit(5);
    }

    /* socket, setsockopt, bind, listen: as in step01 (slides 17-23) */
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
        perror("socket");
        exit(1);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) == -1) {
        perror("setsockopt");
        exit(1);
    }
    memset(&myAddress, 0, sizeof myAddress);
    myAddress.sin_family = AF_INET;
    myAddress.sin_port = htons(port);
    if (!inet_aton(bind_to, &myAddress.sin_addr)) {
        fprintf(stderr, "inet_aton: invalid address '%s'\n", bind_to);
        exit(10);
    }
    if (bind(fd, (struct sockaddr *)&myAddress, sizeof myAddress) == -1) {
        perror("bind");
        exit(2);
    }
    if (listen(fd, QLEN) == -1) {
        perror("listen");
        exit(3);
    }
    siz = sizeof myAddress;
    if (getsockname(fd, (struct sockaddr *)&myAddress, &siz) == -1) {
        perror("getsockname");
        exit(1);
    }
    fprintf(stderr, "listening on %s:%d\n", inet_ntoa(myAddress.sin_addr),
            ntohs(myAddress.sin_port));

    for (;;) {
        /* accept: the next client (slide 50) */
        siz = sizeof clientAddress;
        if ((connectionfd = accept(fd, (struct sockaddr *)&clientAddress, &siz)) == -1) {
            perror("accept"); /* one failed accept does not end the server */
            continue;
        }

        /* Beyond the slides: too many children alive? Answer busy, no fork. */
        if (atomic_load(&children) >= max_clients) {
            refuse(connectionfd);
            continue;
        }

        /* fork: a child process for this client (slides 49, 51-53). Flush
         * first, or text still buffered would be printed by both processes. */
        /* Faulty: no fork. The parent serves this client itself and goes back
         * to accept() only when the client has left. */
        fprintf(stderr, "Connection from: %s:%d (pid %d)\n", inet_ntoa(clientAddress.sin_addr),
                ntohs(clientAddress.sin_port), (int)getpid());
        serve_client(connectionfd, timeout);
    }
}
