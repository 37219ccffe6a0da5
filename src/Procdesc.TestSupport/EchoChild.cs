namespace Procdesc.TestSupport;

/// <summary>
/// A shell child that echoes every line it reads: proof of life on demand (a round trip), and a
/// death detector (its output pipe reaches end of file when it dies, as only it holds the write end).
/// It ignores SIGTERM, SIGINT and SIGHUP, so only SIGKILL (or the end of its input) ends it.
/// </summary>
internal sealed class EchoChild : IDisposable
{
    internal const string Script = "trap '' TERM INT HUP; echo $$; while read x; do echo \"$x\"; done";

    private int _input;
    private readonly LineReader _output;

    private EchoChild(int pid, int fd, int input, LineReader output)
    {
        Pid = pid;
        Fd = fd;
        _input = input;
        _output = output;
    }

    internal int Pid { get; }

    /// <summary>The child's process descriptor (-1 once the test has handed it over or closed it).</summary>
    internal int Fd { get; set; }

    /// <summary>Starts the child with pdfork and the given flags (and the kernel's kill-on-close,
    /// <see cref="PdChild.WithKernelKillOnClose"/>, if asked).</summary>
    internal static EchoChild Start(int flags = PD_CLOEXEC, bool kernelKillOnClose = false)
    {
        var (inRead, inWrite) = CLibc.Pipe();
        var (outRead, outWrite) = CLibc.Pipe();
        PdChild description = PdChild.Exec(Kids.Shell, ["sh", "-c", Script]).WithFd(0, inRead).WithFd(1, outWrite);
        int pid = pdfork(out int fd, flags, kernelKillOnClose ? description.WithKernelKillOnClose() : description);
        int errno = (int)GetLastError();
        CLibc.close(inRead);
        CLibc.close(outWrite);
        if (pid <= 0)
        {
            CLibc.close(inWrite);
            CLibc.close(outRead);
            Assert.Fail($"pdfork(echo child) failed: errno {(Errno)errno}");
        }
        var child = new EchoChild(pid, fd, inWrite, new LineReader(outRead));
        try
        {
            child._output.ReadLine().ShouldBe(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "the echo child says its pid");
            return child;
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>Adopts an echo child started elsewhere (by the parent program of §6) from its two pipe ends.</summary>
    internal static EchoChild Adopt(int input, int output, out int pid)
    {
        var reader = new LineReader(output);
        string? line = reader.ReadLine(60_000);
        line.ShouldNotBeNull("the echo child says its pid");
        pid = int.Parse(line, System.Globalization.CultureInfo.InvariantCulture);
        return new EchoChild(pid, -1, input, reader);
    }

    /// <summary>True when the child answers a round trip within the bound: it is alive and running.</summary>
    internal bool Answers(int timeoutMs = Kids.BoundMs)
    {
        string token = "ping-" + Guid.NewGuid().ToString("N")[..8];
        if (!CLibc.TryWriteText(_input, token + "\n"))
            return false; // EPIPE: nobody reads any more
        return _output.ReadLine(timeoutMs) == token;
    }

    /// <summary>True when the child dies (its output ends) within the bound.</summary>
    internal bool DiesWithin(int timeoutMs = Kids.BoundMs) => _output.EndsWithin(timeoutMs);

    /// <summary>Closes the child's input: it then exits on its own with status 0.</summary>
    internal void EndInput()
    {
        if (_input >= 0)
            CLibc.close(_input);
        _input = -1;
    }

    public void Dispose()
    {
        EndInput();
        Kids.Cleanup(Fd);
        _output.Dispose();
    }
}
