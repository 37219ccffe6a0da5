/*
 * procdesc_parent.c — the helper parent (Linux): a small process of the library's that creates
 * children on its request and answers waitid for them, so that those children are not children of
 * the .NET program. Why: after exec a child's exit signal is SIGCHLD again (contract §10 L1), and a
 * program that reaps every child — .NET's runtime does when it is pid 1, as in containers, and the
 * kernel does when SIGCHLD is ignored — takes their statuses; before Linux 6.15 nothing is left for
 * pdwait4. A child of this helper is reaped by nobody but the helper, and only when the library asks.
 *
 * Protocol: one SOCK_SEQPACKET socket (argv[1] names its descriptor). Every message starts with
 * struct pd_parent_header; the library's request id comes back in the reply.
 *   SPAWN: struct pd_parent_spawn, then fd_count - sandbox ints (the child's numbers for the descriptors
 *     passed with SCM_RIGHTS, in order), then NUL-terminated strings: path, argv[argc],
 *     envp[envc], and cwd if has_cwd. Reply: struct pd_parent_spawned, with the child's pidfd by
 *     SCM_RIGHTS when error is 0. Children made without daemon die when this helper's main thread
 *     ends (PR_SET_PDEATHSIG), and the helper dies with the program (the library arms the same).
 *   WAITID: struct pd_parent_waitid. waitid(P_PID, pid, options | __WALL) with rusage; a call
 *     without WNOHANG runs on a thread of its own. Reply: struct pd_parent_waited. P_PID is safe:
 *     the helper never reaps on its own, so a child's zombie holds its pid until the library's
 *     WEXITED request.
 * A child gets only the descriptors the request passes: the library passes every descriptor of
 * the program's that is not close-on-exec, and the program's working directory, so the child sees
 * what a child of the program would. End of the socket (the program is gone): the helper exits,
 * and its children made without daemon with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procdesc_parent.h"
#include "procdesc_spawn.h"

int procdesc_spawn(const struct pd_spawn_request *req, int *pidfd_out, int *pid_out);

#define PD_WALL 0x40000000
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define PD_MAX_MESSAGE (1 << 20)
#define PD_MAX_FDS 253 /* SCM_MAX_FD */

static int s_socket;

