using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Starts the library once before any test, so that its long-lived descriptors (the reaper's epoll
/// and eventfd) exist before the first test's descriptor snapshot and are not taken for a leak.
/// </summary>
[SetUpFixture]
public class LibraryWarmUp
{
    [OneTimeSetUp]
    public void StartTheBackend()
    {
        TestContext.Progress.WriteLine($"Procdesc backend: {PdSyscall.Backend}");
        if (!OperatingSystem.IsLinux())
            return; // only the Linux backend keeps descriptors of its own
        int pid = Kids.Sleeper(out int fd);
        close(fd).ShouldBe(0);
        Kids.EventuallyGone(pid).ShouldBeTrue();
    }
}
