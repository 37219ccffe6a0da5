using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// What a child gets from the way it is started, as programs expect from a shell, execvp(3) and
/// kill(1): SIGPIPE and SIGXFSZ at their defaults although the .NET runtime ignores SIGPIPE
/// (<see cref="PdChild.RestoredSignals"/>), execvp's /bin/sh fallback for a script without "#!"
/// (<see cref="PdChild.ExecFromPath"/>), and signal names with realtime signals (str2sig, sig2str).
/// Real children throughout; bash's own `kill -l` is the reference for the names.
/// </summary>
public class ExecHabitsTests
{
    private string _dir = "";

    [SetUp]
    public void MakeDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"procdesc-habits-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    // ---------------------------------------------------------------- signal dispositions

    [Test]
    public void TheRuntimeIgnoresSigpipe_ButAChildStartsWithItsDefault_AndDiesWritingToAClosedPipe()
    {
        (int status, _) = YesIntoAClosedPipe(PdChild.ExecFromPath("yes", ["yes"]));
        WIFSIGNALED(status).ShouldBeTrue($"status 0x{status:x}: yes must die of SIGPIPE, as under a shell");
        WTERMSIG(status).ShouldBe(Signum.SIGPIPE);
        PdChild.RestoredSignals.ShouldBe([Signum.SIGPIPE, Signum.SIGXFSZ]);
        PdChild.ExecFromPath("yes", ["yes"]).RestoresSignals.ShouldBeTrue();
    }

    [Test]
    public void WithInheritedSignals_TheChildKeepsThisProcesssIgnoredSigpipe_AndGetsEPIPE()
    {
        (int status, string stderr) = YesIntoAClosedPipe(PdChild.ExecFromPath("yes", ["yes"]).WithInheritedSignals());
        WIFEXITED(status).ShouldBeTrue($"status 0x{status:x}: with SIGPIPE ignored, write fails with EPIPE and yes exits");
        WEXITSTATUS(status).ShouldNotBe(0);
        stderr.ShouldContain("Broken pipe");
    }

    [Test]
    [OnlyOn("Linux", "reads SigIgn and SigCgt from /proc/<pid>/status")]
    public void OnlyTheRestoredSignalsChange_AndNoHandlerOfThisProcessCrossesIntoTheChild()
    {
        ulong ignoredHere = StatusMask(Environment.ProcessId, "SigIgn");
        (ulong ignored, ulong caught) = Masks(PdChild.ExecFromPath("cat", ["cat", "/proc/self/status"]));
        ulong restored = (1UL << (13 - 1)) | (1UL << (25 - 1)); // SIGPIPE, SIGXFSZ
        ignored.ShouldBe(ignoredHere & ~restored, $"SigIgn here {ignoredHere:x}");
        caught.ShouldBe(0UL, "cat catches nothing itself; the runtime's handlers must not cross");
        (ulong inherited, _) = Masks(PdChild.ExecFromPath("cat", ["cat", "/proc/self/status"]).WithInheritedSignals());
        inherited.ShouldBe(ignoredHere);
    }

    // ---------------------------------------------------------------- execvp's script fallback

    [Test, Contract("§1 the child's exec fails")]
    public void ExecFromPath_RunsAScriptWithoutAShebangLine_WithBinSh_AsExecvpDoes()
    {
        string script = Script("no-shebang", "echo \"$0|$1|$2\"\nexit 7\n");
        (string output, int status, _) = Kids.Run(PdChild.ExecFromPath(script, ["no-shebang", "a b", "c"]), script);
        output.ShouldBe($"{script}|a b|c\n", "argv: /bin/sh, the file, then argv[1]…, as glibc and FreeBSD's libc give them");
        WEXITSTATUS(status).ShouldBe(7);

        // Through PATH as well: the file found is the one the shell runs.
        (output, status, _) = Kids.Run(PdChild.ExecFromPath("no-shebang", ["no-shebang", "x"], [$"PATH={_dir}"]), script);
        output.ShouldBe($"{script}|x|\n");
        WEXITSTATUS(status).ShouldBe(7);
    }

    [Test, Contract("§1 the child's exec fails")]
    public void Exec_KeepsExecveSemantics_AScriptWithoutAShebangLineIsENOEXEC_AndNothingIsLeft()
    {
        string script = Script("no-shebang", "exit 7\n");
        HashSet<int> before = Kids.ChildrenOfThisProcess();
        pdfork(out int fd, PD_CLOEXEC, PdChild.Exec(script, ["no-shebang"])).ShouldBe(-1);
        fd.ShouldBe(-1);
        GetLastError().ShouldBe(Errno.ENOEXEC);
        Kids.ChildrenOfThisProcess().ShouldBe(before, ignoreOrder: true);
    }

