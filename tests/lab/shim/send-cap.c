/*
 * send-cap.c: an LD_PRELOAD shim that makes every send() on a socket partial.
 *
 * The kernel may send fewer bytes than asked (slide 28: "the number of bytes sent
 * may be smaller than the requested number"), but on loopback it almost never does,
 * so a program without a send loop (slide 29's sendall) seems to work. Loaded with
 * LD_PRELOAD, this shim caps each send(), sendto() and write() on a socket at
 * LAB_SEND_CAP bytes (default 3): a program that sends in a loop still delivers
 * everything; one that calls send() once delivers the first few bytes only.
 *
 * If LAB_SEND_CAP_LOG names a file, the shim appends "loaded <pid> <cap>" when it
 * is loaded and "capped <asked> <sent>" for each call it cut short, so the checker can
 * tell a program that never went through the shim (a static binary) from one that did.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -O2 -shared -fPIC -o send-cap.so send-cap.c -ldl
 * Used by: cargo lab's step03/partial-send (tests/src/lab/preload.rs).
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);

static send_fn real_send;
static sendto_fn real_sendto;
static write_fn real_write;
static size_t cap = 3;
static int log_fd = -1;

/* Append "WORD A B" to the log with the real write(), so logging is never capped. */
static void log_line(const char *word, size_t a, size_t b)
{
    char line[96];
    int n;
    if (log_fd == -1 || real_write == NULL)
        return;
    n = snprintf(line, sizeof line, "%s %zu %zu\n", word, a, b);
    if (n > 0)
        (void)real_write(log_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Runs when the program loads the shim, before main: find the real calls, read
 * the settings, say we are here. */
__attribute__((constructor)) static void send_cap_init(void)
{
    const char *value = getenv("LAB_SEND_CAP");
    const char *log_path = getenv("LAB_SEND_CAP_LOG");
    real_send = (send_fn)dlsym(RTLD_NEXT, "send");
    real_sendto = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
    real_write = (write_fn)dlsym(RTLD_NEXT, "write");
    if (value != NULL && atoi(value) > 0)
        cap = (size_t)atoi(value);
    if (log_path != NULL)
        log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    log_line("loaded", (size_t)getpid(), cap);
}

/* The length to pass on: at most `cap`, logged when cut. */
static size_t capped(size_t len)
{
    if (len <= cap)
        return len;
    log_line("capped", len, cap);
    return cap;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    return real_send(fd, buf, capped(len), flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
               socklen_t tolen)
{
    return real_sendto(fd, buf, capped(len), flags, to, tolen);
}

/* write() on a socket is send() without flags (slide 28): cap it too, and leave
 * files, pipes and terminals alone. */
ssize_t write(int fd, const void *buf, size_t len)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
        len = capped(len);
    return real_write(fd, buf, len);
}
