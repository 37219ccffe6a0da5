using System.Runtime.InteropServices;

namespace Procdesc.TestSupport;

/// <summary>A thread that blocks in pdwait4 on one descriptor and keeps what it got, errno
/// included (read on its own thread: errno is per thread). It never throws.</summary>
internal sealed partial class BlockedWait4(int fd)
{
    [LibraryImport("libc")]
    private static partial int gettid();

    private Thread? _thread;
    private volatile int _tid;

    internal int Fd => fd;
    internal int Warmup { get; private set; } = int.MinValue;
    internal int Result { get; private set; } = int.MinValue;
    internal int Status { get; private set; }
    internal Errno Canonical { get; private set; }
    internal int Native { get; private set; }
    internal Exception? Failure { get; private set; }

    /// <summary>The thread's id (Linux), once it runs: its /proc state says whether it sleeps in the kernel.</summary>
    internal int Tid => _tid;

    internal void Start(CountdownEvent started)
    {
        _thread = new Thread(() =>
        {
            bool signalled = false;
            try
            {
                if (OperatingSystem.IsLinux())
                    _tid = gettid();
                // A first, non-blocking call: everything on the path is compiled and resolved
                // before the blocking call, so "sleeping" below means "blocked in pdwait4".
                Warmup = pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _);
                signalled = true;
                started.Signal();
                Result = pdwait4(fd, out int status, PdWaitOptions.None, out _);
                Native = Marshal.GetLastPInvokeError();
                Canonical = GetLastError();
                Status = status;
            }
            catch (Exception e)
            {
                Failure = e;
                if (!signalled)
                    started.Signal();
            }
        })
        { IsBackground = true, Name = $"pdwait4 on fd {fd}" };
        _thread.Start();
    }

    internal void Join(CancellationToken token)
    {
        while (!_thread!.Join(50))
            token.ThrowIfCancellationRequested();
        Failure.ShouldBeNull();
    }
}