    // ---------------------------------------------------------------- signal names

    [Test]
    public void Str2sig_KnowsNames_RealtimeSignals_AndNumbers()
    {
        (int min, int max) = OperatingSystem.IsFreeBSD() ? (65, 126) : (34, 64);
        foreach ((string name, int number) in new[]
        {
            ("TERM", 15), ("KILL", 9), ("HUP", 1), ("RTMIN", min), ("RTMIN+2", min + 2), ("RTMAX-1", max - 1), ("RTMAX", max),
            ($"RTMIN+{max - min}", max), ($"RTMAX-{max - min}", min), ("15", 15), ("0", 0), ($"{max}", max),
        })
        {
            str2sig(name, out int signal).ShouldBe(0, name);
            signal.ShouldBe(number, name);
        }
        foreach (string bad in new[] { "", "SIGTERM", "term", "RTMIN-1", "RTMAX+1", $"RTMIN+{max - min + 1}", "RTMIN+", "RTMIN+ 1",
                     "RTMIN+-1", "RT", "-1", "1.5", "999", "TERM " })
        {
            str2sig(bad, out _).ShouldBe(-1, $"'{bad}'");
            GetLastError().ShouldBe(Errno.EINVAL);
        }
    }

    [Test]
    [OnlyOn("Linux", "bash's kill -l names Linux's signals; FreeBSD's sh is not bash")]
    public void Sig2str_NamesEverySignalAsBashsKillDoes_AndStr2sigReadsTheNameBack()
    {
        string[] bash = Kids.Run(PdChild.ExecFromPath("bash", ["bash", "-c", "for n in $(seq 1 64); do echo \"$(kill -l $n 2>/dev/null)\"; done"]), "bash")
            .Output.Split('\n');
        for (int n = 1; n <= 64; n++)
        {
            string expected = bash[n - 1];
            if (sig2str(n, out string name) != 0)
            {
                expected.ShouldBe("", $"bash names {n}");
                continue;
            }
            name.ShouldBe(expected, $"signal {n}");
            str2sig(name, out int back).ShouldBe(0);
            back.ShouldBe(n);
        }
        sig2str(65, out string none).ShouldBe(-1);
        none.ShouldBe("");
    }

    [Test]
    public void Pdkill_WithARealtimeSignalFromStr2sig_EndsTheChildWithThatSignal()
    {
        str2sig("RTMIN+2", out int rt).ShouldBe(0);
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, rt).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WIFSIGNALED(status).ShouldBeTrue();
            (status & 0x7f).ShouldBe(rt, "the host's own number in the wait status");
            sig2str(status & 0x7f, out string name).ShouldBe(0);
            name.ShouldBe("RTMIN+2");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    // ---------------------------------------------------------------- helpers

    private string Script(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>Runs `yes` (any variant of <paramref name="child"/>) with stdout on a pipe whose
    /// read end is already closed; its wait status and what it wrote on stderr.</summary>
    private static (int Status, string Stderr) YesIntoAClosedPipe(PdChild child)
    {
        var (read, write) = CLibc.Pipe();
        CLibc.close(read);
        var (errRead, errWrite) = CLibc.Pipe();
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, PD_CLOEXEC, child.WithFd(1, write).WithFd(2, errWrite));
            pid.ShouldBeGreaterThan(0, $"pdfork: {GetLastError()}");
            CLibc.close(write);
            write = -1;
            CLibc.close(errWrite);
            errWrite = -1;
            using var reader = new LineReader(errRead);
            errRead = -1;
            string stderr = reader.ReadToEnd(Kids.BoundMs);
            Kids.WaitForExit(fd).ShouldBeTrue("yes ends");
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            return (status, stderr);
        }
        finally
        {
            foreach (int d in new[] { write, errRead, errWrite })
                if (d >= 0) CLibc.close(d);
            Kids.Cleanup(fd);
        }
    }

    private static (ulong Ignored, ulong Caught) Masks(PdChild child)
    {
        string output = Kids.Run(child, "cat").Output;
        ulong Field(string name) => Convert.ToUInt64(output.Split('\n').Single(l => l.StartsWith(name + ":"))[(name.Length + 1)..].Trim(), 16);
        return (Field("SigIgn"), Field("SigCgt"));
    }

    private static ulong StatusMask(int pid, string name) =>
        Convert.ToUInt64(File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith(name + ":"))[(name.Length + 1)..].Trim(), 16);
}
