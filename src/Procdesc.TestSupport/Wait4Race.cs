namespace Procdesc.TestSupport;

/// <summary>
/// Contract §4's race of blocking pdwait4 callers on one child: four threads (two on its
/// descriptor, one on each of two dup'ed copies) wait, the child is killed, and exactly one caller
/// gets the status while the others get -1, ECHILD. The conformance row runs it; the Linux unit
/// test runs it with a check of its own before the kill.
/// </summary>
internal static class Wait4Race
{
    /// <summary>
    /// One round. <paramref name="beforeTheKill"/> sees the waiters once each has made its first,
    /// non-blocking call and is on its way into the blocking one.
    /// </summary>
    internal static void Round(int round, CancellationToken token, Action<BlockedWait4[]>? beforeTheKill = null)
    {
        int pid = Kids.Sleeper(out int fd);
        var copies = new List<int> { fd, fd };
        try
        {
            for (int i = 0; i < 2; i++)
            {
                int copy = CLibc.dup(fd);
                copy.ShouldBeGreaterThanOrEqualTo(0);
                copies.Add(copy);
            }
            var waiters = copies.Select(copy => new BlockedWait4(copy)).ToArray();
            using (var started = new CountdownEvent(waiters.Length))
            {
                foreach (BlockedWait4 waiter in waiters)
                    waiter.Start(started);
                started.Wait(token);
            }
            foreach (BlockedWait4 waiter in waiters)
                waiter.Warmup.ShouldBe(0, "a WNOHANG call on the running child, made first by every waiter");
            beforeTheKill?.Invoke(waiters);

            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            foreach (BlockedWait4 waiter in waiters)
                waiter.Join(token);

            string all = $"round {round}: " + string.Join("; ", waiters.Select(w => $"fd {w.Fd}: {w.Result} ({w.Canonical})"));
            waiters.Count(w => w.Result == pid).ShouldBe(1, all);
            BlockedWait4 winner = waiters.Single(w => w.Result == pid);
            WIFSIGNALED(winner.Status).ShouldBeTrue(all);
            WTERMSIG(winner.Status).ShouldBe(Signum.SIGKILL, all);
            foreach (BlockedWait4 loser in waiters.Where(w => w != winner))
            {
                loser.Result.ShouldBe(-1, all);
                loser.Canonical.ShouldBe(Errno.ECHILD, all);
                loser.Native.ShouldBe(CLibc.ECHILD, all);
                loser.Status.ShouldBe(0, all);
            }
            Kids.ShouldBeReapedThroughTheLibrary(pid);
        }
        finally
        {
            // Killing first unblocks any waiter a failure left behind.
            Kids.Cleanup(fd);
            foreach (int copy in copies.Skip(2))
                close(copy);
        }
    }
}
