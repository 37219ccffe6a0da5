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
 * child before the caller's mask comes back, and a failed child is reaped before returning: it has
 * already committed to _exit, so the caller waits for it by pid (a procdesc child is visible to an
 * explicit pid) and then closes its descriptor. Closing alone would not do: the child may not be a
 * zombie yet, and procdesc_close() then SIGKILLs it and hands it to init (sys_procdesc.c).
 * Kill-on-close, including at the caller's death, is the kernel's own on FreeBSD.
 *
 * The child makes every call as a plain system call (syscall(2)): libthr wraps sigaction,
 * sigprocmask, fcntl, write and more — its sigaction takes a lock of its own that another thread
 * may hold at the moment of a pdfork (which, unlike fork, libthr does not prepare for) and that
 * nobody releases in the child, and its cancellation points touch the parent thread's state in an
 * RFSPAWN child. libc's posix_spawn.c likewise uses the unwrapped calls after vfork ("libthr is in
 * undefined state").
 */
#include <sys/types.h>
#include <sys/procdesc.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "procdesc_spawn.h"

#ifndef RFSPAWN
#define RFSPAWN (1U << 31)
#endif
#define PD_CHILD_STACK_BYTES (16 * 1024)

/* pdrfork_thread(3), FreeBSD 15.1; declared here so that older headers build this file too. */
typedef pid_t (*pd_pdrfork_thread_fn)(int *fdp, int pdflags, int rfflags, void *stack,
                                      int (*start)(void *), void *arg);


struct pd_spawn_shared {
    const struct pd_spawn_request *req;
    sigset_t caller_mask;
    int report_fd;             /* pdfork fallback: where the child writes its errno */
    volatile int child_errno;  /* RFSPAWN: shared memory, read after the child execs or exits */
};

/* FreeBSD's system call numbers (sys/kern/syscalls.master), stable across releases; where the
   headers at hand are an excerpt, these fill in. */
#ifndef SYS_chdir
#define SYS_chdir 12
#endif
#ifndef SYS_execve
#define SYS_execve 59
#endif
#ifndef SYS_dup2
#define SYS_dup2 90
#endif
#ifndef SYS_fcntl
#define SYS_fcntl 92
#endif

/*
 * The child's calls, made as plain system calls through syscall(2): libthr wraps sigaction,
 * sigprocmask, fcntl, write and others (cancellation points, its own locks), and its wrappers
 * would run on the parent thread's state in an RFSPAWN child (see the top of the file).
 */
static int raw_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    return syscall(SYS_sigaction, sig, act, old);
}

static int raw_dupfd_cloexec(int fd, int above)
{
    return syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, above);
}

static void raw_sigsetmask(const sigset_t *mask)
{
    (void)syscall(SYS_sigprocmask, SIG_SETMASK, mask, NULL);
}

/* RFSPAWN already drops caught handlers (sys_rfork: FR2_DROPSIG_CAUGHT); pdfork(2) keeps them. */
static void reset_caught_signals(void)
{
    struct sigaction old, dfl;
    dfl.sa_handler = SIG_DFL;
    dfl.sa_flags = 0;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig <= _SIG_MAXSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (raw_sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_IGN && old.sa_handler != SIG_DFL)
            raw_sigaction(sig, &dfl, NULL);
    }
}

/* The dispositions the caller's runtime changed for itself (the .NET runtime ignores SIGPIPE),
   set back to SIG_DFL even where ignored, so the program starts as it would from a shell. */
static void reset_default_signals(uint64_t mask)
{
    struct sigaction dfl;
    dfl.sa_handler = SIG_DFL;
    dfl.sa_flags = 0;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig <= 64; sig++)
        if ((mask & (1ULL << (sig - 1))) && sig != SIGKILL && sig != SIGSTOP)
            raw_sigaction(sig, &dfl, NULL);
}

/* The lowest number above every child fd the map writes to (and above 0-2). */
static int above_fd_map(const struct pd_spawn_request *req)
{
    int above = 3;
    for (int i = 0; i < req->fd_map_count; i++)
        if (req->fd_map[2 * i] >= above)
            above = req->fd_map[2 * i] + 1;
    return above;
}

