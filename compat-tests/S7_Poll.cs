using System.Diagnostics;
using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>Contract §7: poll and readiness.</summary>
public partial class Conformance
{
    private const PollEvents InOut = PollEvents.POLLIN | PollEvents.POLLOUT;

    [Test]
    [Row("§7", 1, "child running", "no event; poll waits until timeout or exit")]
    public void S7_ChildRunning_NoEvent_PollWaitsForTimeoutOrExit()
    {
        var (read, write) = CLibc.Pipe();
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec(Kids.Shell, ["sh", "-c", "read x"]).WithFd(0, read));
            pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
            foreach (PollEvents asked in new[] { PollEvents.POLLIN, PollEvents.POLLOUT, InOut, PollEvents.POLLPRI, (PollEvents)0 })
            {
                var fds = new[] { new Pollfd { fd = fd, events = asked } };
                poll(fds, 0).ShouldBe(0, $"asked {asked}");
                fds[0].revents.ShouldBe((PollEvents)0, $"asked {asked}");
            }

            var timed = new[] { new Pollfd { fd = fd, events = InOut } };
            var clock = Stopwatch.StartNew();
            Kids.PollThroughSignals(timed, 100).ShouldBe(0);
            clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(90), "it waited for the timeout");
            timed[0].revents.ShouldBe((PollEvents)0);

            // A blocking poll on another thread returns when the child exits.
            var blocked = Task.Factory.StartNew(() =>
            {
                var fds = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN } };
                int r = Kids.PollThroughSignals(fds, 30_000);
                return (r, fds[0].revents);
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            CLibc.close(write);
            write = -1; // the child reads end of file and exits
            blocked.Wait(TimeSpan.FromSeconds(30)).ShouldBeTrue("the blocking poll returned");
            var (count, revents) = blocked.Result;
            count.ShouldBe(1, "woken by the exit");
            revents.ShouldBe(PollEvents.POLLHUP);
            CLibc.IsZombieChild(pid).ShouldBeTrue("it returned because the child exited");
        }
        finally
        {
            CLibc.close(read);
            if (write >= 0) CLibc.close(write);
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§7", 2, "child exited (zombie) or reaped", "POLLHUP, whatever events were asked for; never POLLIN or POLLOUT")]
    public void S7_ChildExitedOrReaped_POLLHUPOnly()
    {
        int pid = Kids.Zombie(out int fd, 0);
        try
        {
            foreach (bool reaped in new[] { false, true })
            {
                if (reaped)
                    pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
                foreach (PollEvents asked in new[] { PollEvents.POLLIN, PollEvents.POLLOUT, InOut, PollEvents.POLLPRI | InOut,
                             InOut | PollEvents.POLLPRI | PollEvents.POLLRDNORM | PollEvents.POLLWRNORM, (PollEvents)0 })
                {
                    var fds = new[] { new Pollfd { fd = fd, events = asked } };
                    poll(fds, 0).ShouldBe(1, $"{(reaped ? "reaped" : "zombie")}, asked {asked}");
                    fds[0].revents.ShouldBe(PollEvents.POLLHUP, $"{(reaped ? "reaped" : "zombie")}, asked {asked}");
                }
            }
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§7", 3, "POLLHUP persistence", "stays set on every later poll while the descriptor is open (zombie, then reaped; blocking polls return at once)")]
    public void S7_POLLHUP_Persists()
    {
        int pid = Kids.Zombie(out int fd, 0);
        try
        {
            for (int i = 0; i < 5; i++)
                PollOnce(fd, InOut, 0).ShouldBe(PollEvents.POLLHUP, $"zombie, poll #{i}");
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
            for (int i = 0; i < 5; i++)
                PollOnce(fd, InOut, 0).ShouldBe(PollEvents.POLLHUP, $"reaped, poll #{i}");
            PollOnce(fd, PollEvents.POLLIN, -1).ShouldBe(PollEvents.POLLHUP, "a blocking poll does not block");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, CancelAfter(60_000)]
    [Row("§7", 4, "two holders of the same descriptor polling", "both see POLLHUP (two threads, a descriptor and its dup)")]
    public void S7_TwoHolders_BothSeePOLLHUP(CancellationToken token)
    {
        var (read, write) = CLibc.Pipe();
        int fd = -1, copy = -1;
        try
        {
            pdfork(out fd, PD_CLOEXEC, PdChild.Exec(Kids.Shell, ["sh", "-c", "read x"]).WithFd(0, read)).ShouldBeGreaterThan(0);
            copy = CLibc.dup(fd);
            copy.ShouldBeGreaterThanOrEqualTo(0);
            int viaFd = fd, viaCopy = copy;
            var first = Task.Factory.StartNew(() => PollOnce(viaFd, PollEvents.POLLIN, 30_000), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var second = Task.Factory.StartNew(() => PollOnce(viaCopy, PollEvents.POLLOUT, 30_000), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            CLibc.close(write);
            write = -1;
            first.Wait(token);
            second.Wait(token);
            first.Result.ShouldBe(PollEvents.POLLHUP);
            second.Result.ShouldBe(PollEvents.POLLHUP);

            var both = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN }, new Pollfd { fd = copy, events = PollEvents.POLLOUT } };
            poll(both, 0).ShouldBe(2);
            both[0].revents.ShouldBe(PollEvents.POLLHUP);
            both[1].revents.ShouldBe(PollEvents.POLLHUP);
        }
        finally
        {
            CLibc.close(read);
            if (write >= 0) CLibc.close(write);
            if (copy >= 0) close(copy);
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§7", 5, "descriptor closed", "POLLNVAL (running or exited child)")]
    public void S7_DescriptorClosed_POLLNVAL()
    {
        foreach (bool exited in new[] { false, true })
        {
            int fd;
            int pid = exited ? Kids.Zombie(out fd, 0) : Kids.Sleeper(out fd);
            close(fd).ShouldBe(0);
            Kids.EventuallyGone(pid).ShouldBeTrue();
            if (CLibc.IsOpen(fd))
                Assert.Fail($"descriptor {fd} was taken by something else meanwhile");
            var fds = new[] { new Pollfd { fd = fd, events = InOut } };
            poll(fds, 0).ShouldBe(1);
            fds[0].revents.ShouldBe(PollEvents.POLLNVAL);
        }
    }

    [Test]
    [Row("§7", 6, "other (non-procdesc) descriptors in the same poll set", "exactly as poll(2) reports them (pipes with and without data or writer, a negative fd; the count counts every entry with an event)")]
    public unsafe void S7_OtherDescriptors_AsPoll2ReportsThem()
    {
        // Children first: a new child holds this process's close-on-exec descriptors until its exec
        // has closed them, which would keep a pipe's write end open a little longer.
        int running = -1, zombie = -1;
        int read = -1, write = -1, hungRead = -1, hungWrite = -1, emptyRead = -1, emptyWrite = -1;
        try
        {
            Kids.Sleeper(out running);
            Kids.Zombie(out zombie, 0);
            (read, write) = CLibc.Pipe();
            (hungRead, hungWrite) = CLibc.Pipe();
            (emptyRead, emptyWrite) = CLibc.Pipe();
            CLibc.WriteText(write, "x");
            CLibc.WriteText(hungWrite, "x");
            CLibc.close(hungWrite); // a pipe's own POLLHUP (with POLLIN) must come through untouched
            hungWrite = -1;

            var fds = new[]
            {
                new Pollfd { fd = read, events = InOut },
                new Pollfd { fd = running, events = InOut },
                new Pollfd { fd = write, events = InOut },
                // Negative entries are ignored, whatever revents held before; -fd - 1 is how a
                // caller switches off an entry, here one of a process descriptor.
                new Pollfd { fd = -1, events = InOut, revents = PollEvents.POLLERR },
                new Pollfd { fd = zombie, events = PollEvents.POLLIN },
                new Pollfd { fd = hungRead, events = PollEvents.POLLIN },
                new Pollfd { fd = emptyRead, events = PollEvents.POLLIN },
                new Pollfd { fd = -zombie - 1, events = PollEvents.POLLIN, revents = PollEvents.POLLIN },
            };
            poll(fds, 0).ShouldBe(4);
            var native = CLibc.PollNatively((read, InOut), (write, InOut), (hungRead, PollEvents.POLLIN), (emptyRead, PollEvents.POLLIN));
            fds[0].revents.ShouldBe(native[0], "pipe read end with data");
            fds[1].revents.ShouldBe((PollEvents)0, "running child");
            fds[2].revents.ShouldBe(native[1], "pipe write end");
            fds[3].revents.ShouldBe((PollEvents)0, "a negative fd is ignored");
            fds[4].revents.ShouldBe(PollEvents.POLLHUP, "exited child");
            fds[5].revents.ShouldBe(native[2], "pipe with data and no writer");
            fds[6].revents.ShouldBe(native[3], "empty pipe with a writer");
            fds[7].revents.ShouldBe((PollEvents)0, "a switched-off entry is ignored");
            (native[0] & PollEvents.POLLIN).ShouldBe(PollEvents.POLLIN);
            (native[1] & PollEvents.POLLOUT).ShouldBe(PollEvents.POLLOUT);
            (native[2] & PollEvents.POLLIN).ShouldBe(PollEvents.POLLIN);
            native[3].ShouldBe((PollEvents)0);
        }
        finally
        {
            Kids.Cleanup(zombie);
            Kids.Cleanup(running);
            foreach (int f in new[] { read, write, hungRead, hungWrite, emptyRead, emptyWrite })
                if (f >= 0) CLibc.close(f);
        }
    }

    private static PollEvents PollOnce(int fd, PollEvents asked, int timeoutMs)
    {
        var fds = new[] { new Pollfd { fd = fd, events = asked } };
        int r = Kids.PollThroughSignals(fds, timeoutMs);
        r.ShouldBeGreaterThanOrEqualTo(0, $"poll failed: {GetLastError()}");
        return fds[0].revents;
    }
}
