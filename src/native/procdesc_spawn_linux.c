/*
 * procdesc_spawn_linux.c — the child side of Procdesc's pdfork on Linux.
 *
 * Why this file exists: a .NET child that runs any managed code between clone and exec can hang
 * forever in the runtime's GC rendezvous (see the platform notes). So the child made here runs
 * only this file's code: a few raw system calls on its own small stack, then execve or _exit.
 * Everything that managed code can do (argument marshalling, descriptor bookkeeping, kill-on-close)
 * is done by managed code in the parent, before or after this call.
 *
 * The child is created vfork-style (CLONE_VM | CLONE_VFORK): the caller's page tables are shared,
 * not copied, so creation cost does not grow with the caller's heap, and the calling thread is
 * suspended until the child has exec'd or exited. Because the child shares our memory:
 *   - it runs on a stack of its own (a buffer in this function's frame, unused by the suspended
 *     parent thread), never on the parent's live frames;
 *   - it never touches libc state: no malloc, no errno (raw syscalls return -errno here);
 *   - every signal is blocked around the clone, so no handler of the parent can run in the child,
 *     and the child resets every caught signal to its default before restoring the caller's mask;
 *   - it reports an exec failure by writing its errno into memory the parent reads afterwards.
 *
 * A child that must die with its parent arms PR_SET_PDEATHSIG before exec (it survives a normal
 * exec); the caller guarantees that the creating thread lives as long as the process.
 *
 * exit_signal = 0 keeps the child invisible to wait(-1) and SIGCHLD-free until it execs; execve
 * makes the kernel reset it to SIGCHLD (fs/exec.c), a Linux difference the library documents (L1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procdesc_spawn.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define PD_CLOSE_RANGE_UNSHARE (1U << 1)
#define PD_CLONE_CLEAR_SIGHAND 0x100000000ULL
#define PD_WALL 0x40000000
#define PD_KERNEL_SIGSET_BYTES 8
#define PD_MAX_SIGNAL 64
/* The child needs a few hundred bytes; 16 KiB leaves room for any libc-free code path here. */
#define PD_CHILD_STACK_BYTES (16 * 1024)


/* Shared between the suspended parent and the child (same memory: CLONE_VM). */
struct pd_spawn_shared {
    const struct pd_spawn_request *req;
    uint64_t caller_mask;
    int handlers_already_cleared;
    int files_shared;     /* CLONE_FILES: the child shares our table until close_range(UNSHARE) */
    volatile int child_errno;
};

