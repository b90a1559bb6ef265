/* The floor under every fork-per-connection server: how long fork, _exit in the
 * child and waitpid in the parent take, with nothing else, from a small process.
 * Prints the mean in microseconds over N rounds (default 2000). Used by bench/run. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    int rounds = argc > 1 ? atoi(argv[1]) : 2000;
    if (rounds <= 0) {
        fprintf(stderr, "usage: %s [ROUNDS]\n", argv[0]);
        return 64;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork();
        if (pid == -1) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            _exit(0);
        if (waitpid(pid, NULL, 0) == -1) {
            perror("waitpid");
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
    printf("%.1f\n", ns / rounds / 1000);
    return 0;
}
