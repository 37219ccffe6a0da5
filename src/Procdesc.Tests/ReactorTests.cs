using System.Diagnostics;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>One background thread watches every child: many pending waits cost no threads.</summary>
public class ReactorTests
{
    [Test, CancelAfter(120_000)]
    public async Task TenThousandPendingWaits_CostNoThreads_AndAllComplete_OrCancel(CancellationToken cancellation)
    {
        var children = Enumerable.Range(0, 100)
            .Select(_ => ProcessDescriptor.Fork(PdChild.Exec("/bin/sleep", ["sleep", "60"]), PdFlags.CloExec))
            .ToList();
        try
        {
            int threadsBefore = Process.GetCurrentProcess().Threads.Count;
            using var cancelHalf = new CancellationTokenSource();
            var waits = new List<(Task<ExitStatus> Task, bool Canceled)>();
            for (int i = 0; i < 10_000; i++)
            {
                bool canceled = i % 2 == 1;
                waits.Add((children[i % children.Count].WaitAsync(canceled ? cancelHalf.Token : CancellationToken.None), canceled));
            }
            int threadsWaiting = Process.GetCurrentProcess().Threads.Count;
            waits.ShouldAllBe(w => !w.Task.IsCompleted);
            (threadsWaiting - threadsBefore).ShouldBeLessThanOrEqualTo(2, "10,000 waits, no thread each");

            cancelHalf.Cancel();
            foreach (var (task, canceled) in waits.Where(w => w.Canceled))
                await Should.ThrowAsync<OperationCanceledException>(task.WaitAsync(TimeSpan.FromSeconds(10), cancellation));
            children.ShouldAllBe(c => !c.HasExited, "canceling a wait leaves the child alone");

            foreach (var child in children)
                child.Kill();
            foreach (var (task, _) in waits.Where(w => !w.Canceled))
            {
                ExitStatus status = await task.WaitAsync(TimeSpan.FromSeconds(30), cancellation);
                status.TermSignal.ShouldBe(Signum.SIGKILL);
            }
            // Every waiter on one child got the same status.
            foreach (var child in children)
                (await child.WaitAsync(cancellation)).ShouldBe(child.Wait());
        }
        finally
        {
            foreach (var child in children)
                child.Dispose();
        }
    }
}
