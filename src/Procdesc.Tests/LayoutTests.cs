using Procdesc.Tests.Support;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Procdesc.Interop;

namespace Procdesc.Tests;

/// <summary>
/// The native structures the library lays out by hand, checked against the C compiler (for the
/// helper's own request) and against the systems' documented layouts; FreeBSD's are checked
/// against its own headers by <see cref="FreeBsdAbiTests"/>.
/// </summary>
public class LayoutTests
{
    [Test, OnlyOn("Linux", "compiles the Linux helper")]
    public void SpawnRequest_MatchesTheCHelpersStruct_OnThisMachine()
    {
        string probe = CompileAndRun("""
            #include "procdesc_spawn_linux.c"
            #include <stdio.h>
            #include <stddef.h>
            int main(void) {
                printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(struct pd_spawn_request),
                    offsetof(struct pd_spawn_request, path), offsetof(struct pd_spawn_request, argv),
                    offsetof(struct pd_spawn_request, envp), offsetof(struct pd_spawn_request, fd_map),
                    offsetof(struct pd_spawn_request, fd_scratch), offsetof(struct pd_spawn_request, fd_map_count),
                    offsetof(struct pd_spawn_request, death_signal), offsetof(struct pd_spawn_request, cwd),
                    offsetof(struct pd_spawn_request, expected_parent), offsetof(struct pd_spawn_request, pd_flags),
                    offsetof(struct pd_spawn_request, pdrfork_thread), offsetof(struct pd_spawn_request, clone_flags), offsetof(struct pd_spawn_request, credentials),
                    offsetof(struct pd_spawn_request, sandbox_ruleset), offsetof(struct pd_spawn_request, no_new_privs),
                    offsetof(struct pd_spawn_request, default_signals), offsetof(struct pd_spawn_request, script_argv),
                    offsetof(struct pd_spawn_request, close_from));
                return 0;
            }
            """);
        string[] fields = ["Path", "Argv", "Envp", "FdMap", "FdScratch", "FdMapCount", "DeathSignal", "WorkingDirectory", "ExpectedParent", "PdFlags", "PdrforkThread", "CloneFlags", "Credentials", "SandboxRuleset", "NoNewPrivs", "DefaultSignals", "ScriptArgv", "CloseFrom"];
        string managed = string.Join(' ', new[] { Marshal.SizeOf<SpawnRequest>().ToString() }
            .Concat(fields.Select(f => Marshal.OffsetOf<SpawnRequest>(f).ToString())));
        probe.Trim().ShouldBe(managed);
    }

    [Test]
    public void StructSizes_AreTheKernelsOnes()
    {
        Marshal.SizeOf<NativeRusage>().ShouldBe(144, "struct rusage, 64-bit Linux and FreeBSD");
        Marshal.SizeOf<ParentSpawn>().ShouldBe(76, "struct pd_parent_spawn (procdesc_parent.h asserts the C side)");
        Marshal.SizeOf<ParentSpawned>().ShouldBe(16);
        Marshal.SizeOf<ParentWaitid>().ShouldBe(16);
        Marshal.SizeOf<ParentWaited>().ShouldBe(176);
        Marshal.OffsetOf<ParentWaited>(nameof(ParentWaited.Usage)).ShouldBe(32);
        Marshal.SizeOf<EpollEventX64>().ShouldBe(12, "struct epoll_event, packed on x86_64");
        Marshal.OffsetOf<EpollEventX64>(nameof(EpollEventX64.Data)).ShouldBe(4);
        Marshal.SizeOf<EpollEventAligned>().ShouldBe(16, "struct epoll_event, aarch64");
        Marshal.OffsetOf<EpollEventAligned>(nameof(EpollEventAligned.Data)).ShouldBe(8);
        Marshal.SizeOf<LinuxDirent64>().ShouldBe(19, "the head of struct linux_dirent64: d_name at 19");
        Marshal.OffsetOf<LinuxDirent64>(nameof(LinuxDirent64.RecordLength)).ShouldBe(16);
        Marshal.SizeOf<LinuxSiginfo>().ShouldBe(128);
        Marshal.SizeOf<PidfdInfo>().ShouldBe((int)LinuxSyscalls.PidfdInfoSize);
        Marshal.SizeOf<FreeBsdSiginfo>().ShouldBe(80, "siginfo_t, 64-bit FreeBSD");
        Marshal.SizeOf<KEvent>().ShouldBe(64, "struct kevent, FreeBSD 12+");
        Marshal.OffsetOf<KEvent>(nameof(KEvent.Data)).ShouldBe(16);
        Marshal.OffsetOf<KEvent>(nameof(KEvent.UData)).ShouldBe(24);
    }

