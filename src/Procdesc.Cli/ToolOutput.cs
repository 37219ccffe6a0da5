using System.Runtime.InteropServices;
using System.Text;

namespace Procdesc.Cli;

/// <summary>
/// The tool's own stdout and stderr, best effort: the report may be lost, the exit status never
/// (timeout(1) and env(1) behave so). A write that fails (stream closed, /dev/full, a broken pipe)
/// drops that and every later write to the same stream instead of ending the tool.
/// </summary>
/// <remarks>
/// A stream the tool was started without (`2&gt;&amp;-`) is not written at all: by the time Main runs,
/// the .NET runtime has put one of its own descriptors under that number (measured: a pipe of its
/// own at fd 2), and writing the report there corrupts the runtime (it aborted). Such a descriptor
/// is told apart exactly: every descriptor a program inherits across exec lacks FD_CLOEXEC, and
/// the runtime opens all of its own with it. The child then finds that number closed, as under
/// timeout(1), since exec closes it.
/// </remarks>
internal static partial class ToolOutput
{
    private const int F_GETFD = 1, FD_CLOEXEC = 1;

    private static bool s_stdoutInherited = true;

    /// <summary>Replaces Console.Out and Console.Error; call first thing in Main.</summary>
    /// <remarks>
    /// write(2) on descriptors 1 and 2 (<see cref="DescriptorStream"/>), never the runtime's console streams: on a
    /// terminal those initialise it for interactive use, which writes keypad-transmit mode
    /// (<c>ESC[?1h ESC=</c>) and is never undone — noise in a report meant for logs and scripts.
    /// </remarks>
    internal static void Install()
    {
        s_stdoutInherited = Inherited(1);
        Console.SetOut(s_stdoutInherited ? new BestEffortWriter(Writer(1)) : TextWriter.Null);
        Console.SetError(Inherited(2) ? new BestEffortWriter(Writer(2)) : TextWriter.Null);
    }

    /// <summary>The tool's stdout as a stream (for the JSON report), best effort too.</summary>
    internal static Stream OpenStandardOutput() =>
        s_stdoutInherited ? new BestEffortStream(Stream(1)) : System.IO.Stream.Null;

    private static DescriptorStream Stream(int fd) => new(fd);

    private static StreamWriter Writer(int fd) => new(Stream(fd), new UTF8Encoding(false)) { AutoFlush = true };

    /// <summary>The width help text wraps at: the terminal's columns when stdout is one (asked with
    /// TIOCGWINSZ, not through the runtime's console, which would initialise the terminal), else none.</summary>
    internal static unsafe int HelpWidth()
    {
        ushort* size = stackalloc ushort[4]; // struct winsize: rows, columns, x and y pixels
        ulong request = OperatingSystem.IsFreeBSD() ? 0x40087468UL : 0x5413UL;
        return s_stdoutInherited && ioctl(1, (nuint)request, size) == 0 && size[1] > 0 ? size[1] : int.MaxValue;
    }

    [LibraryImport(ToolLibraries.Libc, EntryPoint = "ioctl")]
    private static unsafe partial int ioctl(int fd, nuint request, void* argument);

    private static bool Inherited(int fd)
    {
        int flags = fcntl(fd, F_GETFD, 0);
        return flags >= 0 && (flags & FD_CLOEXEC) == 0;
    }

    [LibraryImport(ToolLibraries.Libc, EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport(ToolLibraries.Libc, EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int poll(PollFd* fds, uint count, int timeout);

    /// <summary>struct pollfd, the same on Linux and FreeBSD.</summary>
    private struct PollFd
    {
        public int Fd;
        public short Events, Revents;
    }

    [LibraryImport(ToolLibraries.Libc, EntryPoint = "fcntl")]
    private static partial int fcntl(int fd, int cmd, int arg);

    /// <summary>One stream's writes: after the first failure, none is tried again.</summary>
    private sealed class Attempts
    {
        private bool _broken;

        internal void Try(Action write)
        {
            if (_broken)
                return;
            try
            {
                write();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) // EBADF comes as the latter
            {
                _broken = true;
            }
        }
    }

    private sealed class BestEffortWriter(TextWriter inner) : TextWriter
    {
        private readonly Attempts _attempts = new();

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value) => _attempts.Try(() => inner.Write(value));
        public override void Write(string? value) => _attempts.Try(() => inner.Write(value));
        public override void WriteLine(string? value) => _attempts.Try(() => inner.WriteLine(value));
        public override void Flush() => _attempts.Try(inner.Flush);
    }

    /// <summary>
    /// write(2) on a descriptor the tool does not own. Not a FileStream: on a regular file that one
    /// writes with pwrite at a position of its own, which leaves the shared file offset where it
    /// was — the next writer to the same file (the shell, in `{ …; procdesc run …; echo; } &gt; log`)
    /// would write over the report.
    /// </summary>
    private sealed class DescriptorStream(int fd) : Stream
    {
        private const int EINTR = 4; // Linux and FreeBSD
        private static readonly int EAGAIN = OperatingSystem.IsFreeBSD() ? 35 : 11;
        private const short POLLOUT = 4; // Linux and FreeBSD

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override unsafe void Write(ReadOnlySpan<byte> buffer)
        {
            fixed (byte* start = buffer)
            {
                for (int done = 0; done < buffer.Length;)
                {
                    nint n = write(fd, start + done, buffer.Length - done);
                    if (n < 0 && Marshal.GetLastPInvokeError() == EINTR)
                        continue;
                    if (n < 0 && Marshal.GetLastPInvokeError() == EAGAIN)
                    {
                        // A descriptor someone made non-blocking: wait until it takes more, as the runtime's console does.
                        var pollfd = new PollFd { Fd = fd, Events = POLLOUT };
                        if (poll(&pollfd, 1, -1) >= 0 || Marshal.GetLastPInvokeError() == EINTR)
                            continue;
                    }
                    if (n <= 0)
                        throw new IOException($"write to descriptor {fd} failed", Marshal.GetLastPInvokeError());
                    done += (int)n;
                }
            }
        }

        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class BestEffortStream(Stream inner) : Stream
    {
        private readonly Attempts _attempts = new();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => _attempts.Try(() => inner.Write(buffer, offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            byte[] copy = buffer.ToArray();
            _attempts.Try(() => inner.Write(copy));
        }
        public override void Flush() => _attempts.Try(inner.Flush);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _attempts.Try(inner.Dispose);
            base.Dispose(disposing);
        }
    }
}
