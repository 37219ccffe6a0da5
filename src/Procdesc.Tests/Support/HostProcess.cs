using System.Text;

namespace Procdesc.Tests.Support;

/// <summary>
/// A separate .NET program started through the library, whose stdout the test reads line by line
/// (bounded): Procdesc.TestHost, or the procdesc tool.
/// </summary>
internal sealed class HostProcess : IDisposable
{
    private readonly LineReader _stdout;
    private int _stdin;

    private HostProcess(int pid, int fd, int stdout, int stdin)
    {
        Pid = pid;
        Fd = fd;
        _stdout = new LineReader(stdout);
        _stdin = stdin;
    }

    internal int Pid { get; }

    /// <summary>The host's process descriptor (this test process is its parent).</summary>
    internal int Fd { get; }

    /// <summary>Starts `dotnet ASSEMBLY ARGS` with stdout on a pipe (and stdin too, for <see cref="Send"/>).</summary>
    internal static HostProcess Start(string assembly, params string[] args) => Start(assembly, withInput: false, args);

    private static HostProcess Start(string assembly, bool withInput, params string[] args) => Start([], assembly, withInput, args);

    private static HostProcess Start(string[] wrapper, string assembly, bool withInput, params string[] args)
    {
        var (read, write) = CLibc.Pipe();
        var (inRead, inWrite) = withInput ? CLibc.Pipe() : (-1, -1);
        string[] argv = [.. wrapper, "dotnet", assembly, .. args];
        PdChild child = PdChild.ExecFromPath(argv[0], argv).WithFd(1, write);
        if (withInput)
            child = child.WithFd(0, inRead);
        int pid = pdfork(out int fd, PD_CLOEXEC, child);
        CLibc.close(write);
        if (withInput)
            CLibc.close(inRead);
        pid.ShouldBeGreaterThan(0, $"starting the host: {GetLastError()}");
        return new HostProcess(pid, fd, read, inWrite);
    }

    /// <summary>The test host (src/Procdesc.TestHost) with ARGS, under <paramref name="wrapper"/> (a program
    /// that runs the rest of its arguments, such as `unshare --pid --fork`).</summary>
    internal static HostProcess TestHostUnder(string[] wrapper, params string[] args) =>
        Start(wrapper, Tool.SiblingAssembly("Procdesc.TestHost"), withInput: false, args);

    /// <summary>The test host in script mode (src/Procdesc.TestHost/Script.cs), once it says it is ready.</summary>
    /// <param name="wrapper">A program that execs the rest of its arguments (so the host keeps its pid),
    /// such as `unshare -m`.</param>
    internal static HostProcess Scripted(params string[] wrapper)
    {
        var host = Start(wrapper, Tool.SiblingAssembly("Procdesc.TestHost"), withInput: true, "script");
        host.ReadLine().ShouldBe("ready");
        return host;
    }

    /// <summary>Sends one script command and returns its answer (which must start with "ok").</summary>
    internal unsafe string Send(string command, int timeoutMs = 30_000)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(command + "\n");
        fixed (byte* b = bytes)
            CLibc.write(_stdin, b, bytes.Length).ShouldBe(bytes.Length);
        string answer = ReadLine(timeoutMs);
        answer.ShouldStartWith("ok", customMessage: $"the host's answer to '{command}'");
        return answer.Length > 2 ? answer[3..] : "";
    }

    /// <summary>Sends "fork NAME …" and returns the child's pid.</summary>
    internal int Fork(string name, string rest = "") => int.Parse(Send($"fork {name} {rest}").Split(' ')[0]);

    /// <summary>The test host (src/Procdesc.TestHost) in MODE, its child made with or without PD_DAEMON.</summary>
    internal static HostProcess TestHost(string mode, bool daemon) =>
        Start(Tool.SiblingAssembly("Procdesc.TestHost"), mode, daemon ? "daemon" : "kill-on-close");

    /// <summary>The next line the host prints; fails the test if none comes within the bound.</summary>
    internal string ReadLine(int timeoutMs = 30_000) =>
        _stdout.ReadLine(timeoutMs) ?? throw new AssertionException("the host closed its output");

    /// <summary>Reads the "child PID" line.</summary>
    internal int ReadChildPid()
    {
        string line = ReadLine();
        line.ShouldStartWith("child ");
        return int.Parse(line["child ".Length..]);
    }

    /// <summary>Waits (bounded) for the host to end and reaps it; returns its wait status.</summary>
    internal int WaitForEnd(int timeoutMs = 30_000)
    {
        Kids.WaitForExit(Fd, timeoutMs).ShouldBeTrue("the host ended");
        pdwait4(Fd, out int status, PdWaitOptions.None, out _).ShouldBe(Pid);
        return status;
    }

    public void Dispose()
    {
        Kids.Cleanup(Fd);
        _stdout.Dispose();
        if (_stdin >= 0)
            CLibc.close(_stdin);
        _stdin = -1;
    }
}
