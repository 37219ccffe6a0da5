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
}
