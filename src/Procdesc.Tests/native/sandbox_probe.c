/*
 * sandbox_probe TMPDIR TCP_PORT ABSTRACT_NAME PARENT_PID PASSED_FD — tries what a sandbox denies and
 * prints one line per attempt: its name and 0 when it worked, else the errno it failed with. The
 * sandbox tests run it inside and outside PdChild.WithSandbox / procdesc run --sandbox and compare.
 * Test-only; built by Procdesc.Tests.csproj with the system cc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void report(const char *name, int result)
{
    printf("%s %d\n", name, result < 0 ? errno : 0);
}

static int tcp(int port, int do_bind)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int r = do_bind ? bind(s, (struct sockaddr *)&a, sizeof a) : connect(s, (struct sockaddr *)&a, sizeof a);
    int saved = errno;
    close(s);
    errno = saved;
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: sandbox_probe TMPDIR TCP_PORT ABSTRACT_NAME PARENT_PID PASSED_FD\n");
        return 2;
    }
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    report("open_passwd", fd);
    if (fd >= 0)
        close(fd);

    char file[4096];
    snprintf(file, sizeof file, "%s/probe-%d", argv[1], (int)getpid());
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    report("create_tmp", fd);
    if (fd >= 0) {
        close(fd);
        unlink(file);
    }

    report("tcp_connect", tcp(atoi(argv[2]), 0));
    report("tcp_bind", tcp(0, 1));

    int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    size_t len = strlen(argv[3]);
    memcpy(a.sun_path + 1, argv[3], len); /* sun_path[0] = 0: the abstract namespace */
    report("abstract_connect", connect(u, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)));
    close(u);

    report("signal_parent", kill(atoi(argv[4]), SIGURG)); /* SIGURG: ignored by default */

    report("passed_fd", write(atoi(argv[5]), "x", 1) == 1 ? 0 : -1);
    return 0;
}
