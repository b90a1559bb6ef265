/*
 * step04-respond/exercise/exercise.c: the exercise of step 04 (slides 48-53).
 * Start from step02's iterative server (done below: socket, bind, listen, the
 * accept loop, reading request lines) and make it serve many clients at once:
 * fork a child per connection, close in each process what it does not need,
 * reap the children, and answer the line protocol. Your task: the numbered
 * TODOs [1] to [6], in the order the program runs them, each naming the slide
 * that shows how.
 *
 * Start:  cargo lab start 04 --c   (your copy: work/step04-respond/exercise.c)
 * Build:  cc -std=c11 -Wall -Wextra -o step04 exercise.c
 * Run:    ./step04 -p 1234
 *         then, in two more terminals: telnet 127.0.0.1 1234   (or nc 127.0.0.1 1234)
 *         and type: PING, ECHO hello, TIME, HELP, QUIT
 * Check:  cargo lab check 04       (cargo lab watch 04: again on every save)
 *
 * As shipped it compiles (warnings: on_sigchld and HELP are not used yet) and
 * serves one client at a time, in the parent, answering every request with an
 * empty line: a second telnet gets nothing until the first one leaves.
 * The solution is step04-respond/original.c; this file differs from it only
 * where the TODOs are (and in this comment).
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
    /* TODO (slide 50): [6] reap every child that has exited, and only those:
     * waitpid for any child, without blocking, again while it returns a pid;
     * one less in children for each. Keep errno as the interrupted code left it. */
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
    char reply[MAX_LINE + 64] = ""; /* "": until TODO [4], every reply is empty */
    size_t verb = 0;
    int quit = 0;
    while (verb < len && line[verb] != ' ')
        verb++;
    /* TODO (slide 51): [4] compose the answer to this request in reply (a
     * string), by its first word (the verb, verb bytes long), in any case:
     *   ECHO text  ->  text (all that follows "ECHO "; ECHO alone: empty)
     *   TIME       ->  the current UTC time, RFC 3339: 2026-11-23T22:05:00Z
     *   PING       ->  PONG
     *   HELP       ->  HELP (the line above)
     *   QUIT       ->  BYE, and quit = 1 (the connection closes after it)
     *   other      ->  ERR unknown command */
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

    /* TODO (slide 50): [1] sigaction(SIGCHLD): on_sigchld reaps the children
     * as they exit, or they stay zombies; with SA_RESTART, so that an accept()
     * interrupted by SIGCHLD is restarted instead of failing with EINTR
     * (if sigaction fails: perror("sigaction"), exit 5) */

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
        fflush(stdout);
        fflush(stderr);
        pid_t pid = getpid(); /* until TODO [2]: no child, this process serves */
        /* TODO (slide 49): [2] fork a child process for this client; pid is what
         * fork returns. Three outcomes: it failed (perror("fork"), no child: tell
         * the client we are busy with refuse(connectionfd), continue); we are the
         * child ([3]); we are the parent (what follows). */
        /* TODO (slide 51): [3] the child: it does not accept, so close its copy
         * of the listening socket fd; serve the client with serve_client and end
         * the child with its result through _exit (not exit: the parent's stdio
         * buffers and atexit handlers are not the child's). */
        atomic_fetch_add(&children, 1);
        fprintf(stderr, "Connection from: %s:%d (pid %d)\n", inet_ntoa(clientAddress.sin_addr),
                ntohs(clientAddress.sin_port), (int)pid);
        /* Until TODO [2] forks, the parent serves the client itself (step02's
         * iterative server): the next client waits. Delete this line then. */
        serve_client(connectionfd, timeout);
        /* TODO (slide 52): [5] the parent: the child has the connection now;
         * close the parent's copy of connectionfd (else the client may never see
         * the connection close, and the parent runs out of descriptors) */
    }
}
