using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Contract §4's race of blocking pdwait4 callers, with what only Linux can show: every caller is
/// asleep in the kernel when the child dies. The other §4 and §5 rows are compat-tests'.
/// </summary>
[Contract("§4")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class WaitTests
{
    [Test, CancelAfter(30_000)]
    [Contract("§4 blocking call while another thread reaps the same child: exactly one caller gets the status; the others -1, ECHILD")]
    public void Pdwait4_ConcurrentBlockingCallers_AllAsleepInTheKernel_ExactlyOneGetsTheStatus(CancellationToken token)
    {
        // The conformance row runs the same rounds but cannot see whether a waiter has entered its
        // blocking call before the kill; /proc can, so here each kill races four sleeping callers.
        for (int round = 0; round < 5; round++)
        {
            Wait4Race.Round(round, token, beforeTheKill: waiters =>
                Kids.Eventually(() => waiters.All(w => w.Tid > 0 && Processes.State(w.Tid) == 'S'))
                    .ShouldBeTrue("every waiter blocks in pdwait4 before the child dies"));
        }
    }

    [Test, CancelAfter(60_000)]
    [Contract("§4 blocking call while another thread reaps the same child: exactly one caller gets the status; the others -1, ECHILD")]
    public void Pdwait4_BlockedCallerAndAPollingCaller_OnlyOneGetsTheStatus_WhoeverTheKernelGaveItTo(CancellationToken token)
    {
        // The blocked caller takes the exit in the kernel, outside the record's lock; a WNOHANG
        // caller that comes between that reap and its publication finds the child gone. It must
        // not take the kernel's kept exit status for a second report (the child was reaped by the
        // library, not outside it). The window is a few microseconds, so many rounds; before the
        // hand-off (ChildWaits.AwaitPublication) both callers got the status within 300 rounds.
        int blockedWon = 0, pollerWon = 0;
        for (int round = 0; round < 300; round++)
        {
            token.ThrowIfCancellationRequested();
            int pid = Kids.Sleeper(out int fd);
            try
            {
                var blocked = new BlockedWait4(fd);
                using (var started = new CountdownEvent(1))
                {
                    blocked.Start(started);
                    started.Wait(token);
                }
                Kids.Eventually(() => blocked.Tid > 0 && Processes.State(blocked.Tid) == 'S')
                    .ShouldBeTrue("the blocked caller sleeps in pdwait4 before the child dies");

                pdkill(fd, Signum.SIGKILL).ShouldBe(0);
                // Woken with the blocked caller, which is in the kernel already and usually reaps
                // first: this caller's pdwait4 then lands just after that reap.
                Kids.WaitForExit(fd).ShouldBeTrue("the killed child exits within the bound");
                int polled;
                long deadline = Environment.TickCount64 + 10_000;
                while ((polled = pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _)) == 0)
                    (Environment.TickCount64 < deadline).ShouldBeTrue("the killed child is reported within the bound");
                Errno pollError = polled < 0 ? GetLastError() : 0;
                blocked.Join(token);

                string both = $"round {round}: blocked {blocked.Result} ({blocked.Canonical}), polling {polled} ({pollError})";
                new[] { blocked.Result, polled }.Count(r => r == pid).ShouldBe(1, both);
                (blocked.Result == pid ? polled : blocked.Result).ShouldBe(-1, both);
                (blocked.Result == pid ? pollError : blocked.Canonical).ShouldBe(Errno.ECHILD, both);
                if (blocked.Result == pid)
                    blockedWon++;
                else
                    pollerWon++;
                Kids.ShouldBeReapedThroughTheLibrary(pid);
            }
            finally
            {
                Kids.Cleanup(fd);
            }
        }
        TestContext.Out.WriteLine($"the blocked caller got the status {blockedWon} times, the polling one {pollerWon}");
    }
}
