/*
 * kill_watch — row 6: the C baseline of kill-on-close, and the observer of the library's.
 *   killwait   starts /bin/sleep 60 (posix_spawn), then times kill(SIGKILL) + waitpid: the least
 *              any "kill it and make sure it is gone" can cost; prints the nanoseconds.
 *   watch PID  opens a pidfd for PID, answers "armed", then blocks in poll until the pidfd reports
 *              POLLHUP (the process has been reaped, Linux 6.9+) and prints CLOCK_MONOTONIC then.
 *              A pidfd in another process does not count as a copy for the library (contract
 *              §10 L2), so watching from here does not keep the child alive.
 * Prints "ready" first; one answer line per command line.
 */
#include "bench_common.h"
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

extern char **environ;

int main(void)
{
    char line[64];
    answer("ready %lld", 0);
    while (next_command(line, sizeof line)) {
        if (strcmp(line, "killwait") == 0) {
            char *const sleep_argv[] = { "sleep", "60", NULL };
            pid_t pid;
            if (posix_spawn(&pid, "/bin/sleep", NULL, NULL, sleep_argv, environ) != 0)
                fail("posix_spawn");
            int64_t t0 = now_ns();
            if (kill(pid, SIGKILL) != 0 || waitpid(pid, NULL, 0) != pid)
                fail("killwait");
            answer("%lld", (long long)(now_ns() - t0));
        } else if (strncmp(line, "watch ", 6) == 0) {
            int fd = (int)syscall(SYS_pidfd_open, atoi(line + 6), 0);
            if (fd < 0)
                fail("pidfd_open");
            answer("armed %lld", fd);
            /* events = 0: only POLLHUP (reaped) or POLLERR end the wait, not POLLIN (exited). */
            struct pollfd p = { .fd = fd, .events = 0 };
            while (poll(&p, 1, 60000) == 0) {
            }
            int64_t t = now_ns();
            close(fd);
            answer("%lld", (long long)t);
        } else {
            fail("unknown");
        }
    }
    return 0;
}
