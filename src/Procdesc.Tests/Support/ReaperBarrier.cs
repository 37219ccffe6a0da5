namespace Procdesc.Tests.Support;

/// <summary>
/// The library handles closes in the background, in order. To show that something did NOT happen
/// after a close (a daemon or a still-copied child was not killed) without sleeping and hoping,
/// close a throwaway child afterwards and wait until it is gone: by then every earlier close has
/// been handled.
/// </summary>
internal static class ReaperBarrier
{
    internal static void WaitForEarlierCloses()
    {
        int pid = Spawn.Sleeper(out int fd);
        close(fd).ShouldBe(0);
        Processes.EventuallyGone(pid).ShouldBeTrue("the reaper handled a later close");
    }
}
