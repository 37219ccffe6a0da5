/*
 * procdesc_parent.h — the messages between the library and its helper parent (procdesc_parent.c),
 * laid out to match Procdesc.Interop.ParentMessages. Every field is 32 bits, so the layout is the
 * same on every 64-bit ABI; the assertions pin it.
 */
#ifndef PROCDESC_PARENT_H
#define PROCDESC_PARENT_H

#include <stdint.h>

enum { PD_PARENT_SPAWN = 1, PD_PARENT_SPAWNED = 2, PD_PARENT_WAITID = 3, PD_PARENT_WAITED = 4 };

struct pd_parent_header {
    uint32_t kind;
    uint32_t id; /* the library's request id, echoed in the reply */
};

struct pd_parent_spawn {
    struct pd_parent_header header;
    int32_t daemon;   /* 0: the child dies with the helper (and so with the program) */
    int32_t argc;
    int32_t envc;
    int32_t fd_count; /* descriptors passed with SCM_RIGHTS; their child numbers follow */
    int32_t has_cwd;
    uint32_t ids[6];  /* the requesting thread's ruid euid suid rgid egid sgid */
    int32_t ngroups;  /* its supplementary groups, which follow the descriptor numbers */
    int32_t sandbox;  /* 1: the last passed descriptor is a Landlock ruleset for the child (no number follows for it) */
    int32_t no_new_privs;
    int32_t script_fallback;      /* 1: a file exec refuses with ENOEXEC is run by /bin/sh (execvp) */
    uint32_t default_signals[2];  /* signals set to SIG_DFL in the child: bit n-1 for signal n, low word first */
};

struct pd_parent_spawned {
    struct pd_parent_header header;
    int32_t error;    /* 0, or the errno of the creation or of the child's exec */
    int32_t pid;
};

struct pd_parent_waitid {
    struct pd_parent_header header;
    int32_t pid;
    int32_t options;  /* Linux wait bits; the helper adds __WALL */
};

struct pd_parent_waited {
    struct pd_parent_header header;
    int32_t result;   /* waitid's: 0 or -1 */
    int32_t error;
    int32_t pid, code, status;
    uint32_t uid;
    int64_t rusage[18]; /* struct rusage, 64-bit */
};

_Static_assert(sizeof(struct pd_parent_spawn) == 76, "ParentSpawn");
_Static_assert(sizeof(struct pd_parent_spawned) == 16, "ParentSpawned");
_Static_assert(sizeof(struct pd_parent_waitid) == 16, "ParentWaitid");
_Static_assert(sizeof(struct pd_parent_waited) == 176, "ParentWaited");

#endif
