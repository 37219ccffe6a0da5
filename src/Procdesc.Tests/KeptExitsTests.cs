using Procdesc.Backends;
using Procdesc.Backends.Linux;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// The one kept-status store (<see cref="KeptExits"/>) of both backends lives no longer than the
/// descriptors of its children. FreeBSD's bookkeeping (<see cref="PidBook"/>: by pid, evicted by a
/// census of the pids the open descriptors name) cannot run on a FreeBSD machine here, so it runs
/// on Linux through the same code, with the same census over PdSyscall.pdgetpid and real children.
/// </summary>
[NonParallelizable]
public class KeptExitsTests
{
    private const int Margin = 64; // PidBook's

    [Test, OnlyOn("Linux", "real children through the Linux backend drive FreeBSD's bookkeeping")]
    public void FreeBsdBookkeeping_OfAHundredThousandChildren_LeavesNoEntryBehind()
    {
        // Under emulation (the kernel matrix's guests) every spawn is slower: fewer children there.
        int children = (int)(100_000 / TimeScale.Factor);
        const int Batch = 8, Held = 4;
        var store = new KeptExits();
        NativePollfdScratch scratch = new();
        var book = new PidBook(store, () => PidBook.PidsBehindOpenDescriptors(fd => pdgetpid(fd, out int pid) == 0 ? pid : 0, scratch.Array));
        // A few children keep their descriptor to the end: their status must survive every census.
        var held = new List<(int Fd, int Pid, int Status)>();
        var batch = new (int Fd, int Pid)[Batch];
        int largest = 0;
        var exit = PdChild.Exec("/bin/true", ["true"]);
        for (int made = 0; made < children; made += Batch)
        {
            for (int i = 0; i < Batch; i++)
            {
                int pid = pdfork(out int fd, PD_CLOEXEC, exit);
                pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
                book.Created(pid, daemon: false);
                batch[i] = (fd, pid);
            }
            for (int i = 0; i < Batch; i++)
            {
                (int fd, int pid) = batch[i];
                pdwait4(fd, out int status, PdWaitOptions.None, out Rusage usage).ShouldBe(pid);
                store.Keep((ulong)pid, new ExitStatus(pid, status, usage)); // as FreeBsdBackend.Keep does
                if (held.Count < Held && made % (children / Held) == 0)
                {
                    held.Add((fd, pid, status));
                    continue;
                }
                close(fd).ShouldBe(0);
                book.Closed();
            }
            largest = Math.Max(largest, store.Count);
            store.Count.ShouldBeLessThanOrEqualTo(2 * (held.Count + Batch) + Margin, "the store stays within twice its live children");
        }
        book.Sweep().ShouldBe(held.Count, "after a census only the children with an open descriptor are left");
        foreach ((int fd, int pid, int status) in held)
        {
            store.TryGet((ulong)pid, out ExitStatus kept).ShouldBeTrue($"pid {pid}: its descriptor is open, its status kept");
            kept.RawStatus.ShouldBe(status);
            close(fd).ShouldBe(0);
        }
        book.Sweep().ShouldBe(0, "no entry outlives its child's last descriptor");
        store.Count.ShouldBe(0);
        TestContext.Out.WriteLine($"{children} children; at most {largest} entries at once; 0 left");
    }

    [Test, OnlyOn("Linux", "the Linux backend's records")]
    public async Task LinuxBackend_EvictsEachKeptStatus_WithItsChildsLastDescriptor()
    {
        var linux = (LinuxBackend)HostBackend.Current;
        var exit = PdChild.Exec("/bin/true", ["true"]);
        int recordsBefore = linux.RecordCount;
        var pending = new List<Task<ExitStatus>>();
        for (int i = 0; i < 500; i++)
        {
            var child = ProcessDescriptor.Fork(exit, PdFlags.CloExec);
            pending.Add(child.WaitAsync().ContinueWith(t => { child.Dispose(); return t.Result; }, TaskScheduler.Default));
            // The C-shaped path keeps statuses in the same store.
            int pid = pdfork(out int fd, PD_CLOEXEC, exit);
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
            close(fd).ShouldBe(0);
        }
        foreach (ExitStatus status in await Task.WhenAll(pending).WaitAsync(TimeScale.Of(TimeSpan.FromSeconds(60))))
            status.ExitCode.ShouldBe(0);
        // Records go once the reactor's census has seen the last copy closed: wait for it, bounded.
        var deadline = DateTime.UtcNow + TimeScale.Of(TimeSpan.FromSeconds(20));
        while ((linux.KeptExitCount > 0 || linux.RecordCount > recordsBefore) && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        linux.KeptExitCount.ShouldBe(0, "a kept status goes with its child's last descriptor");
        linux.RecordCount.ShouldBeLessThanOrEqualTo(recordsBefore, "a child's record goes with its last descriptor once it is reaped");
    }

    /// <summary>The pinned scratch array the census polls with.</summary>
    private sealed class NativePollfdScratch
    {
        internal readonly Interop.NativePollfd[] Array = OpenNumbersByPoll.NewScratch();
    }
}
