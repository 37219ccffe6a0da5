/*
 * spawn_loop MODE [HEAP_MIB [FDS]] — the C baselines of rows 1 and 2: start /bin/true and reap it.
 *   clone        clone(CLONE_VM | CLONE_VFORK) + execve, waitpid: the kernel's own cost, the floor
 *   posix_spawn  glibc's posix_spawn (itself clone(CLONE_VM | CLONE_VFORK) plus signal hygiene), waitpid
 *   fork         fork + execve, waitpid: copies the page tables of the whole address space
 * With HEAP_MIB, that much memory is allocated and touched first (a live heap in the caller).
 * With FDS, that many extra close-on-exec descriptors are open in the caller (row 4's diagnosis:
 * clone copies the descriptor table, exec closes the close-on-exec ones).
 * Two more modes take their own arguments (row 1's diagnosis of the library's C helper):
 *   helper LIBRARY MASK   the library's procdesc_spawn (dlopen'ed from LIBRARY) with the request
 *                         pdfork makes for a child without PD_DAEMON (death signal, MASK: the
 *                         signals set back to SIG_DFL), then waitid(P_PIDFD) + close: the helper's
 *                         cost outside a .NET process
 *   habits FILES          clone as above, in a process with two habits of the .NET runtime: a SIGCHLD
 *                         handler that writes to a pipe read by a thread of its own, and FILES more
 *                         open files (close-on-exec, each its own, as the runtime's assemblies are)
 * Prints "ready", then for each line N on stdin starts and reaps N children and prints the
 * mean nanoseconds per child of that batch.
 */
#include "bench_common.h"
#include "../../native/procdesc_spawn.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
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

/* "helper": the library's procdesc_spawn, looked up at run time (the harness passes its path). */
static int (*procdesc_spawn)(const struct pd_spawn_request *, int *, int *);
static struct pd_spawn_request helper_request;

static void helper_setup(const char *library, const char *mask)
{
    void *handle = dlopen(library, RTLD_NOW);
    if (!handle || !(*(void **)&procdesc_spawn = dlsym(handle, "procdesc_spawn")))
        fail("dlopen");
    helper_request.path = true_path;
    helper_request.argv = true_argv;
    helper_request.envp = environ;
    helper_request.death_signal = SIGKILL;
    helper_request.expected_parent = getpid();
    helper_request.sandbox_ruleset = -1;
    helper_request.default_signals = strtoull(mask, NULL, 10);
}

/* Starts and reaps one child through the helper; 0, or -1. */
static int helper_once(void)
{
    int pidfd, pid;
    siginfo_t info;
    if (procdesc_spawn(&helper_request, &pidfd, &pid) != 0)
        return -1;
    int r = (int)syscall(SYS_waitid, 3 /* P_PIDFD */, pidfd, &info, WEXITED | __WALL, NULL);
    close(pidfd);
    return r == 0 && info.si_code == CLD_EXITED && info.si_status == 0 ? 0 : -1;
}

/* "habits": the .NET runtime's SIGCHLD handling (its handler writes the signal to a pipe, a
   thread of its own reads it) and its open files. */
static int habit_pipe[2];

static void habit_handler(int sig)
{
    char code = (char)sig;
    ssize_t ignored = write(habit_pipe[1], &code, 1);
    (void)ignored;
}

static void *habit_reader(void *arg)
{
    char code;
    (void)arg;
    while (read(habit_pipe[0], &code, 1) > 0) {
    }
    return NULL;
}

static void habits_setup(long files)
{
    pthread_t reader;
    struct sigaction action = { 0 };
    if (pipe2(habit_pipe, O_CLOEXEC) != 0 || pthread_create(&reader, NULL, habit_reader, NULL) != 0)
        fail("habits");
    action.sa_handler = habit_handler;
    action.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &action, NULL);
    for (long i = 0; i < files; i++)
        if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0)
            fail("open");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: spawn_loop clone|posix_spawn|fork [HEAP_MIB [FDS]] | helper LIBRARY MASK | habits FILES\n");
        return 2;
    }
    int helper = strcmp(argv[1], "helper") == 0, habits = strcmp(argv[1], "habits") == 0;
    pid_t (*start)(void) = strcmp(argv[1], "clone") == 0 || habits ? start_clone
        : strcmp(argv[1], "posix_spawn") == 0 ? start_posix_spawn
        : strcmp(argv[1], "fork") == 0 ? start_fork : NULL;
    if (!start && !helper) {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    if (helper && argc < 4)
        fail("usage");
    if (helper)
        helper_setup(argv[2], argv[3]);
    if (habits)
        habits_setup(argc > 2 ? atol(argv[2]) : 0);
    /* HEAP_MIB and FDS belong to the three plain modes. */
    int plain = !helper && !habits;
    char *heap = touched_heap(plain && argc > 2 ? atol(argv[2]) : 0);
    long fds = plain && argc > 3 ? atol(argv[3]) : 0;
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
            if (helper) {
                if (helper_once() != 0)
                    fail("spawn");
                continue;
            }
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
