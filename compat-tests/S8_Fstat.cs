using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>Contract §8: fstat on a process descriptor, running, exited (zombie) and reaped.</summary>
public partial class Conformance
{
    [Test]
    [Row("§8", 1, "st_mode", "running: S_IFREG | 0700 (0100700); exited (zombie): S_IFREG (0100000); reaped: S_IFREG (0100000)")]
    public void S8_StMode()
    {
        var (running, zombie, reaped) = StatsOverALife(out _);
        ((uint)running.st_mode).ShouldBe(0x81C0u, "running: 0100700");
        ((uint)zombie.st_mode).ShouldBe(0x8000u, "zombie: 0100000");
        ((uint)reaped.st_mode).ShouldBe(0x8000u, "reaped: 0100000");
        running.st_mode.ShouldBe(FilePermissions.S_IFREG | FilePermissions.S_IRWXU);
        zombie.st_mode.ShouldBe(FilePermissions.S_IFREG);
    }

    [Test]
    [Row("§8", 2, "st_uid / st_gid",
        "running: the child's real uid / gid (a child with real ids 65534 and effective ids 0: needs root); exited (zombie): the same; reaped: 0")]
    public void S8_StUidStGid_TheChildsRealIds()
    {
        bool root = CLibc.geteuid() == 0;
        uint uid = root ? Nobody : CLibc.getuid(), gid = root ? Nobody : CLibc.getgid();
        var (running, zombie, reaped) = StatsOverALife(out _, asOtherRealIds: root);
        running.st_uid.ShouldBe(uid, "running: the real uid");
        running.st_gid.ShouldBe(gid, "running: the real gid");
        zombie.st_uid.ShouldBe(uid, "zombie: the real uid");
        zombie.st_gid.ShouldBe(gid, "zombie: the real gid");
        reaped.st_uid.ShouldBe(0u, "reaped");
        reaped.st_gid.ShouldBe(0u, "reaped");
        if (!root)
        {
            Report.Note("partial: not root, so real and effective ids could not differ; checked with this user's ids");
            return;
        }
        // And a child with this process's own ids (root's).
        var (ownRunning, ownZombie, _) = StatsOverALife(out _);
        ownRunning.st_uid.ShouldBe(CLibc.getuid(), "running, this process's ids: the uid");
        ownRunning.st_gid.ShouldBe(CLibc.getgid(), "running, this process's ids: the gid");
        ownZombie.st_uid.ShouldBe(CLibc.getuid(), "zombie, this process's ids: the uid");
        ownZombie.st_gid.ShouldBe(CLibc.getgid(), "zombie, this process's ids: the gid");
    }

    [Test]
    [Row("§8", 3, "st_atime = st_mtime = st_ctime (= birthtime on FreeBSD)",
        "running: the child's start time (wall clock); exited (zombie): the same; reaped: 0 (seconds and nanoseconds; birthtime is not part of Mono's Stat)")]
    public void S8_Times_TheStartTime()
    {
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var (running, zombie, reaped) = StatsOverALife(out long after);
        foreach (var (what, st) in new[] { ("running", running), ("zombie", zombie) })
        {
            st.st_atime.ShouldBe(st.st_mtime, what);
            st.st_ctime.ShouldBe(st.st_mtime, what);
            st.st_atime_nsec.ShouldBe(st.st_mtime_nsec, what);
            st.st_ctime_nsec.ShouldBe(st.st_mtime_nsec, what);
            st.st_mtime.ShouldBeInRange(before - 2, after + 2, $"{what}: the start time, wall clock");
            st.st_mtime_nsec.ShouldBeInRange(0, 999_999_999, what);
        }
        zombie.st_mtime.ShouldBe(running.st_mtime);
        zombie.st_mtime_nsec.ShouldBe(running.st_mtime_nsec);
        foreach (long value in new[] { reaped.st_atime, reaped.st_mtime, reaped.st_ctime, reaped.st_atime_nsec, reaped.st_mtime_nsec, reaped.st_ctime_nsec })
            value.ShouldBe(0, "reaped: every time is 0");
    }

    [Test]
    [Row("§8", 4, "every other field", "0 (running, exited and reaped): st_dev, st_ino, st_nlink, st_size, st_blocks, st_blksize, st_rdev")]
    public void S8_EveryOtherField_Zero()
    {
        var (running, zombie, reaped) = StatsOverALife(out _);
        foreach (var (what, st) in new[] { ("running", running), ("zombie", zombie), ("reaped", reaped) })
        {
            st.st_dev.ShouldBe(0UL, $"{what}: st_dev");
            st.st_ino.ShouldBe(0UL, $"{what}: st_ino");
            st.st_nlink.ShouldBe(0UL, $"{what}: st_nlink");
            st.st_size.ShouldBe(0, $"{what}: st_size");
            st.st_blocks.ShouldBe(0, $"{what}: st_blocks");
            st.st_blksize.ShouldBe(0, $"{what}: st_blksize");
            st.st_rdev.ShouldBe(0UL, $"{what}: st_rdev");
        }
    }

    /// <summary>
    /// fstat of one child's descriptor while it runs, once it has exited, and once reaped. With
    /// <paramref name="asOtherRealIds"/> the child is made while this process's real ids are 65534
    /// (its effective ids stay 0), so the child's real and effective ids differ.
    /// </summary>
    private static (Stat Running, Stat Zombie, Stat Reaped) StatsOverALife(out long startedBy, bool asOtherRealIds = false)
    {
        int pid, fd = -1;
        try
        {
            if (asOtherRealIds)
            {
                using (AsUser.BecomeReal(Nobody, Nobody))
                    pid = Kids.Sleeper(out fd);
            }
            else
            {
                pid = Kids.Sleeper(out fd);
            }
            startedBy = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

            fstat(fd, out Stat running).ShouldBe(0, $"fstat (running): {GetLastError()}");
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            CLibc.IsZombieChild(pid).ShouldBeTrue();
            fstat(fd, out Stat zombie).ShouldBe(0, $"fstat (zombie): {GetLastError()}");
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
            fstat(fd, out Stat reaped).ShouldBe(0, $"fstat (reaped): {GetLastError()}");
            return (running, zombie, reaped);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }
}
