using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>FreeBSD's libc (libc.so.7): the process-descriptor calls and what the backend needs around them.</summary>
internal static unsafe partial class FreeBsdLibc
{
    internal const int P_PID = 0;
    internal const int WNOHANG = 1, WUNTRACED = 2, WCONTINUED = 4, WNOWAIT = 8, WEXITED = 16, WTRAPPED = 32;
    internal const short EVFILT_PROCDESC = -8, EVFILT_USER = -11;
    internal const ushort EV_ADD = 0x1, EV_DELETE = 0x2, EV_ONESHOT = 0x10, EV_CLEAR = 0x20;
    internal const uint NOTE_EXIT = 0x80000000, NOTE_TRIGGER = 0x01000000;
    internal const int F_DUPFD_CLOEXEC = 17, RLIMIT_NOFILE = 8;

    /// <summary>FreeBSD's EWOULDBLOCK (= EAGAIN), sys/sys/errno.h.</summary>
    internal const int EWOULDBLOCK = 35;

    /// <summary>SIGKILL, sys/sys/signal.h (9 on every system, named here so no bare number is sent).</summary>
    internal const int SIGKILL = 9;

    /// <summary>poll(2) with FreeBSD's nfds_t (unsigned int); callers use <see cref="Libc.poll"/>.</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "poll", SetLastError = true)]
    internal static partial int poll(NativePollfd* fds, uint nfds, int timeout);

    [LibraryImport(Libraries.Libc, EntryPoint = "cap_enter", SetLastError = true)]
    internal static partial int cap_enter();

    [LibraryImport(Libraries.Libc, EntryPoint = "pdgetpid", SetLastError = true)]
    internal static partial int pdgetpid(int fd, int* pid);

    [LibraryImport(Libraries.Libc, EntryPoint = "pdkill", SetLastError = true)]
    internal static partial int pdkill(int fd, int signum);

    /// <summary>wait6(2): idtype, id (id_t is 64 bits), status, options, struct __wrusage, siginfo_t.</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "wait6", SetLastError = true)]
    internal static partial int wait6(int idtype, long id, int* status, int options, NativeRusage* wrusage, FreeBsdSiginfo* info);

    [LibraryImport(Libraries.Libc, EntryPoint = "kqueue", SetLastError = true)]
    internal static partial int kqueue();

    [LibraryImport(Libraries.Libc, EntryPoint = "kevent", SetLastError = true)]
    internal static partial int kevent(int kq, KEvent* changes, int nchanges, KEvent* events, int nevents, void* timeout);
}

/// <summary>siginfo_t on 64-bit FreeBSD (80 bytes): the fields a wait fills.</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
internal struct FreeBsdSiginfo
{
    [FieldOffset(0)] public int Signo;
    [FieldOffset(8)] public int Code;
    [FieldOffset(12)] public int Pid;
    [FieldOffset(16)] public uint Uid;
    [FieldOffset(20)] public int Status;
}

/// <summary>struct kevent, FreeBSD 12 and later (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KEvent
{
    public nuint Ident;
    public short Filter;
    public ushort Flags;
    public uint FFlags;
    public long Data;
    public void* UData;
    public ulong Ext0, Ext1, Ext2, Ext3;
}
