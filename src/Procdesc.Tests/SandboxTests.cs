using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// The sandbox (issue 13) on the real kernel: each attempt a sandbox denies is made inside it and,
/// in the same test, by the same code outside it — an exec'd program (native/sandbox_probe.c)
/// through PdChild.WithSandbox and through `procdesc run --sandbox`, and a worker's entry. What the
/// sandbox must deny follows the level this kernel's Landlock reaches (HostFeatures).
/// </summary>
[OnlyOn("Linux", "Landlock; FreeBSD's capability mode (workers only) is compiled and checked against its headers, not run here")]
[Contract("§13 inside a sandbox")]
public class SandboxTests
{
    private static readonly Dictionary<string, int> AllWork = SandboxProbe.Attempts.ToDictionary(a => a, _ => 0);

    private static SandboxLevel Reachable => HostFeatures.ProgramSandbox;

    private static bool Enforceable => (SandboxPolicy.Default.Minimum & ~Reachable) == 0;

    private static int ProbeInWorker(WorkerContext context)
    {
        Channel.SendLine(context.Channel, SandboxProbe.Run(context.Arguments).Replace('\n', ';'));
        Channel.SendLine(context.Channel, context.Sandbox.ToString());
        return 0;
    }

    [Test, CancelAfter(120_000)]
    public void AProgramInTheSandbox_IsDeniedEachAttempt_AndTheSameProgramOutsideIsNot(CancellationToken cancellation)
    {
        if (!Enforceable)
            Assert.Ignore($"this kernel's Landlock does not reach the default sandbox ({Reachable}): ABadSandbox rows check the refusal");
        using var probe = new SandboxProbe();
        Dictionary<string, int> inside = RunNativeProbe(probe, SandboxPolicy.Default);
        Dictionary<string, int> outside = RunNativeProbe(probe, null);
        outside.ShouldBe(AllWork, "the control run, outside the sandbox");
        inside.ShouldBe(SandboxProbe.Expected(Reachable), $"inside a sandbox at {Reachable}");
    }

    [Test, CancelAfter(120_000)]
    public void AllowedPaths_AreReadableOrWritable_AndNothingBesideThem()
    {
        if (!Enforceable)
            Assert.Ignore($"no file-system sandbox on this kernel ({Reachable})");
        string dir = Directory.CreateTempSubdirectory("procdesc-sandbox-").FullName;
        string readable = Directory.CreateTempSubdirectory("procdesc-sandbox-ro-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(readable, "in"), "content\n");
            SandboxPolicy policy = SandboxPolicy.Default.AllowRead(readable).AllowReadWrite(dir).AllowRead("/usr/bin");
            string script = $"cat {readable}/in && echo new > {dir}/out && rm {dir}/out && echo ok; " +
                            $"echo x > {readable}/denied || echo write-denied; cat /etc/hostname || echo read-denied";
            (string output, int status) = RunToPipe(PdChild.Exec("/bin/sh", ["sh", "-c", script]).WithSandbox(policy));
            WIFEXITED(status).ShouldBeTrue();
            output.ShouldContain("content\nok\n");
            output.ShouldContain("write-denied");
            output.ShouldContain("read-denied");
            File.Exists(Path.Combine(readable, "denied")).ShouldBeFalse();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            Directory.Delete(readable, recursive: true);
        }
    }

    [Test, CancelAfter(120_000)]
    public void TheToolsSandbox_DeniesTheSame_AndTheToolWithoutItDoesNot()
    {
        if (!Enforceable)
            Assert.Ignore($"this kernel's Landlock does not reach the default sandbox ({Reachable})");
        using var probe = new SandboxProbe();
        Tool.Result inside = Tool.Run(["run", "-q", "--sandbox", "--", SandboxProbe.NativeProbe, .. probe.Arguments(1)]);
        Tool.Result outside = Tool.Run(["run", "-q", "--", SandboxProbe.NativeProbe, .. probe.Arguments(1)]);
        inside.ExitCode.ShouldBe(0, inside.StdErr);
        outside.ExitCode.ShouldBe(0, outside.StdErr);
        SandboxProbe.Parse(outside.StdOut).ShouldBe(AllWork);
        SandboxProbe.Parse(inside.StdOut).ShouldBe(SandboxProbe.Expected(Reachable));
    }

    [Test, CancelAfter(120_000)]
    public void UnderTheHelperParent_TheSandboxHoldsAlike()
    {
        if (!Enforceable)
            Assert.Ignore($"this kernel's Landlock does not reach the default sandbox ({Reachable})");
        using var probe = new SandboxProbe();
        Tool.Result inside = Tool.Run(["run", "-q", "--sandbox", "--", SandboxProbe.NativeProbe, .. probe.Arguments(1)],
            environment: new() { ["PROCDESC_LINUX_PARENT"] = "helper" });
        inside.ExitCode.ShouldBe(0, inside.StdErr);
        SandboxProbe.Parse(inside.StdOut).ShouldBe(SandboxProbe.Expected(Reachable));
    }

    [Test, CancelAfter(120_000)]
    public void AWorkerInTheSandbox_IsDeniedEachAttempt_ItsChannelAndPassedDescriptorsWork_AndOutsideAllWorks(CancellationToken cancellation)
    {
        if (!Enforceable)
            Assert.Ignore($"this kernel's Landlock does not reach the default sandbox ({Reachable})");
        using var probe = new SandboxProbe();
        (Dictionary<string, int> inside, string insideLevel) = RunWorkerProbe(probe, SandboxPolicy.Default);
        (Dictionary<string, int> outside, string outsideLevel) = RunWorkerProbe(probe, null);
        outside.ShouldBe(AllWork);
        outsideLevel.ShouldBe(nameof(SandboxLevel.None));
        inside.ShouldBe(SandboxProbe.Expected(Reachable));
        insideLevel.ShouldBe(Reachable.ToString(), "WorkerContext.Sandbox: what was applied");
    }

