using System.Diagnostics;
using System.Text;

namespace Procdesc.TestSupport;

/// <summary>Reads lines from a pipe with a bound on the time spent; owns (and closes) the descriptor.</summary>
internal sealed class LineReader(int fd) : IDisposable
{
    private readonly StringBuilder _pending = new();
    private int _fd = fd;

    internal int Fd => _fd;

    /// <summary>The next line, or null at end of file; fails the test if nothing comes within the bound.</summary>
    internal string? ReadLine(int timeoutMs = Kids.BoundMs)
    {
        timeoutMs = TimeScale.Ms(timeoutMs);
        var clock = Stopwatch.StartNew();
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
            left.ShouldBeGreaterThan(0, $"no line within {timeoutMs} ms (so far: '{text}')");
            switch (ReadSome(left))
            {
                case 0:
                    _pending.Clear();
                    return text.Length > 0 ? text : null;
                case < 0:
                    continue;
            }
        }
    }

    /// <summary>Everything up to end of file; fails the test if the end does not come within the bound.</summary>
    internal string ReadToEnd(int timeoutMs = Kids.BoundMs)
    {
        timeoutMs = TimeScale.Ms(timeoutMs);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int left = (int)(timeoutMs - clock.ElapsedMilliseconds);
            left.ShouldBeGreaterThan(0, $"no end of file within {timeoutMs} ms (so far: '{_pending}')");
            if (ReadSome(left) == 0)
            {
                string all = _pending.ToString();
                _pending.Clear();
                return all;
            }
        }
    }

    /// <summary>True when the writing side is gone (end of file) within the bound; data is discarded.</summary>
    internal bool EndsWithin(int timeoutMs)
    {
        timeoutMs = TimeScale.Ms(timeoutMs);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int left = (int)(timeoutMs - clock.ElapsedMilliseconds);
            if (left <= 0)
                return false;
            int n = ReadSome(left);
            if (n == 0)
                return true;
            _pending.Clear();
        }
    }

    /// <summary>Bytes read (&gt; 0), 0 at end of file, -1 when the time ran out or a signal interrupted.</summary>
    private unsafe int ReadSome(int timeoutMs)
    {
        var fds = new[] { new Pollfd { fd = _fd, events = PollEvents.POLLIN } };
        if (Kids.PollThroughSignals(fds, timeoutMs) <= 0)
            return -1;
        byte* buffer = stackalloc byte[512];
        nint n = CLibc.read(_fd, buffer, 512);
        if (n < 0 && CLibc.Errno == CLibc.EINTR)
            return -1;
        n.ShouldBeGreaterThanOrEqualTo(0, $"read from {_fd}: errno {CLibc.Errno}");
        if (n > 0)
            _pending.Append(Encoding.UTF8.GetString(buffer, (int)n));
        return (int)n;
    }

    public void Dispose()
    {
        if (_fd >= 0)
            CLibc.close(_fd);
        _fd = -1;
    }
}
