using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>
/// What this Linux kernel offers, probed without creating a process: calls made with arguments the
/// kernel must refuse (the errno tells whether the call exists), or on a pidfd of this process.
/// Where only a child's exit could tell, the kernel version decides, and the detail says so.
/// </summary>
internal static unsafe class LinuxFeatures
{
    internal static IReadOnlyList<HostFeature> Probe(PidfdIdentity identity)
    {
        var features = new List<HostFeature>();
        // clone3 with a too-small argument: EINVAL where it exists, ENOSYS where not (or seccomp).
        long clone3 = Libc.syscall(LinuxSyscalls.SYS_clone3, 0, 0, 0, 0, 0);
        int clone3Errno = Marshal.GetLastPInvokeError();
        features.Add(new("clone3", clone3 < 0 && clone3Errno != (int)Errno.ENOSYS,
            clone3Errno == (int)Errno.ENOSYS ? "clone3 answers ENOSYS (old kernel or a seccomp profile): pdfork uses clone(CLONE_PIDFD)"
                                             : "clone3 exists: pdfork uses clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD)"));
        int self = pidfd_open(Libc.getpid(), 0);
        int pidfdOpenErrno = Marshal.GetLastPInvokeError();
        features.Add(new("pidfd_open", self >= 0, self >= 0 ? "pidfd_open(getpid()) works (Linux 5.3+)" : $"pidfd_open: errno {pidfdOpenErrno}"));
        features.Add(new("CLONE_PIDFD", self >= 0, "implied by pidfd_open (CLONE_PIDFD is 5.2, pidfd_open 5.3)"));
        try
        {
            LinuxSiginfo info;
            int waited = self < 0 ? -1 : waitid(P_PIDFD, self, &info, WEXITED | WNOHANG, null);
            int waitErrno = Marshal.GetLastPInvokeError();
            // Not our child: ECHILD where P_PIDFD is known, EINVAL where it is not.
            features.Add(new("waitid P_PIDFD", waited < 0 && waitErrno == (int)Errno.ECHILD, "waitid(P_PIDFD) on this process's own pidfd answers ECHILD (Linux 5.4+)"));

            var pidfdInfo = new PidfdInfo { Mask = PIDFD_INFO_PID };
            bool getInfo = self >= 0 && Libc.ioctl(self, PIDFD_GET_INFO, &pidfdInfo) == 0;
            features.Add(new("PIDFD_GET_INFO", getInfo, getInfo ? "ioctl(PIDFD_GET_INFO) answers (Linux 6.13+): pids and credentials through the pidfd"
                                                                 : "no PIDFD_GET_INFO: /proc is read instead, checked by a signal-0 probe"));
            features.Add(new("PIDFD_INFO_EXIT", getInfo && KernelVersion.AtLeast(6, 15),
                $"by kernel version ({KernelVersion.Release}; 6.15+): the exit status of a child reaped outside the library (§10 L1)"));
        }
        finally
        {
            if (self >= 0)
                Libc.close(self);
        }
        bool pidfs = identity is PidfsIdentity;
        features.Add(new("pidfs", pidfs, pidfs
            ? "pidfds have their own inodes (Linux 6.9+): a descriptor's inode names its process"
            : "every pidfd shares one anonymous inode (before Linux 6.9): the library tags each child's pidfd with the child as its owner (F_SETOWN), and the kernel's reap of a child waits for its last descriptor"));
        features.Add(new("POLLHUP after reap", KernelVersion.AtLeast(6, 9), $"by kernel version ({KernelVersion.Release}; 6.9+); the library reports POLLHUP from exit on, as FreeBSD does, either way"));
        features.Add(new("helper parent", ParentHelper.Wanted, ParentHelper.Wanted
            ? "children are made by the library's helper parent (procdesc-parent): this process is pid 1 or ignores SIGCHLD (a foreign reaper), or PROCDESC_LINUX_PARENT=helper"
            : "children are this process's own (no foreign reaper known; PROCDESC_LINUX_PARENT=helper makes them the helper parent's)"));
        features.Add(new("CLONE_PIDFD_AUTOKILL", KernelVersion.AtLeast(7, 1),
            $"by kernel version ({KernelVersion.Release}; 7.1+): kill-on-close by the kernel, counting every copy in every process, for children made with PdChild.WithKernelKillOnClose() (their rusage is lost: the kernel reaps them)"));
        int abi = LandlockSandbox.Abi;
        features.Add(new("Landlock", abi > 0, abi > 0
            ? $"Landlock ABI {abi}: PdChild.WithSandbox and workers enforce {LandlockSandbox.Reachable}"
            : "no Landlock (Linux before 5.13, or not enabled at boot: lsm=…,landlock): a sandbox requiring more than no_new_privs fails with EOPNOTSUPP"));
        return features;
    }
}
