/*
 * without_syscall NR[,NR...] PROGRAM [ARGS...] — runs PROGRAM under a seccomp filter that answers
 * the named system calls with ENOSYS, as container profiles do with calls they do not know: clone3
 * (435) under Docker's default profile, Landlock (444-446) under older ones. The tests use it to
 * exercise the library's fallbacks and refusals on the real kernel. Test-only; built by
 * Procdesc.Tests.csproj with the system cc. The numbers are the same on x86_64 and aarch64.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_BLOCKED 8

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: without_syscall NR[,NR...] PROGRAM [ARGS...]\n");
        return 2;
    }
    long blocked[MAX_BLOCKED];
    int count = 0;
    for (char *p = argv[1], *end; *p && count < MAX_BLOCKED; p = *end ? end + 1 : end) {
        blocked[count++] = strtol(p, &end, 10);
        if (end == p) {
            fprintf(stderr, "without_syscall: not a number list: %s\n", argv[1]);
            return 2;
        }
    }
    /* Load the number; for each blocked one, a match returns ENOSYS; else allow. */
    struct sock_filter filter[2 + 2 * MAX_BLOCKED];
    int n = 0;
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (int i = 0; i < count; i++) {
        filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)blocked[i], 0, 1);
        filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    }
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog program = { .len = (unsigned short)n, .filter = filter };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        perror("without_syscall: seccomp");
        return 3;
    }
    for (int i = 0; i < count; i++)
        if (syscall(blocked[i], 0, 0, 0) != -1 || errno != ENOSYS) {
            fprintf(stderr, "without_syscall: %ld is still reachable\n", blocked[i]);
            return 4;
        }
    execvp(argv[2], argv + 2);
    perror("without_syscall: exec");
    return 127;
}