struct pd_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* Raw system calls: -errno on failure, and no write to the (parent thread's) errno. Five
   arguments, every one set: some calls (prctl's PR_SET_NO_NEW_PRIVS) refuse a non-zero unused one. */
static long raw_syscall5(long n, long a, long b, long c, long d, long e)
{
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                         : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ __volatile__("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
#else
    /* Other architectures: libc's syscall() writes the parent thread's errno on failure; the
       parent never reads errno before overwriting it, so this is harmless there. */
    long ret = syscall(n, a, b, c, d, e);
    return ret == -1 ? -errno : ret;
#endif
}

static long raw_syscall(long n, long a, long b, long c, long d)
{
    return raw_syscall5(n, a, b, c, d, 0);
}

/*
 * clone3, then run fn(arg) in the child on the stack named in args and exit with its result.
 * Written in assembly because the child starts on a fresh stack right after the syscall
 * instruction: no C frame exists there to return into. Returns the pid (parent) or -errno;
 * -ENOSYS also where this architecture has no trampoline, so the caller falls back to clone().
 */
static long clone3_and_run(struct pd_clone_args *args, int (*fn)(void *), void *arg)
{
#if defined(__x86_64__)
    long ret;
    register void *r8 __asm__("r8") = (void *)fn;
    register void *r9 __asm__("r9") = arg;
    __asm__ __volatile__(
        "syscall\n\t"
        "testq %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xorl %%ebp, %%ebp\n\t"    /* child: no caller frame */
        "movq %%r9, %%rdi\n\t"
        "callq *%%r8\n\t"
        "movl %%eax, %%edi\n\t"
        "movl %[sys_exit], %%eax\n\t"
        "syscall\n\t"
        "hlt\n"
        "1:"
        : "=a"(ret)
        : "0"((long)SYS_clone3), "D"(args), "S"(sizeof *args), "r"(r8), "r"(r9),
          [sys_exit] "i"(SYS_exit)
        : "rcx", "r11", "memory", "cc");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = SYS_clone3;
    register long x0 __asm__("x0") = (long)args;
    register long x1 __asm__("x1") = sizeof *args;
    register void *x9 __asm__("x9") = (void *)fn;
    register void *x10 __asm__("x10") = arg;
    __asm__ __volatile__(
        "svc #0\n\t"
        "cbnz x0, 1f\n\t"
        "mov x29, xzr\n\t"         /* child: no caller frame */
        "mov x30, xzr\n\t"
        "mov x0, x10\n\t"
        "blr x9\n\t"
        "mov x8, %[sys_exit]\n\t"
        "svc #0\n\t"
        "brk #0\n"
        "1:"
        : "+r"(x0)
        : "r"(x8), "r"(x1), "r"(x9), "r"(x10), [sys_exit] "i"(SYS_exit)
        : "memory", "cc");
    return x0;
#else
    (void)args; (void)fn; (void)arg;
    return -ENOSYS;
#endif
}

/* Layout of the kernel's struct sigaction on x86_64 and aarch64 (both have sa_restorer). */
struct pd_kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

/* A handler of the parent must never run in the child: it would run managed code. Ignored
   signals stay ignored, as across fork and exec. Only needed where CLONE_CLEAR_SIGHAND is not. */
static void reset_caught_signals(void)
{
    for (int sig = 1; sig <= PD_MAX_SIGNAL; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        struct pd_kernel_sigaction old, dfl = { 0 };
        dfl.handler = SIG_DFL;
        if (raw_syscall(SYS_rt_sigaction, sig, 0, (long)&old, PD_KERNEL_SIGSET_BYTES) == 0
            && old.handler != SIG_IGN && old.handler != SIG_DFL)
            raw_syscall(SYS_rt_sigaction, sig, (long)&dfl, 0, PD_KERNEL_SIGSET_BYTES);
    }
}

/* The dispositions the caller's runtime changed for itself (the .NET runtime ignores SIGPIPE),
   set back to SIG_DFL even where ignored, so the program starts as it would from a shell. */
static void reset_default_signals(uint64_t mask)
{
    struct pd_kernel_sigaction dfl = { 0 };
    dfl.handler = SIG_DFL;
    for (int sig = 1; sig <= PD_MAX_SIGNAL; sig++)
        if ((mask & (1ULL << (sig - 1))) && sig != SIGKILL && sig != SIGSTOP)
            raw_syscall(SYS_rt_sigaction, sig, (long)&dfl, 0, PD_KERNEL_SIGSET_BYTES);
}

/*
 * Give the child fd_map's parent descriptors under the requested numbers. Two passes, so that
 * a mapping like {0<-5, 5<-0} works: first every source is copied above every target (those
 * copies are close-on-exec and vanish at exec), then each copy is placed on its target without
 * close-on-exec.
 */
static long apply_fd_map(const struct pd_spawn_request *req)
{
    int above = 3;
    for (int i = 0; i < req->fd_map_count; i++)
        if (req->fd_map[2 * i] >= above)
            above = req->fd_map[2 * i] + 1;
    for (int i = 0; i < req->fd_map_count; i++) {
        long copy = raw_syscall(SYS_fcntl, req->fd_map[2 * i + 1], F_DUPFD_CLOEXEC, above, 0);
        if (copy < 0)
            return copy;
        req->fd_scratch[i] = (int)copy;
    }
    for (int i = 0; i < req->fd_map_count; i++) {
        long r = raw_syscall(SYS_dup3, req->fd_scratch[i], req->fd_map[2 * i], 0, 0);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The lowest descriptor number not below `from` that is an fd_map target, or INT32_MAX. */
static int next_target(const struct pd_spawn_request *req, int from)
{
    int next = INT32_MAX;
    for (int i = 0; i < req->fd_map_count; i++)
        if (req->fd_map[2 * i] >= from && req->fd_map[2 * i] < next)
            next = req->fd_map[2 * i];
    return next;
}

/* Closes every descriptor in [from, to] except the fd_map targets. */
static long close_all_but_targets(const struct pd_spawn_request *req, int from, unsigned int to)
{
    for (long lo = from; lo <= (long)to;) {
        int target = next_target(req, (int)lo);
        if (target == lo) {
            lo++;
            continue;
        }
        long hi = target == INT32_MAX || (unsigned int)target > to ? (long)to : target - 1L;
        long r = raw_syscall(SYS_close_range, lo, hi, 0, 0);
        if (r < 0)
            return r;
        lo = hi + 1;
    }
    return 0;
}

/* Before close_range (Linux 5.4 - 5.8): the private table's descriptors >= from, read from
   /proc/self/fd with getdents64 (no libc), each closed unless an fd_map target; without /proc,
   every number up to the soft RLIMIT_NOFILE. */
static long close_by_listing(const struct pd_spawn_request *req, int from)
{
    long dir = raw_syscall(SYS_openat, AT_FDCWD, (long)"/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (dir < 0) {
        struct { uint64_t cur, max; } limit;
        long r = raw_syscall(SYS_prlimit64, 0, 7 /* RLIMIT_NOFILE */, 0, (long)&limit);
        unsigned int top = r == 0 && limit.cur < (1U << 30) ? (unsigned int)limit.cur : (1U << 20);
        for (unsigned int fd = (unsigned int)from; fd < top; fd++)
            if (next_target(req, (int)fd) != (int)fd)
                raw_syscall(SYS_close, fd, 0, 0, 0);
        return 0;
    }
    _Alignas(8) char buffer[2048];
    while (1) {
        long got = raw_syscall(SYS_getdents64, dir, (long)buffer, sizeof buffer, 0);
        if (got <= 0) {
            raw_syscall(SYS_close, dir, 0, 0, 0);
            return got;
        }
        for (long at = 0; at < got;) {
            /* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[] */
            unsigned short reclen = *(unsigned short *)(buffer + at + 16);
            const char *name = buffer + at + 19;
            long fd = 0;
            int digits = 0;
            for (; *name >= '0' && *name <= '9'; name++, digits++)
                fd = fd * 10 + (*name - '0');
            /* Closing while listing: the directory is read in order and entries already read stay read. */
            if (digits > 0 && *name == '\0' && fd >= from && fd != dir && next_target(req, (int)fd) != fd)
                raw_syscall(SYS_close, fd, 0, 0, 0);
            at += reclen;
        }
    }
}

/*
 * PdChild.WithoutOtherDescriptors: only 0-2 (and the fd_map targets) survive into the program.
 * With a shared table (CLONE_FILES, chosen by the parent only where close_range works),
 * close_range(n, ~0, CLOSE_RANGE_UNSHARE) gives the child a private copy of the numbers below n
 * only, so the cost does not grow with the caller's open descriptors (a plain clone copies the
 * whole table and exec closes every close-on-exec entry: measured 455 us against 794 us per spawn
 * with 4,000 open). n covers every fd_map source and target; the fd map is applied in the private
 * table, then what is left below n is closed. Without the shared table: the child's own copy,
 * closed by listing.
 */
static long keep_only_mapped(const struct pd_spawn_request *req, int files_shared)
{
    if (!files_shared) {
        long r = apply_fd_map(req);
        return r < 0 ? r : close_by_listing(req, req->close_from);
    }
    int n = req->close_from;
    for (int i = 0; i < 2 * req->fd_map_count; i++)
        if (req->fd_map[i] + 1 > n)
            n = req->fd_map[i] + 1;
    long r = raw_syscall(SYS_close_range, n, ~0U, PD_CLOSE_RANGE_UNSHARE, 0);
    if (r < 0)
        return r;
    r = apply_fd_map(req);
    if (r < 0)
        return r;
    return n > req->close_from ? close_all_but_targets(req, req->close_from, (unsigned int)n - 1) : 0;
}

static int child_main(void *arg)
{
    struct pd_spawn_shared *shared = arg;
    const struct pd_spawn_request *req = shared->req;

    if (!shared->handlers_already_cleared)
        reset_caught_signals();
    reset_default_signals(req->default_signals);

    /* The helper parent makes children with its requester's credentials (groups, then gids, then
       uids, as privilege allows); before the death signal, which a credential change clears. */
    if (req->credentials) {
        const uint32_t *c = req->credentials;
        long r = c[6] == (uint32_t)-1 ? 0 : raw_syscall(SYS_setgroups, c[6], (long)(c + 7), 0, 0);
        if (r == 0)
            r = raw_syscall(SYS_setresgid, c[3], c[4], c[5], 0);
        if (r == 0)
            r = raw_syscall(SYS_setresuid, c[0], c[1], c[2], 0);
        if (r != 0) {
            shared->child_errno = (int)-r;
            return 127;
        }
    }

    /* Kill-on-close when the whole parent dies (exit, crash, SIGKILL): the kernel sends
       death_signal when the thread that created us exits, and the library creates such children
       from one thread that lives as long as the process. If the parent died before this line,
       we were already reparented and the signal will never come: give up now. */
    if (req->death_signal) {
        raw_syscall(SYS_prctl, PR_SET_PDEATHSIG, req->death_signal, 0, 0);
        if (raw_syscall(SYS_getppid, 0, 0, 0, 0) != req->expected_parent) {
            shared->child_errno = ESRCH;
            return 127;
        }
    }

    /* The sandbox (PdChild.WithSandbox): the ruleset was built by the parent, so the child only
       enforces it. Landlock binds the calling thread, and this process has one thread until exec,
       so the whole program runs inside it. Before the descriptor moves, which may reuse the
       ruleset's number; a failure fails pdfork (a sandbox asked for is never silently skipped). */
    long r = 0;
    if (req->no_new_privs)
        r = raw_syscall5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (r == 0 && req->sandbox_ruleset >= 0)
        r = raw_syscall(SYS_landlock_restrict_self, req->sandbox_ruleset, 0, 0, 0);
    if (r != 0) {
        shared->child_errno = (int)-r;
        return 127;
    }

    r = req->close_from > 0 ? keep_only_mapped(req, shared->files_shared) : apply_fd_map(req);
    if (r == 0 && req->cwd)
        r = raw_syscall(SYS_chdir, (long)req->cwd, 0, 0, 0);
    if (r == 0) {
        raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&shared->caller_mask, 0,
                    PD_KERNEL_SIGSET_BYTES);
        r = raw_syscall(SYS_execve, (long)req->path, (long)req->argv, (long)req->envp, 0);
        /* execvp's fallback (PdChild.ExecFromPath): a file the kernel cannot execute, such as a
           script without "#!", is run by /bin/sh, as glibc, musl... and FreeBSD's libc do. */
        if (r == -ENOEXEC && req->script_argv)
            r = raw_syscall(SYS_execve, (long)req->script_argv[0], (long)req->script_argv, (long)req->envp, 0);
    }
    /* Only reached on failure. The parent reads this after we exit (CLONE_VFORK). */
    shared->child_errno = (int)-r;
    return 127;
}

/* Whether close_range works here (Linux 5.9+, and not refused by a seccomp filter): asked once,
   with a range that names no descriptor. */
static int close_range_works(void)
{
    static volatile int known; /* 0 not asked, 1 yes, 2 no */
    /* Never with CLOSE_RANGE_UNSHARE here: it would give this thread a table of its own. The flag
       came with the call (5.9). */
    if (known == 0)
        known = raw_syscall(SYS_close_range, ~0U, ~0U, 0, 0) == 0 ? 1 : 2;
    return known == 1;
}

/*
 * Start req->path in a new process. Returns 0 with *pidfd_out (close-on-exec) and *pid_out
 * filled, or a positive errno: the clone's, or the child's (fd moves, chdir, execve), in which
 * case the failed child has already been reaped and nothing is left behind.
 */
__attribute__((visibility("default")))
int procdesc_spawn(const struct pd_spawn_request *req, int *pidfd_out, int *pid_out)
{
    _Alignas(16) char child_stack[PD_CHILD_STACK_BYTES];
    struct pd_spawn_shared shared = { .req = req, .child_errno = 0 };
    int pidfd = -1;

    uint64_t block_all = ~0ULL;
    raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&block_all, (long)&shared.caller_mask,
                PD_KERNEL_SIGSET_BYTES);

    /* Share the table only where the child can unshare it with close_range (5.9+): a child that
       closed descriptors in a shared table would close ours. */
    shared.files_shared = req->close_from > 0 && close_range_works();
    struct pd_clone_args args = {
        .flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | PD_CLONE_CLEAR_SIGHAND | req->clone_flags
                 | (shared.files_shared ? CLONE_FILES : 0),
        .pidfd = (uint64_t)(uintptr_t)&pidfd,
        .exit_signal = 0,
        .stack = (uint64_t)(uintptr_t)child_stack,
        .stack_size = sizeof child_stack,
    };
    shared.handlers_already_cleared = 1;
    long pid = clone3_and_run(&args, child_main, &shared);
    if (pid == -EINVAL && req->clone_flags) {
        /* The extra flags are what this kernel does not know (before 7.1): never drop them. */
        pid = -EOPNOTSUPP;
    } else if (pid == -EINVAL) {
        /* Before 5.5 clone3 rejects CLONE_CLEAR_SIGHAND: the child clears handlers itself. */
        args.flags &= ~PD_CLONE_CLEAR_SIGHAND;
        shared.handlers_already_cleared = 0;
        pid = clone3_and_run(&args, child_main, &shared);
    }
    if (pid == -ENOSYS && req->clone_flags) {
        pid = -EOPNOTSUPP; /* clone() has no room for them */
    } else if (pid == -ENOSYS) {
        /* No clone3 (old kernel, or a seccomp profile such as Docker's): clone() returns the
           pidfd through parent_tid; the low byte of flags is the exit signal, here 0. */
        shared.handlers_already_cleared = 0;
        pid = clone(child_main, child_stack + sizeof child_stack,
                    CLONE_VM | CLONE_VFORK | CLONE_PIDFD | (shared.files_shared ? CLONE_FILES : 0), &shared, &pidfd);
        if (pid < 0)
            pid = -errno;
    }

    raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&shared.caller_mask, 0,
                PD_KERNEL_SIGSET_BYTES);

    if (pid < 0)
        return (int)-pid;
    if (shared.child_errno != 0) {
        /* The child never exec'd, so its exit signal is still 0: only __WALL sees it. Its
           zombie pins the pid, so waiting by pid cannot reach another process. An auto-reaped
           child (CLONE_AUTOREAP) leaves no zombie: the wait answers ECHILD at once. */
        siginfo_t info;
        while (waitid(P_PID, (id_t)pid, &info, WEXITED | PD_WALL) < 0 && errno == EINTR) {
        }
        close(pidfd);
        return shared.child_errno;
    }
    *pidfd_out = pidfd;
    *pid_out = (int)pid;
    return 0;
}
