using System.Text;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Workers (issue 13): a static method of this assembly run in a fresh runtime under a process
/// descriptor, with a channel. The workers here are this test host started again: the startup hook
/// reaches the entries below before the test host's Main.
/// </summary>
[OnlyOn("Linux", "reads /proc; FreeBSD's workers are compiled and checked against its headers, not run here")]
[Contract("§13 workers and the sandbox")]
public class WorkerTests
{
    // ---- entries (run in the worker) ----

    private static int Upper(WorkerContext context)
    {
        string? line = Channel.ReceiveLine(context.Channel);
        Channel.SendLine(context.Channel, (line ?? "<eof>").ToUpperInvariant());
        return 7;
    }

    private static int EchoArguments(WorkerContext context)
    {
        Channel.SendLine(context.Channel, Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\0', context.Arguments))));
        return context.Arguments.Count;
    }

    private static int WriteToFive(WorkerContext context)
    {
        CLibc.WriteText(5, $"hello from {Environment.ProcessId}\n");
        return 0;
    }

    private static int Throw(WorkerContext context) => throw new InvalidOperationException(context.Arguments[0]);

    /// <summary>Says it runs, then never ends on its own (not even at the channel's end).</summary>
    private static int ReadyThenBlock(WorkerContext context)
    {
        Channel.SendLine(context.Channel, $"ready {Environment.ProcessId}");
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    /// <summary>Starts a worker of its own and reports its pid; then blocks.</summary>
    private static int StartInnerWorker(WorkerContext context)
    {
        Worker inner = PdWorker.Start(ReadyThenBlock);
        string? ready = Channel.ReceiveLine(inner.Channel);
        Channel.SendLine(context.Channel, ready ?? "<eof>");
        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(inner);
        return 0;
    }

    private int InstanceEntry(WorkerContext context) => GetHashCode();

    /// <summary>The README's example worker, as it is there.</summary>
    private static int CountHeaders(WorkerContext context)
    {
        using var stream = new System.Net.Sockets.NetworkStream(context.Channel);
        using var input = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        var headers = new Dictionary<string, string>();
        for (string? line; !string.IsNullOrEmpty(line = input.ReadLine());)
            if (line.IndexOf(':') is int colon and > 0)
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        stream.Write(Encoding.UTF8.GetBytes($"{headers.Count} headers; sandbox: {context.Sandbox}\n"));
        return 0;
    }

    // ---- tests (run here) ----

    [Test, CancelAfter(120_000)]
    public async Task AWorker_AnswersOnItsChannel_AndItsResultIsItsExitCode(CancellationToken cancellation)
    {
        using (Worker worker = PdWorker.Start(Upper))
        {
            Channel.SendLine(worker.Channel, "ping from the parent");
            Channel.ReceiveLine(worker.Channel).ShouldBe("PING FROM THE PARENT");
            ExitStatus status = worker.Wait();
            status.Exited.ShouldBeTrue(status.ToString());
            status.ExitCode.ShouldBe(7);
            status.Pid.ShouldBe(worker.Pid);
        }
        await using (Worker worker = PdWorker.Start(Upper))
        {
            Channel.SendLine(worker.Channel, "async");
            Channel.ReceiveLine(worker.Channel).ShouldBe("ASYNC");
            ExitStatus status = await worker.WaitAsync(cancellation);
            status.ExitCode.ShouldBe(7);
            status.Usage.UserTime.ShouldBeGreaterThan(TimeSpan.Zero, "pdwait4's rusage: a runtime's start costs CPU time");
        }
    }

    [Test, CancelAfter(120_000)]
    public void TheEntrysArguments_ArriveAsTheyWere_WithoutAShell(CancellationToken cancellation)
    {
        string[] arguments = ["", " ", "two words", "it's \"quoted\"", "$(touch /tmp/procdesc-pwned)", "`id`", "a\nnew line", "tab\there",
            "--procdesc-worker", "-", "ünïcødé ✓", "\\", "*", "; exit 3"];
        using Worker worker = PdWorker.Start(EchoArguments, new WorkerOptions { Arguments = arguments });
        string line = Channel.ReceiveLine(worker.Channel)!;
        Encoding.UTF8.GetString(Convert.FromBase64String(line)).Split('\0').ShouldBe(arguments);
        worker.Wait().ExitCode.ShouldBe(arguments.Length);
        File.Exists("/tmp/procdesc-pwned").ShouldBeFalse();
    }

    [Test, CancelAfter(120_000)]
    public void PassedDescriptors_ArriveUnderTheirNumbers(CancellationToken cancellation)
    {
        (int read, int write) = CLibc.Pipe();
        using var reader = new LineReader(read);
        using (Worker worker = PdWorker.Start(WriteToFive, new WorkerOptions().WithFd(5, write)))
        {
            CLibc.close(write);
            reader.ReadLine(Channel.StartBoundMs).ShouldBe($"hello from {worker.Pid}");
            worker.Wait().ExitCode.ShouldBe(0);
        }
        Should.Throw<ArgumentOutOfRangeException>(() => new WorkerOptions().WithFd(PdWorker.ChannelFd, 0));
    }

    [Test, CancelAfter(120_000)]
    public async Task AnEntryThatThrows_EndsTheWorkerWithItsCode_AndTheExceptionGoesToItsStderr(CancellationToken cancellation)
    {
        (int read, int write) = CLibc.Pipe();
        using var stderr = new LineReader(read);
        string message = $"boom-{Guid.NewGuid():N}";
        await using Worker worker = PdWorker.Start(Throw, new WorkerOptions { Arguments = [message] }.WithFd(2, write));
        CLibc.close(write);
        ExitStatus status = await worker.WaitAsync(cancellation);
        status.ExitCode.ShouldBe(PdWorker.UnhandledExceptionExitCode);
        var text = new StringBuilder();
        for (string? line; (line = stderr.ReadLine(Channel.StartBoundMs)) is not null;)
            text.AppendLine(line);
        text.ToString().ShouldContain($"System.InvalidOperationException: {message}");
        text.ToString().ShouldContain(nameof(Throw));
    }

    [Test, CancelAfter(120_000), Contract("§6 last descriptor closed, no PD_DAEMON, child running")]
    public void DisposingTheWorker_KillsIt(CancellationToken cancellation)
    {
        // A pipe only the worker holds open: its end of file tells that the worker is gone.
        (int read, int write) = CLibc.Pipe();
        using var watch = new LineReader(read);
        Worker worker = PdWorker.Start(ReadyThenBlock, new WorkerOptions().WithFd(4, write));
        CLibc.close(write);
        int pid = worker.Pid;
        Channel.ReceiveLine(worker.Channel).ShouldBe($"ready {pid}");
        worker.Dispose();
        watch.ReadLine().ShouldBeNull("the worker's copy of the pipe closed: it died");
        Kids.EventuallyGone(pid).ShouldBeTrue("killed and reaped: no zombie");
        Should.Throw<ObjectDisposedException>(() => worker.Process.Kill());
    }

    [Test, CancelAfter(120_000)]
    public async Task CancelingAWait_KillsTheWorker(CancellationToken cancellation)
    {
        await using Worker worker = PdWorker.Start(ReadyThenBlock);
        Channel.ReceiveLine(worker.Channel).ShouldBe($"ready {worker.Pid}");
        using var cancel = new CancellationTokenSource();
        Task<ExitStatus> wait = worker.WaitAsync(cancel.Token);
        cancel.Cancel();
        await Should.ThrowAsync<OperationCanceledException>(wait);
        ExitStatus status = worker.Wait();
        status.TermSignal.ShouldBe(Signum.SIGKILL);
    }

    [Test, CancelAfter(180_000), Contract("§6 the caller's process exits normally, crashes, or is killed with SIGKILL")]
    public void AWorkerWhoseParentIsKilled_DiesToo(CancellationToken cancellation)
    {
        Orphans.AdoptOrphans(true);
        try
        {
            using Worker middle = PdWorker.Start(StartInnerWorker);
            string ready = Channel.ReceiveLine(middle.Channel)!;
            ready.ShouldStartWith("ready ");
            int inner = int.Parse(ready["ready ".Length..]);
            Kids.IsRunning(inner).ShouldBeTrue();
            middle.Process.Kill(Signum.SIGKILL);
            middle.Wait().TermSignal.ShouldBe(Signum.SIGKILL);
            int status = Orphans.Reap(inner, Kids.Bound);
            status.ShouldNotBe(-1, $"the inner worker {inner} outlived its parent");
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
        }
        finally
        {
            Orphans.AdoptOrphans(false);
        }
    }

    [Test, CancelAfter(600_000)]
    public void AHundredWorkers_StartedAndDisposed_LeaveNoZombieNoDescriptorNoOrphan(CancellationToken cancellation)
    {
        string tag = $"procdesc-worker-tag-{Guid.NewGuid():N}";
        int[] children = Processes.Children();
        SortedSet<int> descriptors = Processes.OpenDescriptors();
        var pids = new List<int>();
        for (int i = 0; i < 100; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            using Worker worker = PdWorker.Start(ReadyThenBlock, new WorkerOptions { Arguments = [tag] });
            pids.Add(worker.Pid);
            if (i % 2 == 0) // half disposed at once (the runtime still starting), half once their entry runs
                Channel.ReceiveLine(worker.Channel).ShouldBe($"ready {worker.Pid}");
        }
        foreach (int pid in pids)
            Kids.EventuallyGone(pid, TimeScale.Of(TimeSpan.FromSeconds(30))).ShouldBeTrue($"worker {pid} is still there");
        Processes.NoNewChildren(children, "no zombie");
        Processes.NoDescriptorLeaked(descriptors);
        Kids.Eventually(() => !ProcessesWithArgument(tag).Any()).ShouldBeTrue($"no orphan: {string.Join(", ", ProcessesWithArgument(tag))}");
    }

    [Test, CancelAfter(120_000)]
    public async Task TheReadmesExample_ParsesUntrustedInputInTheSandbox(CancellationToken cancellation)
    {
        if ((SandboxPolicy.Default.Minimum & ~HostFeatures.WorkerSandbox) != 0)
            Assert.Ignore($"no default sandbox on this kernel ({HostFeatures.WorkerSandbox}); SandboxTests check the refusal");
        byte[] untrusted = Encoding.UTF8.GetBytes("Host: example.org\nAccept: */*\nX-Evil: $(rm -rf /)\n\nbody\n");
        // From here on, the README's lines.
        await using Worker parser = PdWorker.Start(CountHeaders, new WorkerOptions { Sandbox = SandboxPolicy.Default });
        using var channel = new System.Net.Sockets.NetworkStream(parser.Channel);
        await channel.WriteAsync(untrusted, cancellation);
        parser.Channel.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        string summary = await new StreamReader(channel).ReadToEndAsync(cancellation);
        ExitStatus status = await parser.WaitAsync(cancellation);
        status.ExitCode.ShouldBe(0);
        summary.ShouldBe($"3 headers; sandbox: {HostFeatures.WorkerSandbox}\n");
    }

    [Test, NonParallelizable, CancelAfter(300_000), Contract("§11 runs out of descriptors")]
    public unsafe void WhenDescriptorsRunOut_StartFailsWithEMFILE_AtEachStep_AndLeavesNothing(CancellationToken cancellation)
    {
        bool sandbox = (SandboxPolicy.Default.Minimum & ~HostFeatures.WorkerSandbox) == 0;
        var options = new WorkerOptions { Sandbox = sandbox ? SandboxPolicy.Default : null };
        using (Worker warm = PdWorker.Start(ReadyThenBlock, options)) // first-use work done outside the limit
            Channel.ReceiveLine(warm.Channel).ShouldBe($"ready {warm.Pid}");
        ulong* saved = stackalloc ulong[2];
        CLibc.getrlimit(CLibc.RLIMIT_NOFILE, saved).ShouldBe(0);
        ulong* lowered = stackalloc ulong[2];
        var outcomes = new List<string>();
        // k free numbers below the limit: the channel's pair, the ruleset, a path's O_PATH, the pidfd each need one.
        for (int free = 0; free <= 6; free++)
        {
            int[] children = Processes.Children();
            SortedSet<int> descriptors = Processes.OpenDescriptors();
            (lowered[0], lowered[1]) = ((ulong)LimitLeaving(free), saved[1]);
            Worker? worker = null;
            Exception? failure = null;
            try
            {
                CLibc.setrlimit(CLibc.RLIMIT_NOFILE, lowered).ShouldBe(0);
                worker = PdWorker.Start(ReadyThenBlock, options);
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                CLibc.setrlimit(CLibc.RLIMIT_NOFILE, saved).ShouldBe(0);
            }
            if (worker is not null)
            {
                outcomes.Add($"{free}: started");
                Channel.ReceiveLine(worker.Channel).ShouldBe($"ready {worker.Pid}");
                worker.Dispose();
                Kids.EventuallyGone(worker.Pid).ShouldBeTrue();
            }
            else
            {
                outcomes.Add($"{free}: {failure!.GetType().Name} {(failure as ProcessDescriptorException)?.Errno}");
                failure.ShouldBeOfType<ProcessDescriptorException>().Errno.ShouldBe(Errno.EMFILE, failure.ToString());
            }
            Processes.NoNewChildren(children, $"{free} free: no child, not even a zombie");
            Processes.NoDescriptorLeaked(descriptors);
        }
        TestContext.Out.WriteLine(string.Join("; ", outcomes));
        outcomes[0].ShouldContain("EMFILE");
        outcomes[^1].ShouldContain("started");
    }

    [Test]
    public void AnEntryThatIsNotAStaticMethod_IsRefused_AndNothingStarts()
    {
        int[] children = Processes.Children();
        SortedSet<int> descriptors = Processes.OpenDescriptors();
        int captured = 3;
        Should.Throw<ArgumentException>(() => PdWorker.Start(context => 0)).Message.ShouldContain("static");
        Should.Throw<ArgumentException>(() => PdWorker.Start(context => captured)).Message.ShouldContain("static");
        Should.Throw<ArgumentException>(() => PdWorker.Start(InstanceEntry)).Message.ShouldContain("static");
        Func<WorkerContext, int> twice = Upper;
        twice += Upper;
        Should.Throw<ArgumentException>(() => PdWorker.Start(twice));
        Should.Throw<ArgumentNullException>(() => PdWorker.Start(null!));
        Should.Throw<ArgumentException>(() => PdWorker.Start(Upper, new WorkerOptions { Arguments = ["nul\0inside"] }));
        Should.Throw<ArgumentException>(() => PdWorker.Start(Upper, new WorkerOptions { Descriptors = [(PdWorker.ChannelFd, 0)] }));
        Processes.NoNewChildren(children);
        Processes.NoDescriptorLeaked(descriptors);
    }

    /// <summary>The RLIMIT_NOFILE below which exactly <paramref name="free"/> numbers are free now
    /// (numbers above the lowest free one may be taken: holes count only when they are free).</summary>
    private static int LimitLeaving(int free)
    {
        int n = CLibc.LowestFreeNumber();
        for (int found = 0; found < free; n++)
            if (!CLibc.IsOpen(n))
                found++;
        return n;
    }

    /// <summary>Pids of the processes whose command line holds <paramref name="argument"/>.</summary>
    internal static IEnumerable<int> ProcessesWithArgument(string argument)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
                continue;
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (cmdline.Split('\0').Contains(argument))
                yield return pid;
        }
    }
}
