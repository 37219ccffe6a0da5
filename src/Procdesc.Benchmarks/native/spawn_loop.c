/*
 * spawn_loop MODE [HEAP_MIB [FDS]] — the C baselines of rows 1 and 2: start /bin/true and reap it.
 *   clone        clone(CLONE_VM | CLONE_VFORK) + execve, waitpid: the kernel's own cost, the floor
 *   posix_spawn  glibc's posix_spawn (itself clone(CLONE_VM | CLONE_VFORK) plus signal hygiene), waitpid
 *   fork         fork + execve, waitpid: copies the page tables of the whole address space
 * With HEAP_MIB, that much memory is allocated and touched first (a live heap in the caller).
 * With FDS, that many extra close-on-exec descriptors are open in the caller (row 4's diagnosis:
 * clone copies the descriptor table, exec closes the close-on-exec ones).
 * Prints "ready", then for each line N on stdin starts and reaps N children and prints the
 * mean nanoseconds per child of that batch.
 */
#include "bench_common.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static char *const true_argv[] = { "true", NULL };
static const char true_path[] = "/bin/true";

static int clone_child(void *arg)
{
    (void)arg;
    execve(true_path, true_argv, environ);
    _exit(127);
}

static pid_t start_clone(void)
{
    static _Alignas(16) char stack[64 * 1024];
    return clone(clone_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
}

static pid_t start_posix_spawn(void)
{
    pid_t pid;
    return posix_spawn(&pid, true_path, NULL, NULL, true_argv, environ) == 0 ? pid : -1;
}

static pid_t start_fork(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execve(true_path, true_argv, environ);
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: spawn_loop clone|posix_spawn|fork [HEAP_MIB [FDS]]\n");
        return 2;
    }
    pid_t (*start)(void) = strcmp(argv[1], "clone") == 0 ? start_clone
        : strcmp(argv[1], "posix_spawn") == 0 ? start_posix_spawn
        : strcmp(argv[1], "fork") == 0 ? start_fork : NULL;
    if (!start) {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    char *heap = touched_heap(argc > 2 ? atol(argv[2]) : 0);
    long fds = argc > 3 ? atol(argv[3]) : 0;
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (long i = 0; i < fds; i++)
        if (fcntl(null_fd, F_DUPFD_CLOEXEC, 3) < 0)
            fail("dup");

    char line[64];
    answer("ready %lld", heap ? atol(argv[2]) : 0);
    while (next_command(line, sizeof line)) {
        long n = atol(line);
        if (n <= 0)
            fail("count");
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
            pid_t pid = start();
            int status;
            if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail("spawn");
        }
        answer("%lld", (long long)((now_ns() - t0) / n));
    }
    free(heap);
    return 0;
}
