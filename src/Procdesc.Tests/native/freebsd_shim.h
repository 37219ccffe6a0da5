/*
 * freebsd_shim.h — just enough of FreeBSD's declarations for a syntax and type check of
 * src/native/procdesc_spawn_freebsd.c on Linux, where no FreeBSD headers exist (test-only).
 * The real build on FreeBSD uses the system headers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define _SIG_MAXSIG 128
/* sys/syscall.h (FreeBSD 5+): sigaction 416, sigprocmask 340. Linux's own numbers differ. */
#undef SYS_sigaction
#undef SYS_sigprocmask
#define SYS_sigaction 416
#define SYS_sigprocmask 340
#define PD_DAEMON 0x00000001
#define PD_CLOEXEC 0x00000002
pid_t pdfork(int *fdp, int flags);
