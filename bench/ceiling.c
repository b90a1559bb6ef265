/* The ceiling for step06: the lecture's model (one forked child per connection,
 * blocking calls) at its plainest. bench/run measures step06 against it, in both modes:
 *   keep-alive           the child answers request after request on its connection;
 *   "Connection: close"  the child reads one head, answers, closes and exits.
 *
 * Per request the child makes step06's calls and sends step06's fields: recv the head,
 * open the file under the root (openat2, RESOLVE_BENEATH), fstat it, send the head
 * with MSG_MORE, sendfile the body, close the file, write one access-log line; the
 * current time is formatted once a second, as step06 does. It does nothing step06
 * must do beyond that: no limits, no timeouts, no percent-decoding, no ranges, no
 * conditionals, no listing, and a table of four types where step06 has mime_guess's.
 * Not a server to deploy; a measure of what the model itself costs.
 *
 *   ceiling ROOT [PORT]        (listens on 127.0.0.1:PORT; 0, the default: the kernel
 *                              chooses, and the "listening on" line says which)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int root; /* the document root, opened once: files are opened relative to it */

static void reap(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

/* An HTTP date (RFC 9110 5.6.7) of t into out (30 bytes). */
static void http_date(time_t t, char *out)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* The current second as Date and the access log show it, formatted when it changes. */
static time_t stamped = -1;
static char date_now[30], log_now[32];

static void stamp_now(void)
{
    time_t t = time(NULL);
    if (t == stamped)
        return;
    struct tm tm;
    gmtime_r(&t, &tm);
    http_date(t, date_now);
    strftime(log_now, sizeof log_now, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    stamped = t;
}

/* The Content-Type of a file, from its name's extension. */
static const char *content_type(const char *path)
{
    static const char *const types[][2] = {
        { ".html", "text/html; charset=utf-8" }, { ".txt", "text/plain; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" }, { ".png", "image/png" },
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* Answer the request whose head is buf[0..head_len]; return 0 to go on, -1 to close. */
static int answer(int conn, char *buf, size_t head_len, const char *peer)
{
    buf[head_len - 1] = '\0';
    char *line_end = strstr(buf, "\r\n");
    if (!line_end)
        return -1; /* a NUL byte before the end of the line */
    *line_end = '\0';
    char path[1024];
    int minor = 0;
    int get = sscanf(buf, "GET /%1023s HTTP/1.%d", path, &minor) == 2;
    int keep_alive = minor == 1 && !strcasestr(line_end + 1, "\nConnection: close");

    char head[512], modified[30];
    int head_len_out, status = 404;
    struct stat st;
    /* Under the root, as step06 opens: the kernel refuses "..", absolute paths and
     * links that lead out */
    struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH };
    int file = get ? syscall(SYS_openat2, root, path, &how, sizeof how) : -1;
    stamp_now();
    if (file != -1 && fstat(file, &st) == 0 && S_ISREG(st.st_mode)) {
        status = 200;
        http_date(st.st_mtime, modified);
        head_len_out = snprintf(head, sizeof head,
            "HTTP/1.1 200 OK\r\nDate: %s\r\nServer: ceiling\r\nLast-Modified: %s\r\n"
            "ETag: \"%llx-%llx-%lx\"\r\nAccept-Ranges: bytes\r\n"
            "Content-Type: %s\r\nContent-Length: %lld\r\n%s\r\n",
            date_now, modified, (unsigned long long)st.st_size, (unsigned long long)st.st_mtime,
            st.st_mtim.tv_nsec, content_type(path), (long long)st.st_size,
            keep_alive ? "" : "Connection: close\r\n");
        /* MSG_MORE: the head waits for the body, and both leave in one segment */
        if (send(conn, head, head_len_out, st.st_size ? MSG_MORE : 0) != head_len_out)
            return -1;
        off_t offset = 0;
        while (offset < st.st_size)
            if (sendfile(conn, file, &offset, st.st_size - offset) <= 0)
                return -1;
        close(file);
    } else {
        if (file != -1)
            close(file);
        st.st_size = 0;
        head_len_out = snprintf(head, sizeof head,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n%s\r\n",
            keep_alive ? "" : "Connection: close\r\n");
        if (send(conn, head, head_len_out, 0) != head_len_out)
            return -1;
    }
    /* The access log: one write per line, so lines from many children never mix */
    char log[1200];
    int n = snprintf(log, sizeof log, "%s - - [%s] \"%.200s\" %d %lld\n", peer, log_now, buf,
        status, (long long)st.st_size);
    write(STDOUT_FILENO, log, n < (int)sizeof log ? (size_t)n : sizeof log - 1);
    return keep_alive ? 0 : -1;
}

/* The child: requests one after another (pipelined bytes stay in buf), until the
 * client closes or asks to. */
static void serve(int conn, const char *peer)
{
    char buf[16384];
    size_t len = 0;
    for (;;) {
        char *end;
        while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
            if (len == sizeof buf - 1)
                return;
            ssize_t got = recv(conn, buf + len, sizeof buf - 1 - len, 0);
            if (got <= 0)
                return;
            len += got;
        }
        size_t head_len = end + 4 - buf;
        if (answer(conn, buf, head_len, peer) == -1)
            return;
        memmove(buf, buf + head_len, len - head_len);
        len -= head_len;
    }
}

int main(int argc, char *argv[])
{
    if (argc < 2 || argc > 3 || (root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
        fprintf(stderr, "usage: %s ROOT [PORT]\n", argv[0]);
        return 64;
    }
    int port = argc == 3 ? atoi(argv[2]) : 0;
    /* The lecture's reaper: SIGCHLD, waitpid in the handler */
    struct sigaction sa = { .sa_handler = reap, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) == -1) {
        perror("sigaction");
        return 5;
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        perror("socket");
        return 1;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t addr_len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1) {
        perror("bind");
        return 2;
    }
    if (listen(fd, SOMAXCONN) == -1) {
        perror("listen");
        return 3;
    }
    getsockname(fd, (struct sockaddr *)&addr, &addr_len);
    fprintf(stderr, "listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    for (;;) {
        struct sockaddr_in client;
        socklen_t client_len = sizeof client;
        int conn = accept(fd, (struct sockaddr *)&client, &client_len);
        if (conn == -1)
            continue; /* EINTR (a child ended), or a client gone meanwhile */
        pid_t pid = fork();
        if (pid == 0) {
            char peer[INET_ADDRSTRLEN];
            close(fd);
            serve(conn, inet_ntop(AF_INET, &client.sin_addr, peer, sizeof peer));
            close(conn);
            _exit(0);
        }
        if (pid == -1)
            perror("fork");
        close(conn);
    }
}
