/* Faulty on purpose: no setsid(): the daemon stays in the session (and on the terminal) it was started from.
 * Caught by: step05/new-session */
/*
 * tests/lab/faulty/step05-no-setsid.c: step05-daemon/original.c with that one
 * mistake (search for "Faulty"). The command returns, the daemon serves, its
 * descriptors lead to /dev/null and its cwd is /. But "ps -o
 * pid,ppid,pgid,sid,tty,cmd -C no-setsid" shows it in the session of the shell
 * that started it, with that terminal in the TTY column: the terminal's
 * hang-up can reach it, and, being no session leader's child of its own, it
 * belongs to the shell's job control. (The second fork still runs; without a
 * new session it protects nothing.)
 *
 * By hand: cc -std=c11 -Wall -Wextra -o no-setsid step05-no-setsid.c && ./no-setsid -p 1234
 *          ps -o pid,ppid,pgid,sid,tty,cmd -C no-setsid; echo "this shell: session $(ps -o sid= $$)"
 */
#define _DEFAULT_SOURCE /* inet_aton, getopt, gmtime_r, pipe2 are not in plain C11 */
#define _GNU_SOURCE     /* pipe2 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* The lecture's port. */
static const unsigned short int PORT = 1234;
/* Beyond the slides: slide 50's queue of 10 overflows as soon as clients connect
 * faster than the parent forks (each overflow costs a client a 1 s SYN retry);
 * a daemon asks for the system's maximum, which the kernel caps at
 * net.core.somaxconn. */
static const int QLEN = SOMAXCONN;
/* As in step04. */
#define MAX_LINE 1024
#define BUF_SIZE 4096
#define LINGER_TIME 2
#define LINGER_TIMEOUT 1
/* With this many children alive, answer busy without forking; idle timeout. */
static const int MAX_CLIENTS = 64;
static const unsigned TIMEOUT = 30;

/* Children alive, as in step04. */
static atomic_int children = 0;

/* The self-pipe: SIGHUP and SIGTERM handlers write the signal number into it and
 * the main loop poll()s it beside the listening socket. */
static int signal_pipe[2] = {-1, -1};

/* Slide bug: the slides' signal_handler (slide 47) calls syslog() and
 * finalize_and_exit() inside the handler. syslog() is not async-signal-safe: it
 * takes a lock and allocates, and if the signal lands while the main program is
 * inside syslog() the daemon deadlocks. The handler only writes one byte to a
 * pipe (write is async-signal-safe); the main loop does the logging. */
static void on_signal(int sig)
{
    int saved_errno = errno;
    unsigned char byte = (unsigned char)sig;
    if (write(signal_pipe[1], &byte, 1) == -1) {
        /* pipe full: a wake-up is already pending */
    }
    errno = saved_errno;
}

/* Reap children, as in step04 (slide 50, with its bug fixed). */
static void on_sigchld(int sig)
{
    (void)sig;
    int saved_errno = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        atomic_fetch_sub(&children, 1);
    errno = saved_errno;
}

static const char *BUSY = "ERR Service temporarily unavailable\r\n";
static const char *HELP = "commands: ECHO <text>, TIME, PING, HELP, QUIT";

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-p PORT] [-b ADDR] [-f]\n", prog);
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

/* What is left until deadline, at most max seconds, as a timeval (as in step04). */
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

/* The right way to close (slide 31), bounded as in step04: done sending, read
 * until the client is done or the linger is over, close. */
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
        syslog(LOG_ERR, "setsockopt: %s", strerror(errno));
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
            syslog(LOG_ERR, "recv: %s", strerror(errno));
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
            syslog(LOG_ERR, "send: %s", strerror(errno));
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

/* The daemon routine, in the lecture's order (slides 35-43). */
static void become_daemon(void)
{
    /* Fork off the parent process (slide 37): the shell gets its prompt back,
     * and the child is not a process group leader, which setsid() requires.
     * Slide bug: perror(errno) passes an int where a string belongs. */
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid > 0)
        exit(0);

    /* Change the file mode mask (slide 38). Slide bug: umask(0) makes every
     * file the daemon creates with mode 0666 writable by every user. 027 keeps
     * them from other users. umask() cannot fail. */
    umask(027);

    /* Open the logs (slide 39): records carry the name and our pid. */
    openlog("step05-daemon", LOG_PID, LOG_DAEMON);

    /* Faulty: no setsid() (slide 41): still in the launching session. */

    /* Beyond the slides: fork again; the session leader exits, so the daemon
     * can never acquire a controlling terminal by opening one (daemon(7)). */
    pid = fork();
    if (pid < 0) {
        syslog(LOG_ERR, "fork: %s", strerror(errno));
        exit(1);
    }
    if (pid > 0)
        _exit(0);

    /* A directory that always exists and keeps no file system busy (slide 42). */
    if (chdir("/") < 0) {
        syslog(LOG_ERR, "chdir: %s", strerror(errno));
        exit(1);
    }

    /* The standard descriptors (slide 43). Slide bug: closing them outright
     * lets the next open() or socket() become descriptor 0, 1 or 2, and a stray
     * printf or perror then writes into a client's connection. Point them at
     * /dev/null instead. */
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
        dup2(null, STDERR_FILENO) < 0) {
        syslog(LOG_ERR, "/dev/null: %s", strerror(errno));
        exit(1);
    }
    if (null > STDERR_FILENO)
        close(null);
}

