using System.Globalization;
using System.Runtime.InteropServices;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Contract §8, fstat, as the Linux emulation builds the answer (the pidfd's PIDFD_GET_INFO, else
/// /proc): a child whose ids change after pdfork has returned (setpriv), a duplicate, descriptors
/// of other kinds, numbers not open. The rows for children that have their ids from the start are
/// compat-tests'.
/// </summary>
[Contract("§8")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public partial class FstatTests
{
    private const FilePermissions S_IFREG = FilePermissions.S_IFREG;        // 0100000
    private const FilePermissions RunningMode = S_IFREG | FilePermissions.S_IRWXU; // 0100700
    private const uint Nobody = 65534;
    private const string SetPriv = "/usr/bin/setpriv";

    [Test, Contract("§8 running: st_mode S_IFREG|0700, st_uid/st_gid the child's real ids, times the start time, every other field 0")]
    public void Running_ModeIs0100700_OwnerIsTheChildsRealIds_TimesAreItsStartTime()
    {
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        int pid = AsNobody(out int fd, $"--reuid={Nobody}", $"--regid={Nobody}");
        long after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        try
        {
            WaitForIds(pid, real: Nobody, effective: Nobody);
            fstat(fd, out Stat st).ShouldBe(0, $"fstat failed: {GetLastError()}");
            ((uint)st.st_mode).ShouldBe(33216u, "S_IFREG | 0700 (0100700)");
            st.st_mode.ShouldBe(RunningMode);
            st.st_uid.ShouldBe(Nobody);
            st.st_gid.ShouldBe(Nobody);
            StartTimes(st, before, after);
            OtherFieldsAreZero(st);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§8 running: st_uid / st_gid = the child's real uid / gid (not the effective ones)")]
    public void Running_OwnerIsTheRealIds_NotTheEffectiveOnes()
    {
        int pid = AsNobody(out int fd, $"--ruid={Nobody}", "--euid=0", $"--rgid={Nobody}", "--egid=0");
        try
        {
            WaitForIds(pid, real: Nobody, effective: 0);
            fstat(fd, out Stat st).ShouldBe(0);
            st.st_uid.ShouldBe(Nobody);
            st.st_gid.ShouldBe(Nobody);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§8 exited (zombie): st_mode S_IFREG, st_uid/st_gid and times as while running, every other field 0")]
    public void Exited_ModeIsS_IFREG_OwnerAndTimesUnchanged()
    {
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        int pid = AsNobody(out int fd, $"--reuid={Nobody}", $"--regid={Nobody}");
        long after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        try
        {
            WaitForIds(pid, real: Nobody, effective: Nobody);
            fstat(fd, out Stat running).ShouldBe(0);

            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            Processes.State(pid).ShouldBe('Z');

            fstat(fd, out Stat st).ShouldBe(0);
            ((uint)st.st_mode).ShouldBe(32768u, "S_IFREG (0100000)");
            st.st_mode.ShouldBe(S_IFREG);
            st.st_uid.ShouldBe(Nobody);
            st.st_gid.ShouldBe(Nobody);
            StartTimes(st, before, after);
            st.st_mtime.ShouldBe(running.st_mtime);
            st.st_mtime_nsec.ShouldBe(running.st_mtime_nsec);
            OtherFieldsAreZero(st);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§8 every procdesc copy answers the same (dup)")]
    public void ADuplicate_AnswersTheSame()
    {
        Kids.Sleeper(out int fd);
        int copy = CLibc.dup(fd);
        try
        {
            fstat(fd, out Stat original).ShouldBe(0);
            fstat(copy, out Stat viaCopy).ShouldBe(0);
            viaCopy.st_mode.ShouldBe(original.st_mode);
            viaCopy.st_uid.ShouldBe(original.st_uid);
            viaCopy.st_gid.ShouldBe(original.st_gid);
            viaCopy.st_mtime.ShouldBe(original.st_mtime);
            viaCopy.st_mtime_nsec.ShouldBe(original.st_mtime_nsec);
            OtherFieldsAreZero(viaCopy);
        }
        finally
        {
            close(copy);
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§8 a descriptor that is not a procdesc: fstat(2)'s own answer")]
    public unsafe void RegularFile_GetsTheRealFstat()
    {
        string path = Path.Combine(Path.GetTempPath(), $"procdesc-fstat-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, new byte[1234]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        int fd = CLibc.open(path, CLibc.O_RDONLY | CLibc.O_CLOEXEC, 0);
        try
        {
            fd.ShouldBeGreaterThanOrEqualTo(0);
            fstat(fd, out Stat st).ShouldBe(0, $"fstat failed: {GetLastError()}");
            st.st_size.ShouldBe(1234);
            st.st_mode.ShouldBe(S_IFREG | FilePermissions.S_IRUSR | FilePermissions.S_IWUSR | FilePermissions.S_IRGRP);
            st.st_nlink.ShouldBe(1UL);
            st.st_ino.ShouldBe(InodeOf(fd));
            st.st_uid.ShouldBe(GetId("-u"));
            st.st_blksize.ShouldBeGreaterThan(0);
            st.st_mtime.ShouldBe(new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds());
        }
        finally
        {
            if (fd >= 0) CLibc.close(fd);
            File.Delete(path);
        }
    }

    [Test, Contract("§8 a descriptor that is not a procdesc: fstat(2)'s own answer")]
    public void Pipe_GetsTheRealFstat()
    {
        var (read, write) = CLibc.Pipe();
        try
        {
            fstat(read, out Stat r).ShouldBe(0);
            fstat(write, out Stat w).ShouldBe(0);
            (r.st_mode & FilePermissions.S_IFMT).ShouldBe(FilePermissions.S_IFIFO);
            (w.st_mode & FilePermissions.S_IFMT).ShouldBe(FilePermissions.S_IFIFO);
            r.st_ino.ShouldBe(InodeOf(read));
            w.st_ino.ShouldBe(r.st_ino, "both ends are one pipe");
            r.st_nlink.ShouldBe(1UL);
        }
        finally
        {
            CLibc.close(read);
            CLibc.close(write);
        }
    }

    [TestCase(-1), TestCase(1 << 30), TestCase(int.MinValue)]
    [Contract("§8 a descriptor that is not open: -1, EBADF")]
    public void BadNumbers_AreEBADF(int fd) => Expect.ShouldFailWith(fstat(fd, out _), Errno.EBADF);

    [Test, Contract("§8 a descriptor that is not open: -1, EBADF")]
    public void AClosedProcdesc_IsEBADF()
    {
        int pid = Kids.Sleeper(out int fd);
        close(fd).ShouldBe(0);
        // The library's reaper scans /proc/self/fd after a close, and its directory handle takes
        // the lowest free number (this one) for an instant; it is done once the child is gone.
        Kids.EventuallyGone(pid).ShouldBeTrue();
        Expect.ShouldFailWith(fstat(fd, out _), Errno.EBADF);
    }

    /// <summary>A child that runs sleep 60 with the ids setpriv sets (it runs as root, this process's user).</summary>
    private static int AsNobody(out int fd, params string[] ids)
    {
        string[] argv = ["setpriv", .. ids, "--clear-groups", "/bin/sleep", "60"];
        int pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec(SetPriv, argv));
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        return pid;
    }

    /// <summary>Waits (bounded) until setpriv has changed the child's ids and exec'd sleep.</summary>
    private static void WaitForIds(int pid, uint real, uint effective)
    {
        Kids.Eventually(() =>
        {
            try
            {
                string status = File.ReadAllText($"/proc/{pid}/status");
                return Ids(status, "Uid:") == (real, effective) && Ids(status, "Gid:") == (real, effective)
                    && File.ReadAllText($"/proc/{pid}/comm").Trim() == "sleep";
            }
            catch (IOException) { return false; }
        }).ShouldBeTrue($"the child {pid} runs sleep with real id {real} and effective id {effective}");

        static (uint, uint) Ids(string status, string key)
        {
            string line = status.Split('\n').First(l => l.StartsWith(key, StringComparison.Ordinal));
            string[] parts = line[key.Length..].Split('\t', StringSplitOptions.RemoveEmptyEntries);
            return (uint.Parse(parts[0], CultureInfo.InvariantCulture), uint.Parse(parts[1], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>atime = mtime = ctime (seconds and nanoseconds), the wall-clock start of the child.</summary>
    private static void StartTimes(Stat st, long before, long after)
    {
        st.st_atime.ShouldBe(st.st_mtime);
        st.st_ctime.ShouldBe(st.st_mtime);
        st.st_atime_nsec.ShouldBe(st.st_mtime_nsec);
        st.st_ctime_nsec.ShouldBe(st.st_mtime_nsec);
        st.st_mtime.ShouldBeInRange(before - 2, after + 2, "the child's start time, wall clock");
        st.st_mtime_nsec.ShouldBeInRange(0, 999_999_999);
    }

    private static void OtherFieldsAreZero(Stat st)
    {
        st.st_dev.ShouldBe(0UL, "st_dev");
        st.st_ino.ShouldBe(0UL, "st_ino");
        st.st_nlink.ShouldBe(0UL, "st_nlink");
        st.st_size.ShouldBe(0, "st_size");
        st.st_blocks.ShouldBe(0, "st_blocks");
        st.st_blksize.ShouldBe(0, "st_blksize");
        st.st_rdev.ShouldBe(0UL, "st_rdev");
    }

    /// <summary>The inode number the kernel shows for one of this process's descriptors.</summary>
    private static ulong InodeOf(int fd)
    {
        string line = File.ReadLines($"/proc/self/fdinfo/{fd}").First(l => l.StartsWith("ino:", StringComparison.Ordinal));
        return ulong.Parse(line[4..].Trim(), CultureInfo.InvariantCulture);
    }

    private static uint GetId(string which) => which == "-u" ? getuid() : getgid();

    [LibraryImport("libc")] private static partial uint getuid();
    [LibraryImport("libc")] private static partial uint getgid();
}
