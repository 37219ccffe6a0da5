using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>unistd.h (and sys/syscall.h's syscall(2)): descriptors, ids, the raw system call.</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
    internal static partial int close(int fd);

    /// <summary>Closes a descriptor of the library's own without disturbing the errno a failed
    /// call has just recorded for its caller.</summary>
    internal static void CloseKeepingErrno(int fd)
    {
        int errno = Marshal.GetLastPInvokeError();
        close(fd);
        Marshal.SetLastPInvokeError(errno);
    }

    [LibraryImport(Libraries.Libc, EntryPoint = "lseek", SetLastError = true)]
    internal static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Libraries.Libc, EntryPoint = "read", SetLastError = true)]
    internal static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport(Libraries.Libc, EntryPoint = "write", SetLastError = true)]
    internal static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport(Libraries.Libc, EntryPoint = "pipe2", SetLastError = true)]
    internal static partial int pipe2(int* fds, int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5);

    [LibraryImport(Libraries.Libc, EntryPoint = "getpid")]
    internal static partial int getpid();

    [LibraryImport(Libraries.Libc, EntryPoint = "getuid")]
    internal static partial uint getuid();

    [LibraryImport(Libraries.Libc, EntryPoint = "getgid")]
    internal static partial uint getgid();

    /// <summary>The calling thread's ids (Linux keeps credentials per thread; these calls read the caller's).</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "getresuid", SetLastError = true)]
    internal static partial int getresuid(uint* ruid, uint* euid, uint* suid);

    [LibraryImport(Libraries.Libc, EntryPoint = "getresgid", SetLastError = true)]
    internal static partial int getresgid(uint* rgid, uint* egid, uint* sgid);

    [LibraryImport(Libraries.Libc, EntryPoint = "getgroups", SetLastError = true)]
    internal static partial int getgroups(int size, uint* list);

    [LibraryImport(Libraries.Libc, EntryPoint = "sysconf")]
    internal static partial long sysconf(int name);

    // Linux's numbers.
    internal const int SEEK_SET = 0, _SC_CLK_TCK = 2;
}
