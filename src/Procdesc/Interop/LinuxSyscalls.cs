using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>
/// Linux system calls that glibc 2.36 lacks or wraps without an argument the library needs
/// (waitid's rusage). Numbers are the generic table's, shared by x86_64 and aarch64, except waitid.
/// </summary>
internal static unsafe class LinuxSyscalls
{
    private const long SYS_pidfd_send_signal = 424;
    private const long SYS_pidfd_open = 434;
    internal const long SYS_clone3 = 435;
    private static readonly bool X64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;
    internal static readonly long SYS_rt_sigaction = X64 ? 13 : 134, SYS_kill = X64 ? 62 : 129;
    // gettid(2) through syscall(2): glibc's own wrapper arrived only in 2.30.
    private static readonly long SYS_gettid = X64 ? 186 : 178;

    /// <summary>The calling thread's kernel id.</summary>
    internal static int gettid() => (int)Libc.syscall(SYS_gettid, 0, 0, 0, 0, 0);

    /// <summary>getdents64: 217 on x86_64, 61 on aarch64 (the generic table).</summary>
    internal static readonly long SYS_getdents64 = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 217 : 61;
    private static readonly long SYS_waitid =
        RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 247 : 95;

    internal const int P_PID = 1, P_PIDFD = 3;
    internal const int WNOHANG = 1, WSTOPPED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x01000000;
    /// <summary>Children with exit_signal 0 (ours before exec) are seen only with __WALL.</summary>
    internal const int __WALL = 0x40000000;

    /// <summary>clone3 flags of Linux 7.1: the kernel's kill when the last reference to the child's
    /// clone3 pidfd file goes (AUTOKILL), which requires reaping by the kernel at exit (AUTOREAP) and,
    /// without CAP_SYS_ADMIN, no_new_privs in the child (NNP).</summary>
    internal const ulong CLONE_AUTOREAP = 1UL << 34, CLONE_NNP = 1UL << 35, CLONE_PIDFD_AUTOKILL = 1UL << 36;

    internal const int CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_TRAPPED = 4, CLD_STOPPED = 5, CLD_CONTINUED = 6;

    internal static int pidfd_open(int pid, uint flags) =>
        (int)Libc.syscall(SYS_pidfd_open, pid, flags, 0, 0, 0);

    internal static int pidfd_send_signal(int pidfd, int signal) =>
        (int)Libc.syscall(SYS_pidfd_send_signal, pidfd, signal, 0, 0, 0);

    /// <summary>The raw waitid: the kernel's fifth argument fills a struct rusage.</summary>
    internal static int waitid(int idtype, int id, LinuxSiginfo* info, int options, NativeRusage* usage) =>
        (int)Libc.syscall(SYS_waitid, idtype, id, (long)info, options, (long)usage);

    /// <summary>PIDFD_GET_INFO = _IOWR(0xFF, 11, struct pidfd_info) with the 72-byte struct (6.13+).</summary>
    internal const ulong PIDFD_GET_INFO = (3UL << 30) | (PidfdInfoSize << 16) | (0xFFUL << 8) | 11;
    internal const ulong PidfdInfoSize = 72;
    internal const ulong PIDFD_INFO_PID = 1, PIDFD_INFO_CREDS = 2, PIDFD_INFO_EXIT = 8;
}

/// <summary>The SIGCHLD part of siginfo_t on 64-bit Linux (the whole struct is 128 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct LinuxSiginfo
{
    [FieldOffset(0)] public int Signo;
    [FieldOffset(8)] public int Code;
    [FieldOffset(16)] public int Pid;
    [FieldOffset(20)] public uint Uid;
    [FieldOffset(24)] public int Status;
}

/// <summary>struct pidfd_info (include/uapi/linux/pidfd.h, 6.13+; exit_code from 6.15).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PidfdInfo
{
    public ulong Mask;
    public ulong CgroupId;
    public uint Pid, Tgid, Ppid, Ruid, Rgid, Euid, Egid, Suid, Sgid, Fsuid, Fsgid;
    public int ExitCode;
    public uint CoredumpMask;
    public uint Spare1;
}

/// <summary>The fixed head of struct linux_dirent64 (getdents64); the NUL-terminated name follows it.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct LinuxDirent64
{
    public ulong Inode;
    public long Offset;
    public ushort RecordLength;
    public byte Type;

    /// <summary>d_name, right after the head (offset 19).</summary>
    internal static byte* Name(LinuxDirent64* entry) => (byte*)entry + sizeof(LinuxDirent64);
}