    [Test]
    public void FreeBsdStat_IsReadAtFreeBsdsOffsets()
    {
        // struct stat of FreeBSD 12+ (64-bit): dev 0, ino 8, nlink 16, mode 24 (16 bits), uid 28,
        // gid 32, rdev 40, atim 48, mtim 64, ctim 80, birthtim 96, size 112, blocks 120, blksize 128.
        var b = new byte[FreeBsdStat.Size];
        BinaryPrimitives.WriteUInt64LittleEndian(b, 0x1122);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), 77);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(24), 0x81c0); // S_IFREG | 0700
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(28), 65534);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(32), 65533);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(40), 5);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(48), 1_700_000_001);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(56), 11);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(64), 1_700_000_002);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(72), 12);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(80), 1_700_000_003);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(88), 13);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(112), 4096);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(120), 8);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(128), 512);
        Stat s = FreeBsdStat.Parse(b);
        (s.st_dev, s.st_ino, s.st_nlink, s.st_uid, s.st_gid, s.st_rdev).ShouldBe((0x1122UL, 77UL, 2UL, 65534u, 65533u, 5UL));
        s.st_mode.ShouldBe(FilePermissions.S_IFREG | FilePermissions.S_IRWXU);
        (s.st_atime, s.st_atime_nsec, s.st_mtime, s.st_mtime_nsec, s.st_ctime, s.st_ctime_nsec)
            .ShouldBe((1_700_000_001L, 11L, 1_700_000_002L, 12L, 1_700_000_003L, 13L));
        (s.st_size, s.st_blocks, s.st_blksize).ShouldBe((4096L, 8L, 512L));
    }

    [Test]
    public void MonoPosix_IsAPortableAssembly_BesideTheApplication()
    {
        // Mono.Posix.NETStandard has assets for Linux, macOS and Windows only: the build lists its
        // managed assembly as RID-independent, so that FreeBSD's host loads it too.
        typeof(Signum).Assembly.Location.ShouldBe(Path.Combine(AppContext.BaseDirectory, "Mono.Posix.NETStandard.dll"));
        using var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Procdesc.Tests.deps.json")));
        JsonElement package = deps.RootElement.GetProperty("targets").EnumerateObject().First().Value
            .EnumerateObject().First(p => p.Name.StartsWith("Mono.Posix.NETStandard/", StringComparison.Ordinal)).Value;
        package.GetProperty("runtime").EnumerateObject().Single().Name.ShouldEndWith("Mono.Posix.NETStandard.dll");
        if (package.TryGetProperty("runtimeTargets", out JsonElement targets))
            targets.EnumerateObject().ShouldAllBe(t => t.Value.GetProperty("assetType").GetString() == "native");
    }

    private static string CompileAndRun(string source)
    {
        string work = Directory.CreateTempSubdirectory("procdesc-layout-").FullName;
        try
        {
            string c = Path.Combine(work, "probe.c"), exe = Path.Combine(work, "probe");
            File.WriteAllText(c, source);
            var (code, output) = SourceTree.Run("cc", "-std=gnu11", "-I", SourceTree.Native, "-o", exe, c);
            code.ShouldBe(0, output);
            (code, output) = SourceTree.Run(exe);
            code.ShouldBe(0, output);
            return output;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
