using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>Contract §11: `procdesc run` exits with the child's status whatever happens to its own
/// stdout and stderr (closed, full, a pipe nobody reads): the report is best effort, the status is not.</summary>
public partial class CliTests
{
    // The shell applies the redirection to the tool alone; the child's own output goes nowhere it could fail.
    [TestCase("2>&-", "", TestName = "Run_WithStderrClosed_ExitsWithTheChildsCode")]
    [TestCase("2>/dev/full", "", TestName = "Run_WithStderrFull_ExitsWithTheChildsCode")]
    [TestCase(">&-", "--json", TestName = "Run_Json_WithStdoutClosed_ExitsWithTheChildsCode")]
    [TestCase(">/dev/full", "--json", TestName = "Run_Json_WithStdoutFull_ExitsWithTheChildsCode")]
    [TestCase(">&- 2>&-", "--json", TestName = "Run_Json_WithStdoutAndStderrClosed_ExitsWithTheChildsCode")]
    [Contract("§11 closes or fills the tool's stdout/stderr")]
    public void Run_WithBrokenOutput_ExitsWithTheChildsCode(string redirection, string option)
    {
        var result = Tool.RunInShell($"run {option} -- sh -c 'exit 3' >/dev/null 2>&1", redirection);
        result.ExitCode.ShouldBe(3, result.StdErr);
    }

    [TestCase("2>&-", TestName = "Run_WithStderrClosed_AMissingProgramStillExits127")]
    [TestCase("2>/dev/full", TestName = "Run_WithStderrFull_AMissingProgramStillExits127")]
    [Contract("§11 closes or fills the tool's stdout/stderr")]
    public void Run_WithBrokenStderr_AMissingProgramStillExits127(string redirection)
    {
        Tool.RunInShell("run -- no-such-program-here", redirection).ExitCode.ShouldBe(127);
    }

    [Test, Contract("§11 closes or fills the tool's stdout/stderr")]
    public void Run_Json_IntoAPipeNobodyReads_ExitsWithTheChildsCode()
    {
        // The reader is gone before the report is written: EPIPE (SIGPIPE is ignored by .NET).
        var result = Tool.RunInShell("run --json -- sh -c 'exec 1>&-; sleep 0.2; exit 3'", "| true; exit ${PIPESTATUS:-$?}",
            shell: "/bin/bash", pipeStatus: true);
        result.ExitCode.ShouldBe(3, result.StdErr);
    }

    [Test, Contract("§11 closes or fills the tool's stdout/stderr")]
    public void Run_WithStderrClosed_TheChildDoesNotGetTheToolsDescriptorsAsItsStderr()
    {
        // With fd 2 closed when the tool starts, the child must not find one of the tool's own
        // descriptors (the runtime's, or its process descriptor) as its stderr.
        var result = Tool.RunInShell("run --quiet -- sh -c 'if [ -e /proc/self/fd/2 ]; then readlink /proc/self/fd/2; exit 1; fi; exit 0'", "2>&-");
        result.ExitCode.ShouldBe(0, "the child's fd 2 is closed, as under timeout(1): " + result.StdOut);
    }

    [Test]
    public void Run_IntoAFileSharedWithTheShell_AppendsAtTheSharedOffset_AndNothingIsOverwritten()
    {
        // The tool's writes must move the file offset it shares with the shell (write(2), not
        // pwrite at a position of its own), or the shell's next line lands on the report.
        string log = Path.Combine(Path.GetTempPath(), $"procdesc-log-{Guid.NewGuid():N}");
        try
        {
            string tool = $"dotnet '{Tool.AssemblyPath}'";
            var result = Tool.Run(["-c", $"{{ echo first; {tool} run -- true; {tool} run --json -- true; echo last; }} >'{log}' 2>&1"],
                wrapper: "/bin/sh", rawWrapperArguments: true);
            result.ExitCode.ShouldBe(0, result.StdErr);
            string[] lines = File.ReadAllLines(log);
            lines.Length.ShouldBe(5, string.Join('\n', lines));
            lines[0].ShouldBe("first");
            lines[1].ShouldStartWith("procdesc: pid ");
            lines[2].ShouldStartWith("procdesc: page faults ");
            lines[3].ShouldStartWith("{\"pid\":");
            lines[4].ShouldBe("last");
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Test]
    [OnlyOn("Linux", "O_NONBLOCK's and F_SETFL's numbers here are Linux's")]
    public unsafe void Run_WithAFullNonBlockingStderr_WaitsForRoom_AndTheReportArrivesWhole()
    {
        // stderr is a pipe someone made non-blocking and filled: the tool's write gets EAGAIN and
        // must wait for room (poll) rather than drop the report. The pipe is drained only once the
        // tool's main thread sleeps in poll or the tool has ended, whichever comes first: a tool
        // that dropped the report has ended by then, and the report is missing.
        var (read, write) = CLibc.Pipe();
        int fd = -1;
        try
        {
            CLibc.fcntl(write, 4 /* F_SETFL */, 0x800 /* O_NONBLOCK */).ShouldBe(0);
            byte* filler = stackalloc byte[4096];
            for (int i = 0; i < 4096; i++) filler[i] = (byte)'.';
            long filled = 0;
            for (nint n; (n = CLibc.write(write, filler, 4096)) > 0;)
                filled += n;
            filled.ShouldBeGreaterThan(0);
            int pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec("/usr/bin/env", ["env", "dotnet", Tool.AssemblyPath, "run", "--", "true"]).WithFd(2, write));
            pid.ShouldBeGreaterThan(0, $"pdfork: {GetLastError()}");
            CLibc.close(write);
            write = -1;
            bool InPoll()
            {
                try { return File.ReadAllText($"/proc/{pid}/wchan").Contains("poll", StringComparison.Ordinal); }
                catch (IOException) { return false; }
            }
            Kids.Eventually(() => InPoll() || !Kids.IsRunning(pid), TimeScale.Of(TimeSpan.FromSeconds(60)))
                .ShouldBeTrue("the tool waits for room or ends");
            using var reader = new LineReader(read);
            read = -1;
            string all = reader.ReadToEnd(TimeScale.Ms(60_000));
            string report = all.TrimStart('.');
            (all.Length - report.Length).ShouldBe((int)filled, "the filler, then the report");
            report.ShouldMatch(@"^procdesc: pid \d+ exited with code 0; .*\nprocdesc: page faults .*\n$");
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBeGreaterThan(0);
            WEXITSTATUS(status).ShouldBe(0);
        }
        finally
        {
            if (read >= 0) CLibc.close(read);
            if (write >= 0) CLibc.close(write);
            Kids.Cleanup(fd);
        }
    }
}