    [Test]
    public void ABadSandbox_IsRefusedWithAClearError_AndNothingStarts()
    {
        int[] children = Processes.Children();
        SortedSet<int> descriptors = Processes.OpenDescriptors();
        string missing = $"/nonexistent/procdesc-{Guid.NewGuid():N}";

        pdfork(out int fd, PD_CLOEXEC, PdChild.Exec("/bin/true", ["true"]).WithSandbox(SandboxPolicy.Default.AllowRead(missing))).ShouldBe(-1);
        GetLastError().ShouldBe(Enforceable ? Errno.ENOENT : Errno.EOPNOTSUPP);
        fd.ShouldBe(-1);

        // More than Linux can give (capability mode is FreeBSD's): refused, never run with less.
        pdfork(out fd, PD_CLOEXEC, PdChild.Exec("/bin/true", ["true"]).WithSandbox(SandboxPolicy.Default.RequireAtLeast(SandboxLevel.CapabilityMode))).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.EOPNOTSUPP);

        var e = Should.Throw<ProcessDescriptorException>(() => PdWorker.Start(ProbeInWorker, new WorkerOptions { Sandbox = SandboxPolicy.Default.AllowReadWrite(missing) }));
        e.Errno.ShouldBe(Enforceable ? Errno.ENOENT : Errno.EOPNOTSUPP);
        Should.Throw<ArgumentException>(() => SandboxPolicy.Default.AllowRead(""));
        Should.Throw<ArgumentException>(() => SandboxPolicy.Default.AllowRead("/tmp/nul\0inside"));

        Processes.NoNewChildren(children);
        Processes.NoDescriptorLeaked(descriptors);
    }

    [Test, CancelAfter(120_000)]
    public void WhereTheKernelHasNoLandlock_TheToolRefusesTheSandbox_AndRunsNothing()
    {
        // Landlock's calls answering ENOSYS, as on a kernel built without it or under an older
        // container profile: the sandbox cannot be had, so the tool fails (125) and starts nothing.
        string marker = Path.Combine(Path.GetTempPath(), $"procdesc-ran-{Guid.NewGuid():N}");
        Tool.Result result = Tool.Run(["run", "-q", "--sandbox", "--", "/bin/touch", marker], Tool.WithoutSyscall, wrapperArguments: ["444,445,446"]);
        result.StdErr.ShouldNotContain("is still reachable");
        result.ExitCode.ShouldBe(125, result.StdErr);
        result.StdErr.ShouldContain("--sandbox");
        result.StdErr.ShouldContain("Landlock");
        File.Exists(marker).ShouldBeFalse("nothing ran");

        Tool.Result info = Tool.Run(["info"], Tool.WithoutSyscall, wrapperArguments: ["444,445,446"]);
        info.StdOut.ShouldContain("sandbox  programs: NoNewPrivileges;");
    }

    private static Dictionary<string, int> RunNativeProbe(SandboxProbe probe, SandboxPolicy? policy)
    {
        (int read, int write) = CLibc.Pipe();
        try
        {
            PdChild child = PdChild.Exec(SandboxProbe.NativeProbe, [SandboxProbe.NativeProbe, .. probe.Arguments(5)]).WithFd(5, write);
            if (policy is not null)
                child = child.WithSandbox(policy);
            (string output, int status) = RunToPipe(child);
            WEXITSTATUS(status).ShouldBe(0, output);
            using var passed = new LineReader(read);
            CLibc.close(write);
            write = -1;
            passed.ReadLine().ShouldBe("x", "the passed descriptor works");
            read = -1;
            return SandboxProbe.Parse(output);
        }
        finally
        {
            if (write >= 0) CLibc.close(write);
            if (read >= 0) CLibc.close(read);
        }
    }

    /// <summary>Runs <paramref name="child"/> with its stdout on a pipe: what it wrote, and its status.</summary>
    private static (string Output, int Status) RunToPipe(PdChild child)
    {
        (int read, int write) = CLibc.Pipe();
        using var reader = new LineReader(read);
        int pid = pdfork(out int fd, PD_CLOEXEC, child.WithFd(1, write).WithFd(2, write));
        CLibc.close(write);
        pid.ShouldBeGreaterThan(0, GetLastError().ToString());
        var output = new System.Text.StringBuilder();
        for (string? line; (line = reader.ReadLine()) is not null;)
            output.Append(line).Append('\n');
        pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
        close(fd);
        return (output.ToString(), status);
    }

    private static (Dictionary<string, int> Attempts, string Level) RunWorkerProbe(SandboxProbe probe, SandboxPolicy? policy)
    {
        (int read, int write) = CLibc.Pipe();
        using var passed = new LineReader(read);
        using Worker worker = PdWorker.Start(ProbeInWorker, new WorkerOptions { Arguments = probe.Arguments(5), Sandbox = policy }.WithFd(5, write));
        CLibc.close(write);
        string attempts = Channel.ReceiveLine(worker.Channel)!;
        string level = Channel.ReceiveLine(worker.Channel)!;
        passed.ReadLine(Channel.StartBoundMs).ShouldBe("x", "the passed descriptor works");
        worker.Wait().ExitCode.ShouldBe(0);
        return (SandboxProbe.Parse(attempts.Replace(';', '\n')), level);
    }
}
