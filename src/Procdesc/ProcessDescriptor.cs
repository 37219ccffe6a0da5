using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Backends;

namespace Procdesc;

/// <summary>
/// A process descriptor as a .NET object: a <see cref="SafeHandle"/> whose handle is the descriptor
/// number, with methods that throw <see cref="ProcessDescriptorException"/> instead of returning -1.
/// Kill-on-close holds however the object lets go: <see cref="SafeHandle.Dispose()"/>, the finalizer
/// of an object that became unreachable, the end of this process (return from Main, exit, crash,
/// SIGKILL) — each kills a child made without <see cref="PdFlags.Daemon"/> once no other copy of the
/// descriptor is open in this process. Built on <see cref="PdSyscall"/>, not beside it: a descriptor
/// from <see cref="PdSyscall.pdfork"/> can be adopted with <see cref="FromHandle"/>, and
/// <see cref="SafeHandle.DangerousGetHandle"/> gives the number back to the C-shaped calls.
/// </summary>
public sealed class ProcessDescriptor : SafeHandle
{
    private readonly bool _ownsHandle;
    // Wait() calls blocked now, and whether Dispose has begun: each side checks the other's flag
    // after setting its own, so that one of them kills the child (see Dispose).
    private int _blockedWaits, _disposing;

    private ProcessDescriptor(int fd, int pid, PdFlags flags, bool ownsHandle) : base(new IntPtr(-1), ownsHandle)
    {
        SetHandle(new IntPtr(fd));
        Pid = pid;
        Flags = flags;
        _ownsHandle = ownsHandle;
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == new IntPtr(-1);

    /// <summary>The child's pid, cached at creation: valid after exit and reap, never a recycled pid's owner.</summary>
    public int Pid { get; }

    /// <summary>How the child was created (and whether this descriptor is close-on-exec).</summary>
    public PdFlags Flags { get; }

    /// <summary>True once the child has exited (whether or not it has been waited for).</summary>
    /// <exception cref="ObjectDisposedException">The descriptor was closed.</exception>
    public bool HasExited
    {
        get
        {
            // A process descriptor polls POLLHUP once its child has exited, reaped or not (§7).
            var probe = new[] { new Pollfd { events = PollEvents.POLLHUP } };
            if (Use(fd =>
            {
                probe[0].fd = fd;
                return PdSyscall.poll(probe, 0);
            }) < 0)
                throw ProcessDescriptorException.FromLastError("poll (has exited)");
            if ((probe[0].revents & PollEvents.POLLNVAL) != 0)
                throw ProcessDescriptorException.FromCanonical("poll (has exited)", Errno.EBADF);
            return (probe[0].revents & PollEvents.POLLHUP) != 0;
        }
    }

    /// <summary>Creates a child that runs <paramref name="child"/> (pdfork).</summary>
    /// <exception cref="ProcessDescriptorException">The child could not be created or could not exec
    /// (ENOENT, EACCES, ENOEXEC, EAGAIN, EMFILE…); nothing is left behind.</exception>
    public static ProcessDescriptor Fork(PdChild child, PdFlags flags = PdFlags.None)
    {
        ArgumentNullException.ThrowIfNull(child);
        int pid = PdSyscall.pdfork(out int fd, (int)flags, child);
        if (pid < 0)
            throw ProcessDescriptorException.FromLastError($"pdfork {child.Path}");
        return new ProcessDescriptor(fd, pid, flags, ownsHandle: true);
    }

    /// <summary>
    /// Starts <paramref name="path"/> with <paramref name="arguments"/> (argv[0] is the path). A name
    /// without '/' is looked up in PATH, as execvp does. The descriptor is close-on-exec, so programs
    /// started later do not inherit it; use <see cref="Fork"/> for other flags.
    /// </summary>
    /// <exception cref="ProcessDescriptorException">The program could not be started.</exception>
    public static ProcessDescriptor Start(string path, params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(arguments);
        return Fork(PdChild.ExecFromPath(path, [path, .. arguments]), PdFlags.CloExec);
    }

    /// <summary>Adopts a descriptor of a child this library made (from <see cref="PdSyscall.pdfork"/>,
    /// or any copy of one).</summary>
    /// <param name="fd">The descriptor number.</param>
    /// <param name="ownsHandle">True: the object closes the descriptor (kill-on-close applies through it).</param>
    /// <exception cref="ProcessDescriptorException">EBADF: not a descriptor of a child this library made.</exception>
    public static ProcessDescriptor FromHandle(int fd, bool ownsHandle = true)
    {
        if (HostBackend.Current.ChildOf(fd, out int pid, out bool daemon) != 0)
            throw ProcessDescriptorException.FromLastError("adopt process descriptor");
        int closeOnExec = PdSyscall.iscloexec(fd);
        if (closeOnExec < 0)
            throw ProcessDescriptorException.FromLastError("adopt process descriptor");
        var flags = (daemon ? PdFlags.Daemon : 0) | (closeOnExec == 1 ? PdFlags.CloExec : 0);
        return new ProcessDescriptor(fd, pid, flags, ownsHandle);
    }

    /// <summary>Sends a signal to the child (pdkill); a zombie ignores it.</summary>
    /// <exception cref="ProcessDescriptorException">ESRCH once the child has been reaped; EPERM; EINVAL.</exception>
    /// <exception cref="ObjectDisposedException">The descriptor was closed.</exception>
    public void Kill(Signum signal = Signum.SIGKILL)
    {
        if (Use(fd => PdSyscall.pdkill(fd, signal)) != 0)
            throw ProcessDescriptorException.FromLastError($"pdkill {signal}");
    }

    /// <summary>Waits for the child to exit and reaps it. Every caller, on every copy, gets the
    /// same status: the first reaps, the status is kept for the others.</summary>
    /// <exception cref="ProcessDescriptorException">ECHILD: the child was reaped outside the library
    /// and the kernel kept no status.</exception>
    /// <exception cref="ObjectDisposedException">The descriptor was closed.</exception>
    public ExitStatus Wait()
    {
        ExitStatus status = default;
        int r;
        do
        {
            r = Use(fd =>
            {
                Interlocked.Increment(ref _blockedWaits);
                try
                {
                    if (Volatile.Read(ref _disposing) != 0 && _ownsHandle && (Flags & PdFlags.Daemon) == 0)
                        HostBackend.Current.KillBeforeDispose(fd, objectLayerWaitBlocked: true);
                    return HostBackend.Current.TakeExit(fd, block: true, out status);
                }
                finally
                {
                    Interlocked.Decrement(ref _blockedWaits);
                }
            });
        } while (r == 0);
        return r == 1 ? status : throw ProcessDescriptorException.FromLastError("pdwait");
    }

    /// <summary>The exit status if the child has exited (reaping it), without blocking.</summary>
    /// <returns>False while the child runs.</returns>
    /// <exception cref="ProcessDescriptorException">As for <see cref="Wait"/>.</exception>
    /// <exception cref="ObjectDisposedException">The descriptor was closed.</exception>
    public bool TryWait(out ExitStatus status)
    {
        ExitStatus got = default;
        int r = Use(fd => HostBackend.Current.TakeExit(fd, block: false, out got));
        status = got;
        return r switch
        {
            1 => true,
            0 => false,
            _ => throw ProcessDescriptorException.FromLastError("pdwait"),
        };
    }

    /// <summary>
    /// Completes when the child exits, with the status every other wait gets. Costs no thread: one
    /// background thread watches every child. The continuation never runs on that thread.
    /// </summary>
    /// <exception cref="OperationCanceledException">Canceled (the child is unaffected).</exception>
    /// <exception cref="ObjectDisposedException">The descriptor was closed.</exception>
    public Task<ExitStatus> WaitAsync(CancellationToken cancellationToken = default)
    {
        var watch = new ExitTask();
        if (Use(fd => HostBackend.Current.WatchExit(fd, watch)) != 0)
            return Task.FromException<ExitStatus>(ProcessDescriptorException.FromLastError("wait"));
        watch.CancelWith(cancellationToken);
        return watch.Task;
    }

    /// <summary>Another descriptor for the same child (dup); the child lives until the last copy closes.</summary>
    /// <exception cref="ProcessDescriptorException">EMFILE and the like.</exception>
    /// <exception cref="ObjectDisposedException">The descriptor was closed.</exception>
    public ProcessDescriptor Duplicate()
    {
        int copy = Use(fd => PdSyscall.dup(fd, (Flags & PdFlags.CloExec) != 0));
        if (copy < 0)
            throw ProcessDescriptorException.FromLastError("dup");
        return new ProcessDescriptor(copy, Pid, Flags, ownsHandle: true);
    }

    /// <summary>
    /// Disposing kills a child made without <see cref="PdFlags.Daemon"/> at once when no other copy
    /// keeps it — even while another thread is blocked in <see cref="Wait"/> (or a
    /// <see cref="PdSyscall"/> call) on this descriptor, which keeps the number open until it
    /// returns; that call then returns the SIGKILL status.
    /// </summary>
    /// <param name="disposing">True from <see cref="SafeHandle.Dispose()"/>, false from the finalizer.</param>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsHandle && (Flags & PdFlags.Daemon) == 0 && !IsClosed && !IsInvalid)
        {
            Interlocked.Exchange(ref _disposing, 1);
            bool added = false;
            try
            {
                DangerousAddRef(ref added);
                HostBackend.Current.KillBeforeDispose((int)handle, objectLayerWaitBlocked: Volatile.Read(ref _blockedWaits) > 0);
            }
            catch (ObjectDisposedException)
            {
                // Disposed by another thread meanwhile: its close did the work.
            }
            finally
            {
                if (added)
                    DangerousRelease();
            }
        }
        base.Dispose(disposing);
    }

    /// <summary>Closes the descriptor through <see cref="PdSyscall.close"/>: kill-on-close applies.
    /// Never blocks and never throws (it may run on the finalizer thread); the kill and the reap
    /// happen on the library's background thread.</summary>
    protected override bool ReleaseHandle() => PdSyscall.close((int)handle) == 0;

    /// <summary>Runs a call on the descriptor while it cannot be closed underneath.</summary>
    private int Use(Func<int, int> call)
    {
        bool added = false;
        DangerousAddRef(ref added);
        try
        {
            return call((int)handle);
        }
        finally
        {
            if (added)
                DangerousRelease();
        }
    }
}
