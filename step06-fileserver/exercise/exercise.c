/*
 * step06-fileserver/exercise/exercise.c: the exercise of step 06 (slides 48-53),
 * "how little more we need to serve files". Start from step04's forking server
 * (done below: socket, bind, listen, accept, fork, the SIGCHLD reaper) and make
 * its child speak HTTP/1.0: read the request, find the file under the root
 * folder (never outside it), answer with a status line, Content-Type and
 * Content-Length, and the file; HEAD gets the head alone. Your task: the
 * numbered TODOs [1] to [7] in serve_client, in the order the program runs
 * them, each naming the slide that shows how.
 *
 * Start:  cargo lab start 06 --c   (your copy: work/step06-fileserver/exercise.c)
 * Build:  cc -std=c11 -Wall -Wextra -o step06 exercise.c
 * Run:    ./step06 -p 1234 -r ../../step06-fileserver/www
 *         then: curl -v http://127.0.0.1:1234/index.html   (or open it in a browser)
 * Check:  cargo lab check 06       (cargo lab watch 06: again on every save)
 *
 * As shipped it compiles (warnings: head, root, send_error and content_type are
 * not used yet), accepts and forks, and closes every connection without a word:
 * curl says "Empty reply from server".
 * The solution is step06-fileserver/original.c; this file differs from it only
 * where the TODOs are (and in this comment).
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
    /* TODO (slides 51-52): [1] recv into head until the blank line that ends
     * the request head has arrived ("\r\n\r\n", or "\n\n" from nc), or HEAD_MAX
     * bytes: one recv may bring a part of it, or all of it. Keep len the bytes
     * received. If recv returns 0 or fails: close connectionfd and return 0 (6
     * when it failed). Slide bug: the slide's single recv() into char
     * buffer[5] takes whatever arrived, and uses strlen() on bytes that are
     * not NUL-terminated. */
    head[len] = '\0';

    /* TODO (slide 52): [2] the request line, "GET /path HTTP/1.x": its three
     * words, the method, the target and the version. Not three words, or a
     * version not starting with "HTTP/1.": send_error(connectionfd,
     * "400 Bad Request", 0), close connectionfd, return 0. */

    /* TODO (slide 52): [3] the method: GET, or HEAD (the same head and no
     * body, RFC 9110 9.3.2: curl -I sends it); any other: "405 Method Not
     * Allowed", close, return 0 */

    /* TODO (slide 52): [4] never outside the root: the query ("?" and after)
     * is not part of the path; a target that does not start with "/", or has
     * "/." in it ("..", dot files), is "404 Not Found" (no body for HEAD).
     * Then the file's path: root, then the target, then "index.html" when
     * the target ends in "/". */

    /* TODO (slide 52): [5] open the file read-only and fstat it: missing, or
     * not a regular file (a directory...), is "404 Not Found" */

    /* TODO (slide 52): [6] the answer's head: the status line HTTP/1.0 200 OK,
     * Content-Type (content_type of the path), Content-Length (the file's size
     * in bytes), Connection: close, a blank line; every line ends in "\r\n".
     * If sending fails, status = 7. */
    int status = 0;
    char buffer[65536];
    /* TODO (slide 52): [7] the body: the file, read and sent until its end
     * (not for HEAD: its Content-Length says how long a GET's body would be);
     * a send that fails: status = 7. Then close the file. */

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
