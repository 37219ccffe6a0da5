using Mono.Unix.Native;

namespace Procdesc.Backends;

/// <summary>Where no backend can work: every call fails with ENOSYS, as a missing system call would.</summary>
internal sealed class UnsupportedBackend(string reason) : ProcdescBackend
{
    internal override string Name => "unsupported: " + reason;

    internal override IReadOnlyList<HostFeature> ProbeFeatures() => [];

    internal override int PdFork(out int fd, int flags, PdChild child) { fd = -1; return LastError.Fail(Errno.ENOSYS); }
    internal override int PdGetPid(int fd, out int pid) { pid = 0; return LastError.Fail(Errno.ENOSYS); }
    internal override int PdKill(int fd, int nativeSignal) => LastError.Fail(Errno.ENOSYS);
    internal override int PdWait4(int fd, out int status, PdWaitOptions options, out Rusage rusage)
    {
        status = 0; rusage = default;
        return LastError.Fail(Errno.ENOSYS);
    }
    internal override int PdWait(int fd, out int status, PdWaitOptions options, out WaitRusage wrusage, out PdSigInfo info)
    {
        status = 0; wrusage = default; info = default;
        return LastError.Fail(Errno.ENOSYS);
    }
    internal override int Close(int fd) => Interop.Libc.close(fd) == 0 ? 0 : LastError.FailFromLastPInvoke();
    internal override int Poll(Pollfd[] fds, int timeout) => LastError.Fail(Errno.ENOSYS);
    internal override int FStat(int fd, out Stat stat) { stat = default; return LastError.Fail(Errno.ENOSYS); }
    internal override int ChildOf(int fd, out int pid, out bool daemon) { pid = 0; daemon = false; return LastError.Fail(Errno.ENOSYS); }
    internal override int TakeExit(int fd, bool block, out ExitStatus status) { status = default; return LastError.Fail(Errno.ENOSYS); }
    internal override int WatchExit(int fd, ExitWatcher watcher) => LastError.Fail(Errno.ENOSYS);
    internal override void KillBeforeDispose(int fd, bool objectLayerWaitBlocked) { }
}
