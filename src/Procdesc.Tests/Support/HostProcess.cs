using System.Diagnostics;
using System.Text;

namespace Procdesc.Tests.Support;

/// <summary>
/// A separate .NET program started through the library, whose stdout the test reads line by line
/// (bounded): Procdesc.TestHost, or the procdesc tool.
/// </summary>
internal sealed class HostProcess : IDisposable
{
    private readonly int _stdout;
    private int _stdin;
    private readonly StringBuilder _pending = new();

    private HostProcess(int pid, int fd, int stdout, int stdin)
    {
        Pid = pid;
        Fd = fd;
        _stdout = stdout;
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
        var (read, write) = TestLibc.Pipe();
        var (inRead, inWrite) = withInput ? TestLibc.Pipe() : (-1, -1);
        string[] argv = [.. wrapper, "dotnet", assembly, .. args];
        PdChild child = PdChild.ExecFromPath(argv[0], argv).WithFd(1, write);
        if (withInput)
            child = child.WithFd(0, inRead);
        int pid = pdfork(out int fd, PD_CLOEXEC, child);
        TestLibc.close(write);
        if (withInput)
            TestLibc.close(inRead);
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
            TestLibc.write(_stdin, b, bytes.Length).ShouldBe(bytes.Length);
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
    internal unsafe string ReadLine(int timeoutMs = 30_000)
    {
        timeoutMs = TimeScale.Ms(timeoutMs);
        var clock = Stopwatch.StartNew();
        byte* buffer = stackalloc byte[256];
        while (true)
        {
            string text = _pending.ToString();
            int newline = text.IndexOf('\n');
            if (newline >= 0)
            {
                _pending.Remove(0, newline + 1);
                return text[..newline];
            }
            int left = (int)(timeoutMs - clock.ElapsedMilliseconds);
            left.ShouldBeGreaterThan(0, $"no line from the host within {timeoutMs} ms (so far: '{text}')");
            var fds = new[] { new Pollfd { fd = _stdout, events = PollEvents.POLLIN } };
            if (Processes.PollThroughSignals(fds, left) <= 0)
                continue;
            nint n = TestLibc.read(_stdout, buffer, 256);
            n.ShouldBeGreaterThan(0, $"the host closed its output (so far: '{text}')");
            _pending.Append(Encoding.UTF8.GetString(buffer, (int)n));
        }
    }

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
        Processes.WaitForHangup(Fd, timeoutMs).ShouldBeTrue("the host ended");
        pdwait4(Fd, out int status, PdWaitOptions.None, out _).ShouldBe(Pid);
        return status;
    }

    public void Dispose()
    {
        Spawn.Cleanup(Fd);
        TestLibc.close(_stdout);
        if (_stdin >= 0)
            TestLibc.close(_stdin);
        _stdin = -1;
    }
}