static void reply(const void *message, size_t size, int fd)
{
    struct iovec iov = { (void *)message, size };
    struct msghdr mh = { 0 };
    char control[CMSG_SPACE(sizeof(int))];
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (fd >= 0) {
        memset(control, 0, sizeof control);
        mh.msg_control = control;
        mh.msg_controllen = sizeof control;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    while (sendmsg(s_socket, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

static void do_waitid(const struct pd_parent_waitid *request)
{
    struct pd_parent_waited answer = { .header = { PD_PARENT_WAITED, request->header.id } };
    siginfo_t info;
    struct rusage usage;
    long r;
    do {
        memset(&info, 0, sizeof info);
        memset(&usage, 0, sizeof usage);
        r = syscall(SYS_waitid, P_PID, (id_t)request->pid, &info, request->options | PD_WALL, &usage);
    } while (r < 0 && errno == EINTR);
    answer.result = (int32_t)r;
    answer.error = r < 0 ? errno : 0;
    if (r == 0) {
        answer.pid = info.si_pid;
        answer.code = info.si_code;
        answer.status = info.si_status;
        answer.uid = info.si_uid;
        memcpy(answer.rusage, &usage, sizeof answer.rusage < sizeof usage ? sizeof answer.rusage : sizeof usage);
    }
    reply(&answer, sizeof answer, -1);
}

static void *waitid_thread(void *arg)
{
    do_waitid(arg);
    free(arg);
    return NULL;
}

static void waitid_request(const char *message, size_t size)
{
    if (size < sizeof(struct pd_parent_waitid))
        return;
    const struct pd_parent_waitid *request = (const void *)message;
    if (request->options & WNOHANG) {
        do_waitid(request);
        return;
    }
    struct pd_parent_waitid *copy = malloc(sizeof *copy);
    pthread_t thread;
    pthread_attr_t attributes;
    int started = copy != NULL && pthread_attr_init(&attributes) == 0;
    if (started) {
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attributes, 64 * 1024);
        memcpy(copy, request, sizeof *copy);
        started = pthread_create(&thread, &attributes, waitid_thread, copy) == 0;
        pthread_attr_destroy(&attributes);
    }
    if (!started) {
        free(copy);
        struct pd_parent_waited answer = { .header = { PD_PARENT_WAITED, request->header.id }, .result = -1, .error = EAGAIN };
        reply(&answer, sizeof answer, -1);
    }
}

/* True when the helper's own supplementary groups are these (in any order). */
static int same_groups(const uint32_t *groups, int count)
{
    gid_t own[65536];
    int n = getgroups(65536, own);
    if (n != count)
        return 0;
    for (int i = 0; i < count; i++) {
        int found = 0;
        for (int j = 0; j < n && !found; j++)
            found = own[j] == groups[i];
        if (!found)
            return 0;
    }
    return 1;
}

/* The next NUL-terminated string of the message, or NULL past its end. */
static char *next_string(char **cursor, char *end)
{
    char *s = *cursor;
    char *nul = s < end ? memchr(s, 0, (size_t)(end - s)) : NULL;
    if (nul == NULL)
        return NULL;
    *cursor = nul + 1;
    return s;
}

static void spawn_request(char *message, size_t size, const int *fds, int fd_count)
{
    struct pd_parent_spawned answer = { .header = { PD_PARENT_SPAWNED, 0 }, .error = EINVAL };
    const struct pd_parent_spawn *request = (const void *)message;
    char **argv = NULL, **envp = NULL, **script_argv = NULL;
    int *map = NULL, *scratch = NULL;
    uint32_t *credentials = NULL;
    int pidfd = -1;
    if (size < sizeof *request)
        goto done;
    answer.header.id = request->header.id;
    if (request->argc < 1 || request->envc < 0 || request->fd_count != fd_count
        || request->sandbox < 0 || request->sandbox > fd_count || request->sandbox > 1)
        goto done;
    int map_count = fd_count - request->sandbox; /* the ruleset, last, is not placed in the child */
    char *cursor = message + sizeof *request, *end = message + size;
    if (request->ngroups < 0 || request->ngroups > 65536
        || (size_t)(end - cursor) < ((size_t)map_count + (size_t)request->ngroups) * sizeof(int32_t))
        goto done;
    argv = calloc((size_t)request->argc + 1, sizeof *argv);
    envp = calloc((size_t)request->envc + 1, sizeof *envp);
    map = calloc((size_t)fd_count * 2 + 1, sizeof *map);
    scratch = calloc((size_t)fd_count + 1, sizeof *scratch);
    if (!argv || !envp || !map || !scratch) {
        answer.error = ENOMEM;
        goto done;
    }
    for (int i = 0; i < map_count; i++) {
        int32_t child_fd;
        memcpy(&child_fd, cursor, sizeof child_fd);
        cursor += sizeof child_fd;
        map[2 * i] = child_fd;
        map[2 * i + 1] = fds[i];
    }
    /* The requester's credentials for the child; its groups only where they differ from the
       helper's (setgroups needs privilege even to set the same list). */
    credentials = calloc(7 + (size_t)request->ngroups, sizeof *credentials);
    if (!credentials) {
        answer.error = ENOMEM;
        goto done;
    }
    memcpy(credentials, request->ids, sizeof request->ids);
    memcpy(credentials + 7, cursor, (size_t)request->ngroups * sizeof(uint32_t));
    cursor += (size_t)request->ngroups * sizeof(uint32_t);
    credentials[6] = (uint32_t)request->ngroups;
    if (same_groups(credentials + 7, request->ngroups))
        credentials[6] = (uint32_t)-1;
    char *path = next_string(&cursor, end);
    for (int i = 0; path && i < request->argc; i++)
        if (!(argv[i] = next_string(&cursor, end)))
            path = NULL;
    for (int i = 0; path && i < request->envc; i++)
        if (!(envp[i] = next_string(&cursor, end)))
            path = NULL;
    char *cwd = request->has_cwd && path ? next_string(&cursor, end) : NULL;
    if (!path || (request->has_cwd && !cwd))
        goto done;
    if (request->script_fallback) {
        /* execvp's {"/bin/sh", path, argv[1], ...}, built here: the child has no heap of its own. */
        script_argv = calloc((size_t)request->argc + 2, sizeof *script_argv);
        if (!script_argv) {
            answer.error = ENOMEM;
            goto done;
        }
        script_argv[0] = "/bin/sh";
        script_argv[1] = path;
        for (int i = 1; i < request->argc; i++)
            script_argv[i + 1] = argv[i];
    }
    struct pd_spawn_request spawn = {
        .path = path, .argv = argv, .envp = envp, .fd_map = map, .fd_scratch = scratch,
        .fd_map_count = map_count, .cwd = cwd,
        .sandbox_ruleset = request->sandbox ? fds[fd_count - 1] : -1, .no_new_privs = request->no_new_privs,
        /* Dies with this helper's main thread, which lives as long as the helper. */
        .death_signal = request->daemon ? 0 : SIGKILL, .expected_parent = (int)getpid(),
        .credentials = credentials,
        .default_signals = (uint64_t)request->default_signals[0] | (uint64_t)request->default_signals[1] << 32,
        .script_argv = script_argv,
    };
    int pid = 0;
    answer.error = procdesc_spawn(&spawn, &pidfd, &pid);
    answer.pid = pid;
done:
    for (int i = 0; i < fd_count; i++)
        close(fds[i]);
    free(argv);
    free(envp);
    free(script_argv);
    free(map);
    free(scratch);
    free(credentials);
    reply(&answer, sizeof answer, answer.error == 0 ? pidfd : -1);
    if (pidfd >= 0)
        close(pidfd); /* the library has its copy; the helper waits by pid */
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    s_socket = atoi(argv[1]);
    fcntl(s_socket, F_SETFD, FD_CLOEXEC); /* never inherited by the children */
    /* A child gets the program's descriptors with each request, as they are then, and nothing of
       what the program had when this helper started (its stdio included). */
    for (int fd = 0; fd < s_socket; fd++)
        close(fd);
    if (syscall(SYS_close_range, s_socket + 1, ~0U, 0) != 0)
        for (int fd = s_socket + 1; fd < 65536; fd++)
            close(fd);
    /* Ignored dispositions survive exec, and an ignored SIGCHLD would make the kernel reap this
       helper's children itself: the very loss the helper exists to prevent. */
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    static char message[PD_MAX_MESSAGE];
    char control[CMSG_SPACE(PD_MAX_FDS * sizeof(int))];
    for (;;) {
        struct iovec iov = { message, sizeof message };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
        ssize_t n = recvmsg(s_socket, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(0); /* the program is gone */
        int fds[PD_MAX_FDS], fd_count = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < k && fd_count < PD_MAX_FDS; i++)
                memcpy(&fds[fd_count++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
        if ((size_t)n < sizeof(struct pd_parent_header))
            continue;
        uint32_t kind;
        memcpy(&kind, message, sizeof kind);
        if (kind == PD_PARENT_SPAWN)
            spawn_request(message, (size_t)n, fds, fd_count);
        else if (kind == PD_PARENT_WAITID)
            waitid_request(message, (size_t)n);
        if (kind != PD_PARENT_SPAWN)
            for (int i = 0; i < fd_count; i++)
                close(fds[i]);
    }
}
