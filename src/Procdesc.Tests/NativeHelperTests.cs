using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>The library must never need Mono.Posix's native helper (it does not exist for FreeBSD).
/// `make test` also runs the whole suite with libMonoPosixHelper deleted from the output.</summary>
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class NativeHelperTests
{
    [Test]
    public void EveryCall_WorksWithoutLoadingLibMonoPosixHelper()
    {
        int pid = Kids.Sleeper(out int fd, PD_CLOEXEC | PD_DAEMON);
        pdgetpid(fd, out _).ShouldBe(0);
        pdkill(fd, Signum.SIGTERM).ShouldBe(0);
        Kids.PollThroughSignals([new Pollfd { fd = fd, events = PollEvents.POLLIN }], 10_000).ShouldBe(1);
        fstat(fd, out _).ShouldBe(0);
        pdwait(fd, out _, PdWaitOptions.WEXITED | PdWaitOptions.WNOWAIT, out _, out _).ShouldBe(0);
        pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
        close(fd).ShouldBe(0);
        pdgetpid(-1, out _).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.EBADF);
        File.ReadAllText("/proc/self/maps").ShouldNotContain("MonoPosixHelper");
    }
}
