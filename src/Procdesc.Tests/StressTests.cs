using System.Diagnostics;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>Creation under a busy garbage collector: no child may hang between clone and exec.</summary>
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class StressTests
{
    [Test, CancelAfter(300_000), Contract("§1 success"), Contract("§4 child exited (zombie)")]
    public void TwoThousandCycles_WhileTwoThreadsAllocate_EveryChildRunsAndIsReaped(CancellationToken cancellation)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        long allocated = 0;
        Thread[] allocators = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            var keep = new List<byte[]>();
            while (!stop.IsCancellationRequested)
            {
                keep.Add(new byte[Random.Shared.Next(16, 64 * 1024)]);
                if (keep.Count > 256) keep.Clear();
                Interlocked.Increment(ref allocated);
            }
        }) { IsBackground = true }).ToArray();
        foreach (var t in allocators) t.Start();
        int gcBefore = GC.CollectionCount(0);
        var before = Processes.OpenDescriptors();
        var child = PdChild.Exec("/bin/true", ["true"]);
        try
        {
            for (int i = 0; i < 2000; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                int pid = pdfork(out int fd, PD_CLOEXEC, child);
                pid.ShouldBeGreaterThan(0, $"cycle {i}: {GetLastError()}");
                // Bounded: a child stuck before exec would never hang up.
                Kids.WaitForExit(fd, 30_000).ShouldBeTrue($"cycle {i}: child {pid} did not exit");
                pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
                WIFEXITED(status).ShouldBeTrue();
                WEXITSTATUS(status).ShouldBe(0);
                close(fd).ShouldBe(0);
            }
        }
        finally
        {
            stop.Cancel();
            foreach (var t in allocators) t.Join();
        }
        GC.CollectionCount(0).ShouldBeGreaterThan(gcBefore, "the collector ran during the test");
        Processes.Children().ShouldBeEmpty();
        Processes.NoDescriptorLeaked(before);
        TestContext.Out.WriteLine($"allocations: {allocated}, gen0 collections: {GC.CollectionCount(0) - gcBefore}");
    }
}