int main(int argc, char *argv[])
{
    int fd, connectionfd;
    struct sockaddr_in myAddress, clientAddress;
    socklen_t siz;
    struct sigaction sa;
    int yes = 1;
    unsigned short port = PORT;
    const char *bind_to = "0.0.0.0";
    int foreground = 0;
    int opt;

    while ((opt = getopt(argc, argv, "p:b:f")) != -1) {
        switch (opt) {
        case 'p': port = (unsigned short)parse_number(optarg, 65535, argv[0]); break;
        case 'b': bind_to = optarg; break;
        case 'f': foreground = 1; break;
        default: usage(argv[0]);
        }
    }
    if (optind != argc)
        usage(argv[0]);

    /* The address (slide 13), converted before detaching. Beyond the slides: the
     * slides convert it just before bind(), but by then a daemon has no terminal:
     * the shell would get its prompt back, exit status 0, and the error would be
     * only in the log. Checked here, it is the command's own error, exit 10. */
    memset(&myAddress, 0, sizeof myAddress);
    myAddress.sin_family = AF_INET;
    myAddress.sin_port = htons(port);
    if (!inet_aton(bind_to, &myAddress.sin_addr)) {
        fprintf(stderr, "inet_aton: invalid address '%s'\n", bind_to);
        exit(10);
    }

    /* Beyond the slides: in the foreground, LOG_PERROR copies every record to
     * stderr (tagged "step05-daemon[PID]: "), so the server is never silent, even
     * where there is no syslog daemon to receive the records. */
    if (foreground)
        openlog("step05-daemon", LOG_PID | LOG_PERROR, LOG_DAEMON);
    else
        become_daemon();

    /* Catching signals (slide 46): SIGHUP and SIGTERM through the self-pipe.
     * SA_RESTART: other blocking calls restart; poll() returns EINTR anyway. */
    if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
        syslog(LOG_ERR, "pipe2: %s", strerror(errno));
        exit(1);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGHUP, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1 ||
        sigaction(SIGINT, &sa, NULL) == -1) {
        syslog(LOG_ERR, "sigaction: %s", strerror(errno));
        exit(5);
    }
    /* SIGCHLD reaps the children, as in step04 (slide 50). */
    sa.sa_handler = on_sigchld;
    if (sigaction(SIGCHLD, &sa, NULL) == -1) {
        syslog(LOG_ERR, "sigaction: %s", strerror(errno));
        exit(5);
    }

    /* socket, setsockopt, bind, listen: as in step04 (slides 17-23), with the
     * address converted above */
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
        syslog(LOG_ERR, "socket: %s", strerror(errno));
        exit(1);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) == -1) {
        syslog(LOG_ERR, "setsockopt: %s", strerror(errno));
        exit(1);
    }
    if (bind(fd, (struct sockaddr *)&myAddress, sizeof myAddress) == -1) {
        syslog(LOG_ERR, "bind: %s", strerror(errno));
        exit(2);
    }
    if (listen(fd, QLEN) == -1) {
        syslog(LOG_ERR, "listen: %s", strerror(errno));
        exit(3);
    }
    siz = sizeof myAddress;
    if (getsockname(fd, (struct sockaddr *)&myAddress, &siz) == -1) {
        syslog(LOG_ERR, "getsockname: %s", strerror(errno));
        exit(1);
    }
    /* Writing through syslog (slide 40) */
    syslog(LOG_INFO, "listening on %s:%d", inet_ntoa(myAddress.sin_addr),
           ntohs(myAddress.sin_port));

    /* The last stage (slide 44): the main loop, step04's, woken by a client or
     * by a signal, whichever comes first. */
    for (;;) {
        struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = signal_pipe[0], .events = POLLIN}};
        if (poll(fds, 2, -1) == -1) {
            if (errno == EINTR) /* SIGCHLD */
                continue;
            syslog(LOG_ERR, "poll: %s", strerror(errno));
            exit(1);
        }
        if (fds[1].revents) {
            unsigned char sig;
            while (read(signal_pipe[0], &sig, 1) == 1) {
                if (sig == SIGHUP) {
                    syslog(LOG_INFO, "received SIGHUP: nothing to reload");
                    continue;
                }
                /* SIGTERM or SIGINT: stop accepting; children finish on their own. */
                syslog(LOG_INFO, "received %s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                close(fd);
                closelog();
                return 0;
            }
        }
        if (!fds[0].revents)
            continue;

        siz = sizeof clientAddress;
        if ((connectionfd = accept(fd, (struct sockaddr *)&clientAddress, &siz)) == -1) {
            syslog(LOG_ERR, "accept: %s", strerror(errno));
            continue;
        }
        if (atomic_load(&children) >= MAX_CLIENTS) {
            refuse(connectionfd);
            continue;
        }
        pid_t pid = fork();
        if (pid == -1) {
            syslog(LOG_ERR, "fork: %s", strerror(errno));
            refuse(connectionfd);
            continue;
        }
        if (pid == 0) {
            /* The child: no listening socket, no self-pipe, default signals. */
            close(fd);
            close(signal_pipe[0]);
            close(signal_pipe[1]);
            signal(SIGHUP, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            _exit(serve_client(connectionfd, TIMEOUT));
        }
        atomic_fetch_add(&children, 1);
        syslog(LOG_INFO, "Connection from: %s:%d (pid %d)", inet_ntoa(clientAddress.sin_addr),
               ntohs(clientAddress.sin_port), (int)pid);
        close(connectionfd);
    }
}
