using System.Diagnostics;
using System.Runtime.InteropServices;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>Contract §7: poll and readiness.</summary>
[Contract("§7")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public partial class PollTests
{
    private const PollEvents InOut = PollEvents.POLLIN | PollEvents.POLLOUT;

    [Test, Contract("§7 child running: no event")]
    public void RunningChild_HasNoEvent_WhateverIsAsked()
    {
        Kids.Sleeper(out int fd);
        try
        {
            foreach (PollEvents asked in new[] { PollEvents.POLLIN, PollEvents.POLLOUT, InOut, PollEvents.POLLPRI, (PollEvents)0 })
            {
                var fds = new[] { new Pollfd { fd = fd, events = asked } };
                poll(fds, 0).ShouldBe(0, $"asked {asked}");
                fds[0].revents.ShouldBe((PollEvents)0, $"asked {asked}");
            }
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§7 child running: poll waits until timeout")]
    public void RunningChild_PollWaitsForTheTimeout()
    {
        Kids.Sleeper(out int fd);
        try
        {
            var fds = new[] { new Pollfd { fd = fd, events = InOut } };
            var clock = Stopwatch.StartNew();
            Kids.PollThroughSignals(fds, 100).ShouldBe(0);
            clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(90));
            fds[0].revents.ShouldBe((PollEvents)0);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§7 child running: poll waits until exit")]
    public void BlockingPoll_ReturnsWhenTheChildExits()
    {
        int pid = Kids.Sh(out int fd, "sleep 0.2");
        try
        {
            var fds = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN } };
            var clock = Stopwatch.StartNew();
            Kids.PollThroughSignals(fds, 10_000).ShouldBe(1);
            clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(9), "woken by the exit, not the timeout");
            fds[0].revents.ShouldBe(PollEvents.POLLHUP);
            Processes.State(pid).ShouldBe('Z', "it returned because the child exited");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [TestCase(PollEvents.POLLIN)]
    [TestCase(PollEvents.POLLOUT)]
    [TestCase(InOut)]
    [TestCase(PollEvents.POLLIN | PollEvents.POLLOUT | PollEvents.POLLPRI | PollEvents.POLLRDNORM | PollEvents.POLLWRNORM)]
    [TestCase((PollEvents)0)]
    [Contract("§7 child exited (zombie) or reaped: POLLHUP, whatever events were asked for; never POLLIN or POLLOUT")]
    public void ExitedChild_ReportsPOLLHUPOnly(PollEvents asked)
    {
        int pid = Kids.Exiting(out int fd, 0);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            Processes.State(pid).ShouldBe('Z');
            var fds = new[] { new Pollfd { fd = fd, events = asked } };
            poll(fds, 0).ShouldBe(1);
            fds[0].revents.ShouldBe(PollEvents.POLLHUP);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [TestCase(PollEvents.POLLIN)]
    [TestCase(PollEvents.POLLOUT)]
    [TestCase(InOut)]
    [TestCase((PollEvents)0)]
    [Contract("§7 child exited (zombie) or reaped: POLLHUP, whatever events were asked for; never POLLIN or POLLOUT")]
    public void ReapedChild_ReportsPOLLHUPOnly(PollEvents asked)
    {
        int pid = Kids.Reaped(out int fd);
        try
        {
            Kids.ShouldBeReapedThroughTheLibrary(pid);
            var fds = new[] { new Pollfd { fd = fd, events = asked } };
            poll(fds, 0).ShouldBe(1);
            fds[0].revents.ShouldBe(PollEvents.POLLHUP);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§7 POLLHUP persistence: stays set on every later poll while the descriptor is open")]
    public void POLLHUP_StaysSet_OnEveryLaterPoll()
    {
        int pid = Kids.Exiting(out int fd, 0);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            for (int i = 0; i < 5; i++)
                PollOne(fd, InOut).ShouldBe(PollEvents.POLLHUP, $"zombie, poll #{i}");
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
            for (int i = 0; i < 5; i++)
                PollOne(fd, InOut).ShouldBe(PollEvents.POLLHUP, $"reaped, poll #{i}");
            // A blocking poll does not block either.
            var fds = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN } };
            Kids.PollThroughSignals(fds, -1).ShouldBe(1);
            fds[0].revents.ShouldBe(PollEvents.POLLHUP);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, CancelAfter(30_000), Contract("§7 two holders of the same descriptor polling: both see POLLHUP")]
    public async Task TwoHolders_BothSeePOLLHUP(CancellationToken token)
    {
        var (read, write) = CLibc.Pipe();
        int fd = -1, copy = -1;
        try
        {
            pdfork(out fd, PD_CLOEXEC, PdChild.Exec(Kids.Shell, ["sh", "-c", "read x"]).WithFd(0, read)).ShouldBeGreaterThan(0);
            CLibc.close(read);
            read = -1;
            copy = CLibc.dup(fd);
            copy.ShouldBeGreaterThanOrEqualTo(0);

            // Both block (bounded) on their own copy, from two threads; the exit wakes both.
            Task<PollEvents> viaOriginal = Task.Factory.StartNew(() => BlockingPoll(fd), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Task<PollEvents> viaCopy = Task.Factory.StartNew(() => BlockingPoll(copy), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            CLibc.close(write);
            write = -1;
            (await viaOriginal.WaitAsync(token)).ShouldBe(PollEvents.POLLHUP);
            (await viaCopy.WaitAsync(token)).ShouldBe(PollEvents.POLLHUP);

            // And together in one call.
            var fds = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN }, new Pollfd { fd = copy, events = PollEvents.POLLOUT } };
            poll(fds, 0).ShouldBe(2);
            fds[0].revents.ShouldBe(PollEvents.POLLHUP);
            fds[1].revents.ShouldBe(PollEvents.POLLHUP);
        }
        finally
        {
            if (read >= 0) CLibc.close(read);
            if (write >= 0) CLibc.close(write);
            if (copy >= 0) close(copy);
            Kids.Cleanup(fd);
        }
    }

    [TestCase(false, TestName = "ClosedDescriptor_OfARunningChild_ReportsPOLLNVAL")]
    [TestCase(true, TestName = "ClosedDescriptor_OfAnExitedChild_ReportsPOLLNVAL")]
    [Contract("§7 descriptor closed: POLLNVAL")]
    public void ClosedDescriptor_ReportsPOLLNVAL(bool exited)
    {
        int pid = exited ? Kids.Exiting(out int fd, 0) : Kids.Sleeper(out fd);
        if (exited)
            Kids.WaitForExit(fd).ShouldBeTrue();
        close(fd).ShouldBe(0);
        // The library's reaper scans /proc/self/fd after a close, and its directory handle takes
        // the lowest free number (this one) for an instant; it is done once the child is gone.
        Kids.EventuallyGone(pid).ShouldBeTrue();
        var fds = new[] { new Pollfd { fd = fd, events = InOut } };
        poll(fds, 0).ShouldBe(1);
        fds[0].revents.ShouldBe(PollEvents.POLLNVAL);
    }

    [Test]
    [Contract("§7 other (non-procdesc) descriptors in the same poll set: exactly as poll(2) reports them")]
    [Contract("§7 child exited (zombie) or reaped: POLLHUP, whatever events were asked for; never POLLIN or POLLOUT")]
    [Contract("§7 child running: no event")]
    public unsafe void MixedSet_PipesAsPoll2_ProcdescsTranslated_CountCorrect()
    {
        // Children first: a child holds the caller's close-on-exec descriptors until its exec has
        // finished closing them, which would keep a pipe's write end open a little longer.
        Kids.Sleeper(out int running);
        int zombiePid = Kids.Exiting(out int zombie, 0);
        var (read, write) = CLibc.Pipe();
        var (hungRead, hungWrite) = CLibc.Pipe();
        try
        {
            byte b = 42;
            CLibc.write(write, &b, 1).ShouldBe(1);
            CLibc.write(hungWrite, &b, 1).ShouldBe(1);
            CLibc.close(hungWrite); // a pipe's own POLLHUP (with POLLIN) must come through untouched
            hungWrite = -1;
            Kids.WaitForExit(zombie).ShouldBeTrue();
            Processes.State(zombiePid).ShouldBe('Z');

            var fds = new[]
            {
                new Pollfd { fd = read, events = InOut },
                new Pollfd { fd = running, events = InOut },
                new Pollfd { fd = write, events = InOut },
                new Pollfd { fd = -1, events = InOut, revents = PollEvents.POLLERR },
                new Pollfd { fd = zombie, events = PollEvents.POLLIN },
                new Pollfd { fd = hungRead, events = PollEvents.POLLIN },
            };
            poll(fds, 0).ShouldBe(4);

            var native = PollNatively([(read, InOut), (write, InOut), (hungRead, PollEvents.POLLIN)]);
            native[0].ShouldBe(PollEvents.POLLIN);
            native[1].ShouldBe(PollEvents.POLLOUT);
            native[2].ShouldBe(PollEvents.POLLIN | PollEvents.POLLHUP);

            fds[0].revents.ShouldBe(native[0], "pipe read end with data");
            fds[1].revents.ShouldBe((PollEvents)0, "running child");
            fds[2].revents.ShouldBe(native[1], "pipe write end");
            fds[3].revents.ShouldBe((PollEvents)0, "a negative fd is ignored");
            fds[4].revents.ShouldBe(PollEvents.POLLHUP, "exited child");
            fds[5].revents.ShouldBe(native[2], "pipe with data and no writer");
        }
        finally
        {
            Kids.Cleanup(zombie);
            Kids.Cleanup(running);
            foreach (int f in new[] { read, write, hungRead, hungWrite })
                if (f >= 0) CLibc.close(f);
        }
    }

    [Test, Contract("§7 other (non-procdesc) descriptors in the same poll set: exactly as poll(2) reports them")]
    public void NegativeEntries_AreIgnored()
    {
        int pid = Kids.Exiting(out int fd, 0);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            var fds = new[]
            {
                new Pollfd { fd = -1, events = InOut, revents = PollEvents.POLLHUP },
                new Pollfd { fd = fd, events = PollEvents.POLLIN },
                new Pollfd { fd = -fd - 1, events = PollEvents.POLLIN, revents = PollEvents.POLLIN },
            };
            poll(fds, 0).ShouldBe(1);
            fds[0].revents.ShouldBe((PollEvents)0);
            fds[1].revents.ShouldBe(PollEvents.POLLHUP);
            fds[2].revents.ShouldBe((PollEvents)0);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    private static PollEvents PollOne(int fd, PollEvents asked)
    {
        var fds = new[] { new Pollfd { fd = fd, events = asked } };
        int r = poll(fds, 0);
        r.ShouldBeGreaterThanOrEqualTo(0, $"poll failed: {GetLastError()}");
        return fds[0].revents;
    }

    private static PollEvents BlockingPoll(int fd)
    {
        var fds = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN } };
        return Kids.PollThroughSignals(fds, 10_000) == 1 ? fds[0].revents : (PollEvents)0;
    }

    /// <summary>What poll(2) itself reports for non-procdesc descriptors, called behind the library's back.</summary>
    private static unsafe PollEvents[] PollNatively((int Fd, PollEvents Events)[] entries)
    {
        var native = stackalloc NativePollfd[entries.Length];
        for (int i = 0; i < entries.Length; i++)
            native[i] = new NativePollfd { Fd = entries[i].Fd, Events = (short)entries[i].Events };
        native_poll(native, (ulong)entries.Length, 0).ShouldBeGreaterThanOrEqualTo(0);
        var result = new PollEvents[entries.Length];
        for (int i = 0; i < entries.Length; i++)
            result[i] = (PollEvents)native[i].Revents;
        return result;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct NativePollfd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int native_poll(NativePollfd* fds, ulong nfds, int timeout);
}
