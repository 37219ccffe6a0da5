/*
 * syscall_loop — the C baseline of row 3: the raw system calls each Procdesc call needs on Linux,
 * on a pidfd of a live child, in a loop. Every PdSyscall call on a bare descriptor number first
 * checks which child the number names now (fd numbers are reused), which is one fstat; then:
 *   getpid  fstat                                          (pdgetpid: the pid is cached)
 *   kill    fstat + pidfd_send_signal(fd, 0)               (pdkill(fd, 0))
 *   wait    fstat + waitid(P_PIDFD, WNOHANG, &rusage)      (pdwait4(fd, WNOHANG) on a live child)
 *   poll    fstat + poll(fd, timeout 0)                    (poll(0) on the descriptor)
 * The child (/bin/sleep 3600) is this program's own, started with posix_spawn, its pidfd from
 * pidfd_open. Prints "ready", then for each line "WHAT N" runs N iterations and prints the mean
 * nanoseconds per iteration.
 */
#include "bench_common.h"
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define PD_WALL 0x40000000

extern char **environ;

static volatile long sink;

int main(void)
{
    char *const sleep_argv[] = { "sleep", "3600", NULL };
    pid_t pid;
    if (posix_spawn(&pid, "/bin/sleep", NULL, NULL, sleep_argv, environ) != 0)
        fail("posix_spawn");
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        fail("pidfd_open");

    char line[64];
    answer("ready %lld", pid);
    while (next_command(line, sizeof line)) {
        char what[16];
        long n;
        if (sscanf(line, "%15s %ld", what, &n) != 2 || n <= 0)
            fail("command");
        struct stat st;
        int64_t t0 = now_ns();
        if (strcmp(what, "getpid") == 0) {
            for (long i = 0; i < n; i++) {
                if (fstat(fd, &st) != 0)
                    fail("fstat");
                sink += (long)st.st_ino;
            }
        } else if (strcmp(what, "kill") == 0) {
            for (long i = 0; i < n; i++) {
                if (fstat(fd, &st) != 0 || syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) != 0)
                    fail("kill");
                sink += (long)st.st_ino;
            }
        } else if (strcmp(what, "wait") == 0) {
            for (long i = 0; i < n; i++) {
                siginfo_t info;
                struct rusage usage;
                info.si_pid = 0;
                if (fstat(fd, &st) != 0
                    || syscall(SYS_waitid, P_PIDFD, fd, &info, WEXITED | WNOHANG | PD_WALL, &usage) != 0
                    || info.si_pid != 0)
                    fail("waitid");
                sink += (long)st.st_ino;
            }
        } else if (strcmp(what, "poll") == 0) {
            for (long i = 0; i < n; i++) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (fstat(fd, &st) != 0 || poll(&p, 1, 0) != 0)
                    fail("poll");
                sink += (long)st.st_ino;
            }
        } else {
            fail("unknown");
        }
        answer("%lld", (long long)((now_ns() - t0) / n));
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}
