/* deny-syscall NR PROGRAM [ARGS...]: run PROGRAM with system call number NR failing
 * with ENOSYS, as on a kernel that predates it or under a sandbox that filters it.
 * A seccomp filter: no privileges needed (PR_SET_NO_NEW_PRIVS), inherited by children.
 * Used by the tests (step06 must refuse to start without openat2, not serve 404s). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "add this machine's AUDIT_ARCH"
#endif

int main(int argc, char *argv[])
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s NR PROGRAM [ARGS...]\n", argv[0]);
        return 64;
    }
    unsigned nr = (unsigned)strtoul(argv[1], NULL, 10);
    struct sock_filter filter[] = {
        /* another architecture's numbering: kill rather than guess */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {
        .len = (unsigned short)(sizeof filter / sizeof filter[0]),
        .filter = filter,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
        perror("prctl(PR_SET_NO_NEW_PRIVS)");
        return 1;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == -1) {
        perror("prctl(PR_SET_SECCOMP)");
        return 1;
    }
    execvp(argv[2], argv + 2);
    perror("execvp");
    return 127;
}
