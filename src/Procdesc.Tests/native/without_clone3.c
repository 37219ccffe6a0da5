/*
 * without_clone3 PROGRAM [ARGS...] — runs PROGRAM under a seccomp filter that answers clone3 with
 * ENOSYS, as Docker's default profile does, so the tests can exercise the library's fallback to
 * clone(CLONE_PIDFD). Test-only; built by Procdesc.Tests.csproj with the system cc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NR_CLONE3 435 /* the same on x86_64 and aarch64 */

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: without_clone3 PROGRAM [ARGS...]\n");
        return 2;
    }
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_CLONE3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { .len = sizeof filter / sizeof filter[0], .filter = filter };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        perror("without_clone3: seccomp");
        return 3;
    }
    if (syscall(NR_CLONE3, NULL, 0) != -1 || errno != ENOSYS) {
        fprintf(stderr, "without_clone3: clone3 is still reachable\n");
        return 4;
    }
    execvp(argv[1], argv + 1);
    perror("without_clone3: exec");
    return 127;
}
