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
}
