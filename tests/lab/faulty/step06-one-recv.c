/* Faulty on purpose: one recv() for the request, as the slide has it: a request that arrives in two parts is cut.
 * Caught by: step06/curl */
/*
 * tests/lab/faulty/step06-one-recv.c: step06-fileserver/original.c with
 * that one mistake (search for "Faulty"). By hand it works: nc, curl and a
 * browser on the same machine send a short request in one segment, and one
 * recv() gets it all. But TCP promises a stream, not messages: a longer head,
 * a slow link or a client that writes the request line and the header lines
 * separately hands the server a part ("GET /ind"), and this server answers
 * 400 Bad Request to what it read, or serves the wrong file.
 *
 * By hand: cc -std=c11 -Wall -Wextra -o one-recv step06-one-recv.c
 *          ./one-recv -p 1234 -r ../../step06-fileserver/www
 *          (printf 'GET /ind'; sleep 1; printf 'ex.html HTTP/1.0\r\n\r\n') | nc 127.0.0.1 1234
 */
/*
 * step06-fileserver/original.c: "how little more we need to serve files"
 * (slides 48-53). The forking server of step04, answering "GET /path" with the
 * file under the root folder (and "HEAD /path" with its head alone). Correct and
 * complete, and no more: HTTP/1.0, one request per connection, no ranges, no
 * caching, no listings, no percent-decoding.
 * The Rust version (src/) is the server a user can rely on; see README.md.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -o original original.c
 * Run:   ./original [-p PORT] [-b ADDR] [-r ROOT]
 *        then: curl -v http://127.0.0.1:1234/index.html
 *
 * Comment tags: "Slide bug:", "Beyond the slides:" (see step01's original.c).
 */
#define _DEFAULT_SOURCE /* inet_aton, getopt are not in plain C11 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const unsigned short int PORT = 1234;
/* Slide 50's QLEN: fine for one person with curl; the Rust server asks for
 * SOMAXCONN, because a browser opens several connections at once. */
static const int QLEN = 10;
#define HEAD_MAX 8192

/* Beyond the slides: SIGINT/SIGTERM end the server with exit 0 (see step01). */
static void on_stop_signal(int sig)
{
    (void)sig;
    _exit(0);
}

/* Reap children without blocking, errno kept (step04, slide 50's bug fixed). */
static void on_sigchld(int sig)
{
    (void)sig;
    int saved_errno = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved_errno;
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-p PORT] [-b ADDR] [-r ROOT]\n", prog);
    exit(64);
}

/* sendall (slide 29), corrected as in step03. */
static int sendall(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A status line and a short body, then the connection closes (HTTP/1.0).
 * head_only: the answer to a HEAD request, the same head without the body.
 * A 405 names the methods this server allows (RFC 9110 15.5.6). */
static void send_error(int fd, const char *status, int head_only)
{
    char response[256];
    int n = snprintf(response, sizeof response,
                     "HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "%sConnection: close\r\n\r\n",
                     status, strlen(status) + 1,
                     strncmp(status, "405", 3) == 0 ? "Allow: GET, HEAD\r\n" : "");
    if (!head_only)
        n += snprintf(response + n, sizeof response - (size_t)n, "%s\n", status);
    sendall(fd, response, (size_t)n);
}

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot == NULL)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcmp(dot, ".txt") == 0 || strcmp(dot, ".c") == 0)
        return "text/plain; charset=utf-8";
    if (strcmp(dot, ".png") == 0)
        return "image/png";
    return "application/octet-stream";
}

/* The child: read the request head, find the file, send it, close. */
static int serve_client(int connectionfd, const char *root)
{
    char head[HEAD_MAX + 1];
    size_t len = 0;
    /* One recv for the request, as on the slide (with the buffer made large
     * enough). Faulty: it takes whatever has arrived, which may be only a part
     * of the head. */
    ssize_t got_head = recv(connectionfd, head, HEAD_MAX, 0);
    if (got_head <= 0) {
        close(connectionfd);
        return got_head == 0 ? 0 : 6;
    }
    len = (size_t)got_head;
    head[len] = '\0';

    /* The request line: "GET /path HTTP/1.x" */
    char method[16], target[4096], version[16];
    if (sscanf(head, "%15s %4095s %15s", method, target, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0) {
        send_error(connectionfd, "400 Bad Request", 0);
        close(connectionfd);
        return 0;
    }
    /* GET, or HEAD: the same head and no body (RFC 9110 9.3.2). Beyond the slides:
     * curl -I sends HEAD, and so do link checkers and caches asking whether a file
     * changed; a file server that refuses it looks broken to them. */
    int head_only = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "GET") != 0 && !head_only) {
        send_error(connectionfd, "405 Method Not Allowed", 0);
        close(connectionfd);
        return 0;
    }
    /* Never outside the root: no "..", no dot files, an absolute path. */
    char *query = strchr(target, '?');
    if (query != NULL)
        *query = '\0';
    if (target[0] != '/' || strstr(target, "/.") != NULL) {
        send_error(connectionfd, "404 Not Found", head_only);
        close(connectionfd);
        return 0;
    }
    char path[8192];
    size_t tlen = strlen(target);
    snprintf(path, sizeof path, "%s%s%s", root, target, target[tlen - 1] == '/' ? "index.html" : "");

    int file = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (file == -1 || fstat(file, &st) == -1 || !S_ISREG(st.st_mode)) {
        if (file != -1)
            close(file);
        send_error(connectionfd, "404 Not Found", head_only);
        close(connectionfd);
        return 0;
    }

    /* The answer: a status line, two headers, a blank line, the file (not for
     * HEAD: its Content-Length says how long the body of a GET would be). */
    char response[512];
    int n = snprintf(response, sizeof response,
                     "HTTP/1.0 200 OK\r\nContent-Type: %s\r\nContent-Length: %lld\r\n"
                     "Connection: close\r\n\r\n",
                     content_type(path), (long long)st.st_size);
    int status = 0;
    if (sendall(connectionfd, response, (size_t)n) == -1)
        status = 7;
    char buffer[65536];
    ssize_t got;
    while (status == 0 && !head_only && (got = read(file, buffer, sizeof buffer)) > 0)
        if (sendall(connectionfd, buffer, (size_t)got) == -1)
            status = 7;
    close(file);

    /* The right way to close (slide 31). */
    shutdown(connectionfd, SHUT_WR);
    while (recv(connectionfd, buffer, sizeof buffer, 0) > 0)
        ;
    close(connectionfd);
    return status;
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
    const char *root = ".";
    int opt;

    while ((opt = getopt(argc, argv, "p:b:r:")) != -1) {
        switch (opt) {
        case 'p': {
            char *end;
            unsigned long value = strtoul(optarg, &end, 10);
            if (*end != '\0' || end == optarg || value > 65535)
                usage(argv[0]);
            port = (unsigned short)value;
            break;
        }
        case 'b': bind_to = optarg; break;
        case 'r': root = optarg; break;
        default: usage(argv[0]);
        }
    }
    if (optind != argc)
        usage(argv[0]);

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1) {
        perror("sigaction");
        exit(5);
    }
    sa.sa_handler = on_sigchld;
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
        siz = sizeof clientAddress;
        if ((connectionfd = accept(fd, (struct sockaddr *)&clientAddress, &siz)) == -1) {
            perror("accept");
            continue;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == -1) {
            perror("fork");
            close(connectionfd);
            continue;
        }
        if (pid == 0) {
            close(fd); /* the child does not accept */
            _exit(serve_client(connectionfd, root));
        }
        close(connectionfd); /* the parent does not serve */
    }
}
