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
    private readonly StringBuilder _pending = new();

    private HostProcess(int pid, int fd, int stdout)
    {
        Pid = pid;
        Fd = fd;
        _stdout = stdout;
    }

    internal int Pid { get; }

    /// <summary>The host's process descriptor (this test process is its parent).</summary>
    internal int Fd { get; }

    /// <summary>Starts `dotnet ASSEMBLY ARGS` with stdout on a pipe.</summary>
    internal static HostProcess Start(string assembly, params string[] args)
    {
        var (read, write) = TestLibc.Pipe();
        PdChild child = PdChild.ExecFromPath("dotnet", ["dotnet", assembly, .. args]).WithFd(1, write);
        int pid = pdfork(out int fd, PD_CLOEXEC, child);
        TestLibc.close(write);
        pid.ShouldBeGreaterThan(0, $"starting the host: {GetLastError()}");
        return new HostProcess(pid, fd, read);
    }

    /// <summary>The test host (src/Procdesc.TestHost) in MODE, its child made with or without PD_DAEMON.</summary>
    internal static HostProcess TestHost(string mode, bool daemon) =>
        Start(Tool.SiblingAssembly("Procdesc.TestHost"), mode, daemon ? "daemon" : "kill-on-close");

    /// <summary>The next line the host prints; fails the test if none comes within the bound.</summary>
    internal unsafe string ReadLine(int timeoutMs = 30_000)
    {
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
    }
}
