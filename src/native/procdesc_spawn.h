/*
 * procdesc_spawn.h — the request managed code hands to the child-side helper, shared by
 * procdesc_spawn_linux.c and procdesc_spawn_freebsd.c. Laid out to match
 * Procdesc.Interop.SpawnRequest (LayoutKind.Sequential); the assertions below pin the LP64 layout
 * both systems share, and the project's tests compare it with the C# struct field by field
 * (LayoutTests on Linux with this machine's cc, FreeBsdAbiTests with clang's FreeBSD target).
 */
#ifndef PROCDESC_SPAWN_H
#define PROCDESC_SPAWN_H

#include <stddef.h>
#include <stdint.h>

struct pd_spawn_request {
    const char *path;
    char *const *argv;
    char *const *envp;
    int *fd_map;          /* pairs {child fd, parent fd}, fd_map_count of them */
    int *fd_scratch;      /* fd_map_count ints the child may overwrite */
    int fd_map_count;
    int death_signal;     /* Linux: 0, or the signal the child gets when its creating thread dies */
    const char *cwd;      /* NULL: keep the caller's working directory */
    int expected_parent;  /* Linux: the caller's pid, to detect a parent that died before the child armed death_signal */
    int pd_flags;         /* FreeBSD: PD_DAEMON | PD_CLOEXEC, passed to the kernel as they are */
    void *pdrfork_thread; /* FreeBSD: libc's pdrfork_thread, or NULL where libc has none */
    uint64_t clone_flags; /* Linux: more clone3 flags (CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD_AUTOKILL) */
    const uint32_t *credentials; /* Linux, helper parent: NULL, or ruid euid suid rgid egid sgid ngroups groups[ngroups], set in the child */
    int sandbox_ruleset;  /* Linux: -1, or a Landlock ruleset the child enforces on itself before exec */
    int no_new_privs;     /* Linux: 1 to set no_new_privs in the child (every sandbox does; Landlock requires it) */
    uint64_t default_signals;  /* signals set back to SIG_DFL before exec, ignored or not: bit n-1 for host signal n */
    char *const *script_argv;  /* NULL, or execvp's ENOEXEC fallback: {"/bin/sh", path, argv[1], ..., NULL} */
    int close_from;       /* 0, or: the child closes every descriptor >= close_from except the fd_map targets before exec */
    int reserved;
};

#if defined(__LP64__) || defined(_LP64)
_Static_assert(offsetof(struct pd_spawn_request, argv) == 8, "SpawnRequest.Argv");
_Static_assert(offsetof(struct pd_spawn_request, fd_map_count) == 40, "SpawnRequest.FdMapCount");
_Static_assert(offsetof(struct pd_spawn_request, death_signal) == 44, "SpawnRequest.DeathSignal");
_Static_assert(offsetof(struct pd_spawn_request, cwd) == 48, "SpawnRequest.WorkingDirectory");
_Static_assert(offsetof(struct pd_spawn_request, expected_parent) == 56, "SpawnRequest.ExpectedParent");
_Static_assert(offsetof(struct pd_spawn_request, pd_flags) == 60, "SpawnRequest.PdFlags");
_Static_assert(offsetof(struct pd_spawn_request, pdrfork_thread) == 64, "SpawnRequest.PdrforkThread");
_Static_assert(offsetof(struct pd_spawn_request, clone_flags) == 72, "SpawnRequest.CloneFlags");
_Static_assert(offsetof(struct pd_spawn_request, credentials) == 80, "SpawnRequest.Credentials");
_Static_assert(offsetof(struct pd_spawn_request, sandbox_ruleset) == 88, "SpawnRequest.SandboxRuleset");
_Static_assert(offsetof(struct pd_spawn_request, no_new_privs) == 92, "SpawnRequest.NoNewPrivs");
_Static_assert(offsetof(struct pd_spawn_request, default_signals) == 96, "SpawnRequest.DefaultSignals");
_Static_assert(offsetof(struct pd_spawn_request, script_argv) == 104, "SpawnRequest.ScriptArgv");
_Static_assert(offsetof(struct pd_spawn_request, close_from) == 112, "SpawnRequest.CloseFrom");
_Static_assert(sizeof(struct pd_spawn_request) == 120, "sizeof(SpawnRequest)");
#endif

#endif
