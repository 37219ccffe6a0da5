using System.Diagnostics;
using System.Runtime.CompilerServices;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// The object layer: <see cref="ProcessDescriptor"/> (a SafeHandle over the C-shaped calls) and
/// <see cref="ExitStatus"/>, with real processes. Kill-on-close through Dispose and the finalizer
/// is contract §6.
/// </summary>
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class ProcessDescriptorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    // ---------------------------------------------------------------- creation

    [TestCase(PdFlags.None)]
    [TestCase(PdFlags.CloExec)]
    [TestCase(PdFlags.Daemon)]
    [TestCase(PdFlags.Daemon | PdFlags.CloExec)]
    [Contract("§1 success")]
    public void Fork_ReturnsAnObject_WithThePid_AndTheFlags(PdFlags flags)
    {
        using var pd = ProcessDescriptor.Fork(Sleep60, flags);
        try
        {
            pd.Pid.ShouldBeGreaterThan(0);
            pd.Flags.ShouldBe(flags);
            pd.IsInvalid.ShouldBeFalse();
            pd.IsClosed.ShouldBeFalse();
            pdgetpid(Fd(pd), out int pid).ShouldBe(0);
            pid.ShouldBe(pd.Pid);
            Processes.ParentOf(pd.Pid).ShouldBe(Environment.ProcessId);
            CLibc.IsCloseOnExec(Fd(pd)).ShouldBe((flags & PdFlags.CloExec) != 0);
        }
        finally
        {
            KillAndReap(pd);
        }
    }

    private static IEnumerable<TestCaseData> ExecFailures()
    {
        yield return new TestCaseData(PdChild.Exec("/nonexistent/program", ["x"]), Errno.ENOENT).SetName("Fork_ExecFailure_ENOENT_Throws_AndLeavesNothing");
        yield return new TestCaseData(PdChild.Exec("/etc", ["x"]), Errno.EACCES).SetName("Fork_ExecFailure_EACCES_Throws_AndLeavesNothing");
    }

    [TestCaseSource(nameof(ExecFailures)), Contract("§1 the child's exec fails")]
    public void Fork_ExecFailure_Throws_AndLeavesNothing(PdChild child, Errno expected)
    {
        var before = Processes.OpenDescriptors();
        int[] childrenBefore = Processes.Children();

        var error = Should.Throw<ProcessDescriptorException>(() => ProcessDescriptor.Fork(child, PdFlags.CloExec));
        error.Errno.ShouldBe(expected);
        error.NativeErrno.ShouldBe((int)expected);

        Processes.NoNewChildren(childrenBefore, "no child, not even a zombie");
        Processes.NoDescriptorLeaked(before);
    }

    [Test, Contract("§1 flags outside PD_DAEMON | PD_CLOEXEC")]
    public void Fork_UnknownFlags_ThrowsEINVAL_AndCreatesNoChild()
    {
        var before = Processes.OpenDescriptors();
        int[] childrenBefore = Processes.Children();

        var error = Should.Throw<ProcessDescriptorException>(() => ProcessDescriptor.Fork(PdChild.Exec("/bin/true", ["true"]), (PdFlags)4));
        error.Errno.ShouldBe(Errno.EINVAL);
        error.NativeErrno.ShouldBe((int)Errno.EINVAL);

        Processes.NoNewChildren(childrenBefore);
        Processes.NoDescriptorLeaked(before);
    }

    [Test]
    public void Fork_NullChild_ThrowsArgumentNullException()
    {
        Should.Throw<ArgumentNullException>(() => ProcessDescriptor.Fork(null!));
    }

    [Test, Contract("§1 success")]
    public void Start_SearchesPath_AndTheChildExitsWithItsCode()
    {
        using var pd = ProcessDescriptor.Start("sh", "-c", "exit 3");
        pd.Flags.ShouldBe(PdFlags.CloExec);
        ExitStatus status = pd.Wait();
        status.Pid.ShouldBe(pd.Pid);
        status.Exited.ShouldBeTrue();
        status.ExitCode.ShouldBe(3);
    }

    [Test, Contract("§1 when pdfork returns, the exec has already happened")]
    public void Start_PassesTheNameAsArgv0_AndTheArguments()
    {
        using var pd = ProcessDescriptor.Start("sh", "-c", "sleep 60; exit 3");
        try
        {
            Processes.WaitUntilExecFinished(pd.Pid);
            File.ReadAllText($"/proc/{pd.Pid}/cmdline").ShouldBe("sh\0-c\0sleep 60; exit 3\0");
        }
        finally
        {
            KillAndReap(pd);
        }
    }

    [Test]
    public void Start_WithAnAbsolutePath_AndNoArguments()
    {
        using var pd = ProcessDescriptor.Start("/bin/true");
        ExitStatus status = pd.Wait();
        status.Exited.ShouldBeTrue();
        status.ExitCode.ShouldBe(0);
    }

    [Test, Contract("§1 the child's exec fails")]
    public void Start_OfANameNotInPath_ThrowsENOENT_AndLeavesNothing()
    {
        var before = Processes.OpenDescriptors();
        int[] childrenBefore = Processes.Children();

        var error = Should.Throw<ProcessDescriptorException>(() => ProcessDescriptor.Start($"procdesc-no-such-program-{Guid.NewGuid():N}"));
        error.Errno.ShouldBe(Errno.ENOENT);
        error.NativeErrno.ShouldBe((int)Errno.ENOENT);

        Processes.NoNewChildren(childrenBefore);
        Processes.NoDescriptorLeaked(before);
    }

    [Test, Contract("§1 PD_CLOEXEC")]
    public void Start_GivesACloseOnExecDescriptor()
    {
        using var pd = ProcessDescriptor.Start("/bin/sleep", "60");
        try
        {
            pd.Flags.ShouldBe(PdFlags.CloExec);
            CLibc.IsCloseOnExec(Fd(pd)).ShouldBeTrue();
        }
        finally
        {
            KillAndReap(pd);
        }
    }

    [Test, Contract("§1 the child's exec fails")]
    public void ExecFromPath_UsesTheChildsPath_PrefersAnExecutableMatch_AndReportsEACCESForANonExecutableOne()
    {
        string root = Path.Combine(Path.GetTempPath(), $"procdesc-path-{Guid.NewGuid():N}");
        string first = Path.Combine(root, "first"), second = Path.Combine(root, "second"), empty = Path.Combine(root, "empty");
        Directory.CreateDirectory(first);
        Directory.CreateDirectory(second);
        Directory.CreateDirectory(empty);
        try
        {
            string notExecutable = Path.Combine(first, "prog"), executable = Path.Combine(second, "prog");
            File.WriteAllText(notExecutable, "#!/bin/sh\nexit 4\n");
            File.SetUnixFileMode(notExecutable, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.WriteAllText(executable, "#!/bin/sh\nexit 5\n");
            File.SetUnixFileMode(executable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            // The first executable match wins over an earlier non-executable one.
            using (var pd = ProcessDescriptor.Fork(PdChild.ExecFromPath("prog", ["prog"], [$"PATH={empty}:{first}:{second}"]), PdFlags.CloExec))
                pd.Wait().ExitCode.ShouldBe(5);

            // Only a non-executable match: exec reports EACCES.
            var denied = Should.Throw<ProcessDescriptorException>(() =>
                ProcessDescriptor.Fork(PdChild.ExecFromPath("prog", ["prog"], [$"PATH={empty}:{first}"]), PdFlags.CloExec));
            denied.Errno.ShouldBe(Errno.EACCES);

            // No match at all: ENOENT.
            var missing = Should.Throw<ProcessDescriptorException>(() =>
                ProcessDescriptor.Fork(PdChild.ExecFromPath("prog", ["prog"], [$"PATH={empty}"]), PdFlags.CloExec));
            missing.Errno.ShouldBe(Errno.ENOENT);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    // ---------------------------------------------------------------- Pid, Flags, HasExited

    [Test, Contract("§2 procdesc, child running, exited or already reaped")]
    public void Pid_StaysTheSame_AfterExit_AndAfterReap()
    {
        using var pd = ProcessDescriptor.Start("sh", "-c", "exit 3");
        int pid = pd.Pid;
        pid.ShouldBeGreaterThan(0);

        Kids.WaitForExit(Fd(pd)).ShouldBeTrue();
        pd.Pid.ShouldBe(pid);
        pd.Wait().Pid.ShouldBe(pid);
        pd.Pid.ShouldBe(pid);
        pdgetpid(Fd(pd), out int viaHandle).ShouldBe(0);
        viaHandle.ShouldBe(pid);
    }

    [Test]
    public void HasExited_IsFalseWhileRunning_TrueAfterExit_AndAfterReap()
    {
        using var pd = StartHeld(out int release, "read x; exit 3");
        try
        {
            pd.HasExited.ShouldBeFalse();
            CLibc.close(release);
            release = -1;
            Kids.WaitForExit(Fd(pd)).ShouldBeTrue();
            pd.HasExited.ShouldBeTrue("exited, not yet reaped");
            Processes.State(pd.Pid).ShouldBe('Z');
            pd.Wait().ExitCode.ShouldBe(3);
            pd.HasExited.ShouldBeTrue("reaped");
        }
        finally
        {
            if (release >= 0) CLibc.close(release);
            KillAndReap(pd);
        }
    }

    // ---------------------------------------------------------------- Kill and the exit status

    [Test, Contract("§3 child running")]
    public void Kill_WithSIGTERM_ThenWait_ReportsTheSignal()
    {
        using var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        pd.Kill(Signum.SIGTERM);
        ExitStatus status = pd.Wait();
        status.Pid.ShouldBe(pd.Pid);
        status.Exited.ShouldBeFalse();
        status.Signaled.ShouldBeTrue();
        status.TermSignal.ShouldBe(Signum.SIGTERM);
        status.ExitCode.ShouldBe(-1);
        status.CoreDumped.ShouldBeFalse();
        status.Usage.IsMissing.ShouldBeFalse("reaped by the library: the kernel's rusage is there");
    }

    [Test]
    public void Kill_WithoutASignal_SendsSIGKILL()
    {
        using var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        pd.Kill();
        pd.Wait().TermSignal.ShouldBe(Signum.SIGKILL);
    }

    [Test]
    public void Wait_AfterANormalExit_ReportsTheCode()
    {
        using var pd = ProcessDescriptor.Start("sh", "-c", "exit 3");
        ExitStatus status = pd.Wait();
        status.Exited.ShouldBeTrue();
        status.ExitCode.ShouldBe(3);
        status.Signaled.ShouldBeFalse();
        status.TermSignal.ShouldBeNull();
        status.CoreDumped.ShouldBeFalse();
    }

    [Test, Contract("§3 child exited, not yet reaped (zombie)")]
    public void Kill_OfAZombie_DoesNotThrow_AndChangesNothing()
    {
        using var pd = ProcessDescriptor.Start("sh", "-c", "exit 3");
        Kids.WaitForExit(Fd(pd)).ShouldBeTrue();
        Processes.State(pd.Pid).ShouldBe('Z');
        Should.NotThrow(() => pd.Kill(Signum.SIGTERM));
        Should.NotThrow(() => pd.Kill());
        pd.Wait().ExitCode.ShouldBe(3);
    }

    [Test, Contract("§3 child already reaped")]
    public void Kill_AfterTheChildWasReaped_ThrowsESRCH()
    {
        using var pd = ProcessDescriptor.Start("sh", "-c", "exit 3");
        pd.Wait();
        var error = Should.Throw<ProcessDescriptorException>(() => pd.Kill(Signum.SIGTERM));
        error.Errno.ShouldBe(Errno.ESRCH);
        error.NativeErrno.ShouldBe((int)Errno.ESRCH);
    }

    [Test, Contract("§3 signal number < 0 or above the system's maximum")]
    public void Kill_WithASignalTheHostDoesNotHave_ThrowsEINVAL()
    {
        using var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        try
        {
            var error = Should.Throw<ProcessDescriptorException>(() => pd.Kill((Signum)12345));
            error.Errno.ShouldBe(Errno.EINVAL);
            pd.HasExited.ShouldBeFalse();
        }
        finally
        {
            KillAndReap(pd);
        }
    }

    [Test]
    public void ExitStatus_ToString_SaysHowTheChildEnded()
    {
        using (var exited = ProcessDescriptor.Start("sh", "-c", "exit 3"))
            exited.Wait().ToString().ShouldBe($"pid {exited.Pid} exited with code 3");

        using var killed = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        killed.Kill(Signum.SIGKILL);
        killed.Wait().ToString().ShouldBe($"pid {killed.Pid} killed by SIGKILL");
    }

    // ---------------------------------------------------------------- one status for every waiter

    [Test, CancelAfter(30_000)]
    [Contract("§4 already reaped through the library")]
    [Contract("§5 already reaped through the library")]
    public async Task Wait_GivesTheSameStatus_ToEveryCaller_OnEveryCopy(CancellationToken token)
    {
        using var pd = ProcessDescriptor.Start("sh", "-c", "exit 3");
        using var first = pd.Duplicate();
        using var second = pd.Duplicate();

        ExitStatus status = first.Wait();
        status.Pid.ShouldBe(pd.Pid);
        status.ExitCode.ShouldBe(3);

        first.Wait().ShouldBe(status, "again on the copy that reaped");
        second.Wait().ShouldBe(status);
        (await second.WaitAsync(token).WaitAsync(Bound, token)).ShouldBe(status);
        second.TryWait(out ExitStatus tried).ShouldBeTrue();
        tried.ShouldBe(status);
        pd.Wait().ShouldBe(status);
        (await pd.WaitAsync(token).WaitAsync(Bound, token)).ShouldBe(status);
        pd.TryWait(out tried).ShouldBeTrue();
        tried.ShouldBe(status);

        // The C-shaped layer keeps FreeBSD's semantics: the status was consumed.
        pdwait4(Fd(pd), out _, PdWaitOptions.None, out _).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.ECHILD);
        pdwait4(Fd(second), out _, PdWaitOptions.WNOHANG, out _).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.ECHILD);
        pdwait(Fd(pd), out _, PdWaitOptions.WEXITED, out _, out _).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.ESRCH);
    }

    [Test, CancelAfter(30_000)]
    [Contract("§4 child exited (zombie)")]
    public async Task Wait_AfterPdwait4ReapedTheChild_ReturnsTheKeptStatus(CancellationToken token)
    {
        using var pd = ProcessDescriptor.Start("sh", "-c", "exit 3");
        using var copy = pd.Duplicate();
        pdwait4(Fd(pd), out int raw, PdWaitOptions.None, out Rusage usage).ShouldBe(pd.Pid);
        WEXITSTATUS(raw).ShouldBe(3);

        var expected = new ExitStatus(pd.Pid, raw, usage);
        pd.Wait().ShouldBe(expected);
        copy.Wait().ShouldBe(expected);
        copy.TryWait(out ExitStatus tried).ShouldBeTrue();
        tried.ShouldBe(expected);
        (await pd.WaitAsync(token).WaitAsync(Bound, token)).ShouldBe(expected);
        pd.HasExited.ShouldBeTrue();
    }

    [Test, CancelAfter(30_000)]
    [Contract("§4 blocking call while another thread reaps the same child")]
    public async Task ConcurrentWaits_OnEveryCopy_AllGetTheSameStatus(CancellationToken token)
    {
        using var pd = StartHeld(out int release, "read x; exit 7");
        var copies = new List<ProcessDescriptor> { pd };
        try
        {
            for (int i = 0; i < 3; i++)
                copies.Add(pd.Duplicate());

            var waits = new List<Task<ExitStatus>>();
            foreach (ProcessDescriptor copy in copies)
            {
                waits.Add(Task.Factory.StartNew(() => copy.Wait(), token, TaskCreationOptions.LongRunning, TaskScheduler.Default));
                waits.Add(Task.Factory.StartNew(() => copy.Wait(), token, TaskCreationOptions.LongRunning, TaskScheduler.Default));
                waits.Add(copy.WaitAsync(token));
            }
            waits.ShouldAllBe(w => !w.IsCompleted, "the child waits for its stdin");

            CLibc.close(release);
            release = -1;
            ExitStatus[] statuses = await Task.WhenAll(waits).WaitAsync(token);

            statuses.Distinct().Count().ShouldBe(1, string.Join("; ", statuses));
            statuses[0].Pid.ShouldBe(pd.Pid);
            statuses[0].ExitCode.ShouldBe(7);
        }
        finally
        {
            if (release >= 0) CLibc.close(release);
            KillAndReap(pd);
            foreach (ProcessDescriptor copy in copies.Skip(1))
                copy.Dispose();
        }
    }

    [Test]
    public void TryWait_IsFalseWhileRunning_TrueAfterExit()
    {
        using var pd = StartHeld(out int release, "read x; exit 3");
        try
        {
            pd.TryWait(out ExitStatus status).ShouldBeFalse();
            status.ShouldBe(default);
            pd.HasExited.ShouldBeFalse("TryWait did not disturb the child");

            CLibc.close(release);
            release = -1;
            Kids.WaitForExit(Fd(pd)).ShouldBeTrue();
            pd.TryWait(out status).ShouldBeTrue();
            status.Pid.ShouldBe(pd.Pid);
            status.ExitCode.ShouldBe(3);
            pd.TryWait(out ExitStatus again).ShouldBeTrue();
            again.ShouldBe(status);
        }
        finally
        {
            if (release >= 0) CLibc.close(release);
            KillAndReap(pd);
        }
    }

    // ---------------------------------------------------------------- WaitAsync

    [Test]
    public void WaitAsync_CompletesWhenTheChildExits()
    {
        using var pd = ProcessDescriptor.Start("/bin/sleep", "0.2");
        Task<ExitStatus> wait = pd.WaitAsync();
        wait.Wait(Bound).ShouldBeTrue("completed within the bound");
        wait.Result.Pid.ShouldBe(pd.Pid);
        wait.Result.Exited.ShouldBeTrue();
        wait.Result.ExitCode.ShouldBe(0);
        pd.HasExited.ShouldBeTrue();
        Kids.ShouldBeReapedThroughTheLibrary(pd.Pid, "the exit reactor reaped it");
    }

    [Test, CancelAfter(30_000)]
    public async Task WaitAsync_Continuation_DoesNotRunOnTheExitReactorThread(CancellationToken token)
    {
        for (int round = 0; round < 10; round++)
        {
            using var pd = StartHeld(out int release, "read x; exit 2");
            try
            {
                Task<(ExitStatus Status, string? Thread)> awaited = AwaitAndNameTheThread(pd);
                awaited.IsCompleted.ShouldBeFalse("the child waits for its stdin");
                CLibc.close(release);
                release = -1;
                var (status, thread) = await awaited.WaitAsync(Bound, token);
                status.ExitCode.ShouldBe(2);
                thread.ShouldNotBe("Procdesc exit reactor");
            }
            finally
            {
                if (release >= 0) CLibc.close(release);
                KillAndReap(pd);
            }
        }

        static async Task<(ExitStatus, string?)> AwaitAndNameTheThread(ProcessDescriptor pd)
        {
            ExitStatus status = await pd.WaitAsync().ConfigureAwait(false);
            return (status, Thread.CurrentThread.Name);
        }
    }

    [Test, CancelAfter(30_000)]
    public async Task WaitAsync_Canceled_CancelsTheTask_NotTheChild_AndALaterWaitStillCompletes(CancellationToken token)
    {
        using var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        try
        {
            using var cts = new CancellationTokenSource();
            Task<ExitStatus> wait = pd.WaitAsync(cts.Token);
            Task<ExitStatus> other = pd.WaitAsync(token);
            wait.IsCompleted.ShouldBeFalse();

            cts.Cancel();
            var canceled = await Should.ThrowAsync<TaskCanceledException>(wait.WaitAsync(Bound, token));
            canceled.CancellationToken.ShouldBe(cts.Token);
            wait.IsCanceled.ShouldBeTrue();

            Processes.StillRunning(pd.Pid).ShouldBeTrue("canceling a wait does not touch the child");
            pd.HasExited.ShouldBeFalse();
            other.IsCompleted.ShouldBeFalse("another wait on the same child is not canceled");

            pd.Kill();
            ExitStatus status = await pd.WaitAsync(token).WaitAsync(Bound, token);
            status.TermSignal.ShouldBe(Signum.SIGKILL);
            (await other.WaitAsync(Bound, token)).ShouldBe(status);
        }
        finally
        {
            KillAndReap(pd);
        }
    }

    [Test, CancelAfter(30_000)]
    public async Task WaitAsync_WithAnAlreadyCanceledToken_IsCanceled_AndTheChildRuns(CancellationToken token)
    {
        using var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        try
        {
            Task<ExitStatus> wait = pd.WaitAsync(new CancellationToken(canceled: true));
            await Should.ThrowAsync<OperationCanceledException>(wait.WaitAsync(Bound, token));
            wait.IsCanceled.ShouldBeTrue();
            Processes.StillRunning(pd.Pid).ShouldBeTrue();
        }
        finally
        {
            KillAndReap(pd);
        }
    }

    [Test, CancelAfter(30_000)]
    [Contract("§6 last descriptor closed, no PD_DAEMON, child running")]
    public async Task WaitAsync_Pending_WhenTheLastCopyIsDisposed_CompletesWithSIGKILL(CancellationToken token)
    {
        var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        int pid = pd.Pid;
        Task<ExitStatus> wait;
        try
        {
            wait = pd.WaitAsync(token);
            wait.IsCompleted.ShouldBeFalse();
        }
        catch
        {
            KillAndReap(pd);
            pd.Dispose();
            throw;
        }
        pd.Dispose();

        ExitStatus status = await wait.WaitAsync(Bound, token);
        status.Pid.ShouldBe(pid);
        status.TermSignal.ShouldBe(Signum.SIGKILL);
        Kids.EventuallyGone(pid).ShouldBeTrue();
    }

    [Test, CancelAfter(60_000)]
    public async Task WaitAsync_ManyWaiters_CompleteAfterTheKill_WithoutAThreadEach(CancellationToken token)
    {
        const int WaitsOnOne = 1000, Others = 200;
        var children = new List<ProcessDescriptor>();
        try
        {
            for (int i = 0; i <= Others; i++)
                children.Add(ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec));
            ProcessDescriptor one = children[0];

            int threadsBefore = ThreadCount();
            var onOne = new List<Task<ExitStatus>>(WaitsOnOne);
            for (int i = 0; i < WaitsOnOne; i++)
                onOne.Add(one.WaitAsync(token));
            var onOthers = children.Skip(1).Select(child => child.WaitAsync(token)).ToList();
            int threadsAfter = ThreadCount();

            onOne.ShouldAllBe(t => !t.IsCompleted);
            onOthers.ShouldAllBe(t => !t.IsCompleted);
            (threadsAfter - threadsBefore).ShouldBeLessThanOrEqualTo(4, $"threads before the waits: {threadsBefore}, after: {threadsAfter}");

            foreach (ProcessDescriptor child in children)
                child.Kill();
            ExitStatus[] statuses = await Task.WhenAll(onOne).WaitAsync(token);
            statuses.ShouldAllBe(s => s == statuses[0]);
            statuses[0].Pid.ShouldBe(one.Pid);
            statuses[0].TermSignal.ShouldBe(Signum.SIGKILL);

            ExitStatus[] others = await Task.WhenAll(onOthers).WaitAsync(token);
            others.Select(s => s.Pid).ShouldBe(children.Skip(1).Select(c => c.Pid));
            others.ShouldAllBe(s => s.TermSignal == Signum.SIGKILL);
        }
        finally
        {
            foreach (ProcessDescriptor child in children)
                child.Dispose();
        }
        foreach (ProcessDescriptor child in children)
            Kids.EventuallyGone(child.Pid).ShouldBeTrue($"child {child.Pid} reaped");

        static int ThreadCount()
        {
            using var self = Process.GetCurrentProcess();
            return self.Threads.Count;
        }
    }

    // ---------------------------------------------------------------- Duplicate

    [Test]
    public void Duplicate_IsAnotherNumber_ForTheSameChild_WithTheSameFlags()
    {
        using var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        using var copy = pd.Duplicate();
        try
        {
            Fd(copy).ShouldNotBe(Fd(pd));
            copy.Pid.ShouldBe(pd.Pid);
            copy.Flags.ShouldBe(pd.Flags);
            pdgetpid(Fd(copy), out int pid).ShouldBe(0);
            pid.ShouldBe(pd.Pid);
        }
        finally
        {
            KillAndReap(pd);
        }
    }

    [TestCase(PdFlags.CloExec, true)]
    [TestCase(PdFlags.None, false)]
    [TestCase(PdFlags.Daemon | PdFlags.CloExec, true)]
    [TestCase(PdFlags.Daemon, false)]
    [Contract("§1 PD_CLOEXEC")]
    public void Duplicate_IsCloseOnExec_ExactlyWhenTheOriginalIs(PdFlags flags, bool closeOnExec)
    {
        using var pd = ProcessDescriptor.Fork(Sleep60, flags);
        using var copy = pd.Duplicate();
        try
        {
            copy.Flags.ShouldBe(flags);
            CLibc.IsCloseOnExec(Fd(pd)).ShouldBe(closeOnExec);
            CLibc.IsCloseOnExec(Fd(copy)).ShouldBe(closeOnExec);
        }
        finally
        {
            KillAndReap(pd);
        }
    }

    [TestCase(true, TestName = "Duplicate_KeepsTheChildAlive_WhenTheOriginalIsDisposedFirst")]
    [TestCase(false, TestName = "Duplicate_KeepsTheChildAlive_WhenTheCopyIsDisposedFirst")]
    [Contract("§6 a duplicate (dup, `Duplicate()`) is still open")]
    public void Duplicate_KeepsTheChildAlive_UntilTheLastCopyIsDisposed(bool originalFirst)
    {
        var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        var copy = pd.Duplicate();
        var (first, last) = originalFirst ? (pd, copy) : (copy, pd);
        int pid = pd.Pid;
        try
        {
            first.Dispose();
            Kids.ReaperBarrier();
            Processes.StillRunning(pid).ShouldBeTrue("another copy is still open");
            last.HasExited.ShouldBeFalse();

            last.Dispose();
            Kids.EventuallyGone(pid).ShouldBeTrue("disposing the last copy kills, and the child is reaped");
        }
        finally
        {
            if (!last.IsClosed)
                KillAndReap(last);
            first.Dispose();
            last.Dispose();
        }
    }

    // ---------------------------------------------------------------- Dispose

    [Test, Contract("§6 last descriptor closed, no PD_DAEMON, child running")]
    public void Dispose_KillsANonDaemonChild_WhichIsReaped()
    {
        var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        int pid = pd.Pid;
        Processes.State(pid).ShouldNotBeNull();
        pd.Dispose();
        pd.IsClosed.ShouldBeTrue();
        Kids.EventuallyGone(pid).ShouldBeTrue("killed and reaped in the background: no zombie left");
    }

    [Test, Contract("§6 last descriptor closed, child already a zombie")]
    public void Dispose_OfAnExitedChild_ReapsTheZombie()
    {
        var pd = ProcessDescriptor.Start("sh", "-c", "exit 3");
        int pid = pd.Pid;
        try
        {
            Kids.WaitForExit(Fd(pd)).ShouldBeTrue();
            Processes.State(pid).ShouldBe('Z');
        }
        finally
        {
            pd.Dispose();
        }
        Kids.EventuallyGone(pid).ShouldBeTrue("the zombie is reaped");
    }

    [Test, Contract("§6 PD_DAEMON, last descriptor closed")]
    public void Dispose_LeavesADaemonChildRunning_AndItIsReapedWhenItDies()
    {
        var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.Daemon | PdFlags.CloExec);
        int pid = pd.Pid;
        bool killed = false;
        try
        {
            pd.Dispose();
            Kids.ReaperBarrier();
            Processes.StillRunning(pid).ShouldBeTrue("a PD_DAEMON child survives the close of its last descriptor");

            CLibc.kill(pid, 9).ShouldBe(0);
            killed = true;
            Kids.EventuallyGone(pid).ShouldBeTrue("the released daemon is reaped when it dies: no zombie");
        }
        finally
        {
            if (!killed && Processes.State(pid) is not null)
                CLibc.kill(pid, 9);
        }
    }

    [Test]
    public void AfterDispose_EveryOperationThrowsObjectDisposedException_ButPidAndFlagsRemain()
    {
        var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        int pid = pd.Pid;
        pd.Dispose();
        try
        {
            Should.Throw<ObjectDisposedException>(() => pd.Kill());
            Should.Throw<ObjectDisposedException>(() => pd.Wait());
            Should.Throw<ObjectDisposedException>(() => pd.TryWait(out _));
            Should.Throw<ObjectDisposedException>(() => pd.WaitAsync());
            Should.Throw<ObjectDisposedException>(() => pd.HasExited);
            Should.Throw<ObjectDisposedException>(() => pd.Duplicate());

            pd.Pid.ShouldBe(pid);
            pd.Flags.ShouldBe(PdFlags.CloExec);
            pd.IsClosed.ShouldBeTrue();
            Should.NotThrow(() => pd.Dispose());
        }
        finally
        {
            Kids.EventuallyGone(pid).ShouldBeTrue();
        }
    }

    // ---------------------------------------------------------------- FromHandle

    [TestCase(0, PdFlags.None)]
    [TestCase(PD_CLOEXEC, PdFlags.CloExec)]
    [TestCase(PD_DAEMON, PdFlags.Daemon)]
    [TestCase(PD_DAEMON | PD_CLOEXEC, PdFlags.Daemon | PdFlags.CloExec)]
    [Contract("§2 procdesc, child running, exited or already reaped")]
    public void FromHandle_OfAPdforkDescriptor_GivesThePidAndTheFlags(int flags, PdFlags expected)
    {
        int pid = pdfork(out int fd, flags, Sleep60);
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        ProcessDescriptor? pd = null;
        try
        {
            pd = ProcessDescriptor.FromHandle(fd);
            Fd(pd).ShouldBe(fd);
            pd.Pid.ShouldBe(pid);
            pd.Flags.ShouldBe(expected);
        }
        finally
        {
            if (pd is null)
            {
                Kids.Cleanup(fd);
            }
            else
            {
                KillAndReap(pd);
                pd.Dispose();
            }
        }
    }

    [Test, Contract("§6 last descriptor closed, no PD_DAEMON, child running")]
    public void FromHandle_Owning_DisposeClosesTheDescriptor_AndKillsTheChild()
    {
        int pid = Kids.Sleeper(out int fd);
        var pd = ProcessDescriptor.FromHandle(fd);
        pd.Dispose();
        Kids.EventuallyGone(pid).ShouldBeTrue("the adopted descriptor was the last: kill-on-close");
        pdgetpid(fd, out _).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.EBADF);
    }

    [Test]
    public void FromHandle_NotOwning_DisposeLeavesTheDescriptorOpen()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            var pd = ProcessDescriptor.FromHandle(fd, ownsHandle: false);
            pd.Pid.ShouldBe(pid);
            pd.Dispose();
            Should.Throw<ObjectDisposedException>(() => pd.Kill());

            Kids.ReaperBarrier();
            pdgetpid(fd, out int stillNamed).ShouldBe(0, "the descriptor is the caller's, still open");
            stillNamed.ShouldBe(pid);
            Processes.StillRunning(pid).ShouldBeTrue();
        }
        finally
        {
            Kids.Cleanup(fd);
        }
        Kids.EventuallyGone(pid).ShouldBeTrue();
    }

    [Test, Contract("§6 a duplicate (dup, `Duplicate()`) is still open")]
    public void FromHandle_OfAPidfdOpenCopy_OfTheLibrarysChild_IsAccepted_AndIsACopy()
    {
        using var pd = ProcessDescriptor.Fork(Sleep60, PdFlags.CloExec);
        try
        {
            int opened = CLibc.pidfd_open(pd.Pid);
            opened.ShouldBeGreaterThanOrEqualTo(0, $"pidfd_open: errno {CLibc.Errno}");
            var adopted = ProcessDescriptor.FromHandle(opened);
            adopted.Pid.ShouldBe(pd.Pid);
            adopted.Flags.ShouldBe(PdFlags.CloExec, "pidfd_open's descriptors are close-on-exec; not a daemon");

            adopted.Dispose();
            Kids.ReaperBarrier();
            Processes.StillRunning(pd.Pid).ShouldBeTrue("the object's own descriptor is still open");
        }
        finally
        {
            KillAndReap(pd);
        }
    }

    [Test, Contract("§2 fd open but not a process descriptor (file, pipe, socket)")]
    public void FromHandle_OfAPipe_ThrowsEBADF()
    {
        var (read, write) = CLibc.Pipe();
        try
        {
            foreach (int fd in new[] { read, write })
            {
                var error = Should.Throw<ProcessDescriptorException>(() => ProcessDescriptor.FromHandle(fd));
                error.Errno.ShouldBe(Errno.EBADF);
                error.NativeErrno.ShouldBe((int)Errno.EBADF);
                CLibc.fcntl(fd, CLibc.F_GETFD, 0).ShouldBeGreaterThanOrEqualTo(0, "a failed adoption closes nothing");
            }
        }
        finally
        {
            CLibc.close(read);
            CLibc.close(write);
        }
    }

    [TestCase(-1)]
    [TestCase(1 << 20)]
    [Contract("§2 fd not open, negative, or huge")]
    public void FromHandle_OfANumberThatIsNotOpen_ThrowsEBADF(int fd)
    {
        var error = Should.Throw<ProcessDescriptorException>(() => ProcessDescriptor.FromHandle(fd));
        error.Errno.ShouldBe(Errno.EBADF);
        error.NativeErrno.ShouldBe((int)Errno.EBADF);
    }

    [Test]
    public void FromHandle_OfAPidfdOfAProcessTheLibraryDidNotMake_ThrowsEBADF()
    {
        int self = CLibc.pidfd_open(Environment.ProcessId);
        self.ShouldBeGreaterThanOrEqualTo(0, $"pidfd_open: errno {CLibc.Errno}");
        try
        {
            var error = Should.Throw<ProcessDescriptorException>(() => ProcessDescriptor.FromHandle(self));
            error.Errno.ShouldBe(Errno.EBADF);
            error.NativeErrno.ShouldBe((int)Errno.EBADF);
        }
        finally
        {
            close(self).ShouldBe(0);
        }
    }

    // ---------------------------------------------------------------- the finalizer

    [Test, Contract("§6 a managed descriptor object becomes unreachable without Dispose")]
    public void Finalizer_OfAnUnreachableObject_KillsTheChild_WhichIsReaped()
    {
        var (pid, fd) = ForkAndForget(PdFlags.CloExec);
        try
        {
            CollectEverything();
            (pdgetpid(fd, out int named) != 0 || named != pid).ShouldBeTrue("the finalizer closed the descriptor");
            Kids.EventuallyGone(pid).ShouldBeTrue("kill-on-close through the finalizer, then reaped");
        }
        finally
        {
            if (Processes.State(pid) is not null)
                CLibc.kill(pid, 9);
        }
    }

    [Test]
    [Contract("§6 a managed descriptor object becomes unreachable without Dispose")]
    [Contract("§6 PD_DAEMON, last descriptor closed")]
    public void Finalizer_OfAnUnreachableDaemonObject_LeavesTheChildRunning()
    {
        var (pid, fd) = ForkAndForget(PdFlags.Daemon | PdFlags.CloExec);
        bool killed = false;
        try
        {
            CollectEverything();
            (pdgetpid(fd, out int named) != 0 || named != pid).ShouldBeTrue("the finalizer closed the descriptor");
            Kids.ReaperBarrier();
            Processes.StillRunning(pid).ShouldBeTrue("a PD_DAEMON child survives its finalized descriptor");

            CLibc.kill(pid, 9).ShouldBe(0);
            killed = true;
            Kids.EventuallyGone(pid).ShouldBeTrue("the released daemon is reaped when it dies");
        }
        finally
        {
            if (!killed && Processes.State(pid) is not null)
                CLibc.kill(pid, 9);
        }
    }

    /// <summary>Creates a child through an object that nothing references once this returns.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (int Pid, int Fd) ForkAndForget(PdFlags flags)
    {
        var pd = ProcessDescriptor.Fork(Sleep60, flags);
        return (pd.Pid, Fd(pd));
    }

    private static void CollectEverything()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    // ---------------------------------------------------------------- helpers

    private static PdChild Sleep60 => PdChild.Exec("/bin/sleep", ["sleep", "60"]);

    private static int Fd(ProcessDescriptor pd) => (int)pd.DangerousGetHandle();

    /// <summary>A shell child with stdin on a pipe: it runs <paramref name="command"/> (which reads
    /// stdin) and cannot get past the read before the test closes <paramref name="release"/>.</summary>
    private static ProcessDescriptor StartHeld(out int release, string command)
    {
        var (read, write) = CLibc.Pipe();
        try
        {
            var pd = ProcessDescriptor.Fork(PdChild.Exec(Kids.Shell, ["sh", "-c", command]).WithFd(0, read), PdFlags.CloExec);
            release = write;
            return pd;
        }
        catch
        {
            CLibc.close(write);
            throw;
        }
        finally
        {
            CLibc.close(read);
        }
    }

    /// <summary>Kills (if still there) and reaps a test's child through the object; the descriptor stays open.</summary>
    private static void KillAndReap(ProcessDescriptor pd)
    {
        if (pd.IsClosed)
            return;
        try
        {
            if (!pd.TryWait(out _))
            {
                pd.Kill();
                pd.Wait();
            }
        }
        catch (ProcessDescriptorException)
        {
            // already gone: nothing to clean up
        }
    }

}