/* The same two passes as on Linux, so that swaps such as {0<-5, 5<-0} work. Child side. */
static int apply_fd_map(const struct pd_spawn_request *req)
{
    int above = above_fd_map(req);
    for (int i = 0; i < req->fd_map_count; i++) {
        int copy = raw_dupfd_cloexec(req->fd_map[2 * i + 1], above);
        if (copy < 0)
            return errno;
        req->fd_scratch[i] = copy;
    }
    for (int i = 0; i < req->fd_map_count; i++)
        if (syscall(SYS_dup2, req->fd_scratch[i], req->fd_map[2 * i]) < 0) /* dup2 clears close-on-exec */
            return errno;
    return 0;
}

/*
 * pipe2 took the lowest free number, which pdfork must hand out (contract §1): move the lower end
 * above the other one, so that number is free again when pdfork allocates its descriptor.
 */
static int lift_lower_end(int pipe_fds[2])
{
    int low = pipe_fds[0] < pipe_fds[1] ? 0 : 1;
    int moved = fcntl(pipe_fds[low], F_DUPFD_CLOEXEC, pipe_fds[1 - low] + 1);
    if (moved < 0)
        return errno;
    close(pipe_fds[low]);
    pipe_fds[low] = moved;
    return 0;
}

/* PdChild.WithoutOtherDescriptors: every descriptor >= req->close_from but the fd_map targets and
 * `keep` (the report pipe, close-on-exec) is closed before exec, with close_range(2) (FreeBSD 13)
 * over the gaps between the few numbers kept. */
static int close_others(const struct pd_spawn_request *req, int keep)
{
    unsigned int lo = (unsigned int)req->close_from;
    while (1) {
        unsigned int next = ~0U; /* the next number kept at or above lo */
        for (int i = 0; i < req->fd_map_count; i++)
            if ((unsigned int)req->fd_map[2 * i] >= lo && (unsigned int)req->fd_map[2 * i] < next)
                next = (unsigned int)req->fd_map[2 * i];
        if (keep >= 0 && (unsigned int)keep >= lo && (unsigned int)keep < next)
            next = (unsigned int)keep;
        if (next > lo && close_range(lo, next == ~0U ? ~0U : next - 1, 0) != 0)
            return errno;
        if (next == ~0U)
            return 0;
        lo = next + 1;
    }
}

static int child_main(void *arg)
{
    struct pd_spawn_shared *shared = arg;
    const struct pd_spawn_request *req = shared->req;
    int report_fd = shared->report_fd;
    int err = 0;

    reset_caught_signals();
    reset_default_signals(req->default_signals);
    if (report_fd >= 0) {
        /* pdfork: move the report pipe above the numbers the map writes to. A dup2 onto it
         * would close it before the exec, which the parent takes for a successful exec, and a
         * failed exec would then write its errno into the caller's file. */
        int moved = raw_dupfd_cloexec(report_fd, above_fd_map(req));
        if (moved >= 0)
            report_fd = moved;
        else
            err = errno;
    }
    if (err == 0)
        err = apply_fd_map(req);
    if (err == 0 && req->close_from > 0)
        err = close_others(req, report_fd);
    if (err == 0 && req->cwd && syscall(SYS_chdir, req->cwd) != 0)
        err = errno;
    if (err == 0) {
        raw_sigsetmask(&shared->caller_mask);
        syscall(SYS_execve, req->path, req->argv, req->envp);
        err = errno;
        /* execvp's fallback (PdChild.ExecFromPath): a script without "#!" is run by /bin/sh. */
        if (err == ENOEXEC && req->script_argv) {
            syscall(SYS_execve, req->script_argv[0], req->script_argv, req->envp);
            err = errno;
        }
    }
    if (report_fd >= 0)
        (void)syscall(SYS_write, report_fd, &err, sizeof err);
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
        if ((err = lift_lower_end(report)) != 0) {
            close(report[0]);
            close(report[1]);
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
        /* The child reported and is in _exit: reap it, then close its only descriptor. */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        close(pd);
        return err;
    }
    *pd_out = pd;
    *pid_out = (int)pid;
    return 0;
}
