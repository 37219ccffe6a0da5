/*
 * procdesc_spawn_freebsd.c — the child side of Procdesc's pdfork on FreeBSD.
 *
 * As on Linux, no managed code may run in the child (it can hang in the .NET runtime), so the
 * child runs only this file's code, then execve or _exit. Two ways to make the child:
 *
 *   - FreeBSD 15.1+: libc's pdrfork_thread(…, RFSPAWN, stack, fn, arg), whose address managed
 *     code found by symbol lookup (never by probing the system call: an unknown system call raises
 *     SIGSYS). RFSPAWN is vfork-like: the caller's memory is shared, not copied, so the cost does
 *     not grow with the caller's heap, and the caller is suspended until the child execs or exits.
 *     On amd64 and i386 the child must run on a stack of its own (see libc's posix_spawn.c); a
 *     buffer in this function's frame serves, unused by the suspended caller.
 *   - older releases: pdfork(2), which copies the address space (fork semantics); the child
 *     reports an exec failure through a close-on-exec pipe.
 *
 * Every signal is blocked around the creation, caught signals are reset to their defaults in the
 * child before the caller's mask comes back, and a failed child is reaped before returning: its
 * last process descriptor is closed, and FreeBSD reaps a zombie whose last descriptor closes.
 * Kill-on-close, including at the caller's death, is the kernel's own on FreeBSD.
 */
#ifndef PROCDESC_FREEBSD_SHIM
#include <sys/types.h>
#include <sys/procdesc.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#endif

#ifndef RFSPAWN
#define RFSPAWN (1U << 31)
#endif
#define PD_CHILD_STACK_BYTES (16 * 1024)

/* pdrfork_thread(3), FreeBSD 15.1; declared here so that older headers build this file too. */
typedef pid_t (*pd_pdrfork_thread_fn)(int *fdp, int pdflags, int rfflags, void *stack,
                                      int (*start)(void *), void *arg);

/* Laid out to match Procdesc.Interop.SpawnRequest (the same struct as on Linux). */
struct pd_spawn_request {
    const char *path;
    char *const *argv;
    char *const *envp;
    int *fd_map;          /* pairs {child fd, parent fd}, fd_map_count of them */
    int *fd_scratch;      /* fd_map_count ints the child may overwrite */
    int fd_map_count;
    int death_signal;     /* Linux only */
    const char *cwd;      /* NULL: keep the caller's working directory */
    int expected_parent;  /* Linux only */
    int pd_flags;         /* PD_DAEMON | PD_CLOEXEC, passed to the kernel as they are */
    void *pdrfork_thread; /* libc's pdrfork_thread, or NULL where libc has none */
};

struct pd_spawn_shared {
    const struct pd_spawn_request *req;
    sigset_t caller_mask;
    int report_fd;             /* pdfork fallback: where the child writes its errno */
    volatile int child_errno;  /* RFSPAWN: shared memory, read after the child execs or exits */
};

static void reset_caught_signals(void)
{
    struct sigaction old, dfl;
    dfl.sa_handler = SIG_DFL;
    dfl.sa_flags = 0;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig <= _SIG_MAXSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_IGN && old.sa_handler != SIG_DFL)
            sigaction(sig, &dfl, NULL);
    }
}

/* The same two passes as on Linux, so that swaps such as {0<-5, 5<-0} work. */
static int apply_fd_map(const struct pd_spawn_request *req)
{
    int above = 3;
    for (int i = 0; i < req->fd_map_count; i++)
        if (req->fd_map[2 * i] >= above)
            above = req->fd_map[2 * i] + 1;
    for (int i = 0; i < req->fd_map_count; i++) {
        int copy = fcntl(req->fd_map[2 * i + 1], F_DUPFD_CLOEXEC, above);
        if (copy < 0)
            return errno;
        req->fd_scratch[i] = copy;
    }
    for (int i = 0; i < req->fd_map_count; i++)
        if (dup2(req->fd_scratch[i], req->fd_map[2 * i]) < 0) /* dup2 clears close-on-exec */
            return errno;
    return 0;
}

static int child_main(void *arg)
{
    struct pd_spawn_shared *shared = arg;
    const struct pd_spawn_request *req = shared->req;

    reset_caught_signals();
    int err = apply_fd_map(req);
    if (err == 0 && req->cwd && chdir(req->cwd) != 0)
        err = errno;
    if (err == 0) {
        sigprocmask(SIG_SETMASK, &shared->caller_mask, NULL);
        execve(req->path, req->argv, req->envp);
        err = errno;
    }
    if (shared->report_fd >= 0)
        (void)write(shared->report_fd, &err, sizeof err);
    else
        shared->child_errno = err;
    _exit(127);
}

/*
 * Start req->path in a new process under a process descriptor. Returns 0 with *pd_out and
 * *pid_out, or a positive errno (the creation's, or the child's) with nothing left behind.
 */
__attribute__((visibility("default")))
int procdesc_spawn(const struct pd_spawn_request *req, int *pd_out, int *pid_out)
{
    _Alignas(16) char child_stack[PD_CHILD_STACK_BYTES];
    struct pd_spawn_shared shared;
    sigset_t block_all;
    int pd = -1, err = 0;
    pid_t pid;

    shared.req = req;
    shared.report_fd = -1;
    shared.child_errno = 0;
    sigfillset(&block_all);
    sigprocmask(SIG_SETMASK, &block_all, &shared.caller_mask);

    if (req->pdrfork_thread) {
#if defined(__amd64__) || defined(__i386__)
        void *stack_top = child_stack + sizeof child_stack;
#else
        void *stack_top = NULL; /* libc's generic pdrfork_thread returns in the child on our stack */
        (void)child_stack;
#endif
        pid = ((pd_pdrfork_thread_fn)req->pdrfork_thread)(&pd, req->pd_flags, RFSPAWN, stack_top,
                                                          child_main, &shared);
        err = pid < 0 ? errno : shared.child_errno;
    } else {
        int report[2];
        if (pipe2(report, O_CLOEXEC) != 0) {
            err = errno;
            sigprocmask(SIG_SETMASK, &shared.caller_mask, NULL);
            return err;
        }
        shared.report_fd = report[1];
        pid = pdfork(&pd, req->pd_flags);
        if (pid == 0)
            child_main(&shared); /* never returns */
        err = pid < 0 ? errno : 0;
        close(report[1]);
        if (pid > 0) {
            ssize_t got;
            int child_err = 0;
            while ((got = read(report[0], &child_err, sizeof child_err)) < 0 && errno == EINTR) {
            }
            if (got == (ssize_t)sizeof child_err) /* 0 bytes: the exec closed the pipe */
                err = child_err;
        }
        close(report[0]);
    }

    sigprocmask(SIG_SETMASK, &shared.caller_mask, NULL);
    if (pid < 0)
        return err;
    if (err != 0) {
        close(pd); /* the child's only descriptor: the kernel reaps (or kills and reaps) it */
        return err;
    }
    *pd_out = pd;
    *pid_out = (int)pid;
    return 0;
}
