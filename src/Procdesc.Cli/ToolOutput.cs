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
    internal static void Install()
    {
        s_stdoutInherited = Inherited(1);
        Console.SetOut(s_stdoutInherited ? new BestEffortWriter(Console.Out) : TextWriter.Null);
        Console.SetError(Inherited(2) ? new BestEffortWriter(Console.Error) : TextWriter.Null);
    }

    /// <summary>The tool's stdout as a stream (for the JSON report), best effort too.</summary>
    internal static Stream OpenStandardOutput() =>
        s_stdoutInherited ? new BestEffortStream(Console.OpenStandardOutput()) : Stream.Null;

    private static bool Inherited(int fd)
    {
        int flags = fcntl(fd, F_GETFD, 0);
        return flags >= 0 && (flags & FD_CLOEXEC) == 0;
    }

    [LibraryImport("libc", EntryPoint = "fcntl")]
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
