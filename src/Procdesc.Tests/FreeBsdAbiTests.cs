using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Procdesc.Interop;
using Procdesc.Numbering;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// What the C# code assumes of FreeBSD — struct layouts, constants, numbering tables, prototypes —
/// checked against FreeBSD 15's own amd64 headers (native/freebsd-abi: the installed headers plus
/// 15.1's pdrfork/pdwait declarations) with clang's FreeBSD target, since no FreeBSD machine can be
/// reached from here. Each assumption is one <c>_Static_assert</c> naming it; clang reports every
/// one that fails. The spawn helper itself is compiled against the same headers.
/// </summary>
[OnlyOn("Linux", "clang's FreeBSD target on a Linux host; on FreeBSD the build and the suites use the real system")]
public class FreeBsdAbiTests
{
    private const string Target = "--target=x86_64-unknown-freebsd15.0";

    [TestCase(false, TestName = "SpawnHelper_CompilesWithFreeBsd15_1sHeaders_WithoutAWarning")]
    [TestCase(true, TestName = "SpawnHelper_CompilesWithFreeBsd15_0sHeaders_WithoutAWarning")]
    public void SpawnHelper_CompilesWithFreeBsdsHeaders_WithoutAWarning(bool view15_0)
    {
        var args = new List<string> { Target, "--sysroot=" + Sysroot, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only" };
        if (view15_0)
            args.AddRange(["-isystem", Path.Combine(AbiDirectory, "alt150")]);
        else
            args.Add("-DFBSDABI_15_1");
        args.Add(Path.Combine(NativeDirectory, "procdesc_spawn_freebsd.c"));
        var (code, output) = SourceTree.Run(Clang(), [.. args]);
        code.ShouldBe(0, output);
    }

    [Test]
    public void EveryLayoutConstantAndPrototype_TheCSharpCodeAssumes_MatchesFreeBsdsHeaders()
    {
        var checks = Assumptions();
        var source = new StringBuilder("""
            #define _WANT_KEVENT32 0
            #include "procdesc_spawn_freebsd.c"
            #include <sys/event.h>
            #include <sys/resource.h>
            #include <sys/stat.h>
            #include <poll.h>
            #include <stddef.h>
            #define SAME_TYPE(f, t) __builtin_types_compatible_p(__typeof__(&f), t)

            """);
        for (int i = 0; i < checks.Count; i++)
        {
            // "name?" guards a check with #ifdef name (a Linux alias FreeBSD may lack); "!name" says
            // FreeBSD must not define it.
            (string What, string Expression, string? Guard) check = checks[i];
            if (check.Guard is null)
                source.Append(CultureInfo.InvariantCulture, $"_Static_assert({check.Expression}, \"#{i}\");\n");
            else if (check.Guard.StartsWith('!'))
                source.Append(CultureInfo.InvariantCulture, $"#ifdef {check.Guard[1..]}\n_Static_assert(0, \"#{i}\");\n#endif\n");
            else
                source.Append(CultureInfo.InvariantCulture, $"#ifdef {check.Guard}\n_Static_assert({check.Expression}, \"#{i}\");\n#endif\n");
        }
        string work = Directory.CreateTempSubdirectory("procdesc-freebsd-abi-").FullName;
        try
        {
            string file = Path.Combine(work, "abi_probe.c");
            File.WriteAllText(file, source.ToString());
            var (code, output) = SourceTree.Run(Clang(), Target, "--sysroot=" + Sysroot, "-DFBSDABI_15_1", "-std=gnu11", "-ferror-limit=0",
                "-Wno-unused-function", "-I", NativeDirectory, "-fsyntax-only", file);
            var failed = Regex.Matches(output, "static assertion failed[^\"]*\"#(\\d+)\"").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToHashSet();
            var mismatches = failed.Order().Select(i => $"{checks[i].What} ({checks[i].Expression})").ToList();
            TestContext.Out.WriteLine($"{checks.Count - failed.Count} of {checks.Count} assumptions match FreeBSD 15's headers");
            mismatches.ShouldBeEmpty();
            code.ShouldBe(0, output); // anything else clang refused (an unknown name is a wrong assumption too)
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Every assumption: what it is, and the C expression that holds when FreeBSD agrees.</summary>
    private static List<(string What, string Expression, string? Guard)> Assumptions()
    {
        var checks = new List<(string, string, string?)>();
        void Check(string what, string expression) => checks.Add((what, expression, null));
        void Size<T>(string cType) => Check($"sizeof({cType})", $"sizeof({cType}) == {Marshal.SizeOf<T>()}");
        void Offset<T>(string cType, string cField, string field) =>
            Check($"offsetof({cType}, {cField})", $"offsetof({cType}, {cField}) == {Marshal.OffsetOf<T>(field)}");
        void Value(string name, long value) => Check(name, $"({name}) == ({value}L)");
        void Prototype(string function, string pointerType) => Check($"prototype of {function}", $"SAME_TYPE({function}, {pointerType})");

        // Structs the code lays out.
        Size<KEvent>("struct kevent");
        Offset<KEvent>("struct kevent", "ident", nameof(KEvent.Ident));
        Offset<KEvent>("struct kevent", "filter", nameof(KEvent.Filter));
        Offset<KEvent>("struct kevent", "flags", nameof(KEvent.Flags));
        Offset<KEvent>("struct kevent", "fflags", nameof(KEvent.FFlags));
        Offset<KEvent>("struct kevent", "data", nameof(KEvent.Data));
        Offset<KEvent>("struct kevent", "udata", nameof(KEvent.UData));
        Offset<KEvent>("struct kevent", "ext", nameof(KEvent.Ext0));
        Size<FreeBsdSiginfo>("siginfo_t");
        Offset<FreeBsdSiginfo>("siginfo_t", "si_signo", nameof(FreeBsdSiginfo.Signo));
        Offset<FreeBsdSiginfo>("siginfo_t", "si_code", nameof(FreeBsdSiginfo.Code));
        Offset<FreeBsdSiginfo>("siginfo_t", "si_pid", nameof(FreeBsdSiginfo.Pid));
        Offset<FreeBsdSiginfo>("siginfo_t", "si_uid", nameof(FreeBsdSiginfo.Uid));
        Offset<FreeBsdSiginfo>("siginfo_t", "si_status", nameof(FreeBsdSiginfo.Status));
        Size<NativeRusage>("struct rusage");
        foreach ((string c, string field) in new[] { ("ru_utime", "UtimeSec"), ("ru_stime", "StimeSec"), ("ru_maxrss", "MaxRss"),
            ("ru_minflt", "MinFlt"), ("ru_majflt", "MajFlt"), ("ru_nvcsw", "NVcsw"), ("ru_nivcsw", "NIvcsw") })
            Offset<NativeRusage>("struct rusage", c, field);
        Check("struct __wrusage is two struct rusage (wrusage[0] self, [1] children)",
            $"sizeof(struct __wrusage) == 2 * {Marshal.SizeOf<NativeRusage>()} && offsetof(struct __wrusage, wru_children) == {Marshal.SizeOf<NativeRusage>()}");
        Size<NativePollfd>("struct pollfd");
        Offset<NativePollfd>("struct pollfd", "fd", nameof(NativePollfd.Fd));
        Offset<NativePollfd>("struct pollfd", "events", nameof(NativePollfd.Events));
        Offset<NativePollfd>("struct pollfd", "revents", nameof(NativePollfd.Revents));
        Value("sizeof(struct stat)", FreeBsdStat.Size);
        foreach ((string c, int offset) in new[] { ("st_dev", FreeBsdStat.Dev), ("st_ino", FreeBsdStat.Ino), ("st_nlink", FreeBsdStat.Nlink),
            ("st_mode", FreeBsdStat.Mode), ("st_uid", FreeBsdStat.Uid), ("st_gid", FreeBsdStat.Gid), ("st_rdev", FreeBsdStat.Rdev),
            ("st_atim", FreeBsdStat.Atim), ("st_mtim", FreeBsdStat.Mtim), ("st_ctim", FreeBsdStat.Ctim), ("st_birthtim", FreeBsdStat.Birthtim),
            ("st_size", FreeBsdStat.FileSize), ("st_blocks", FreeBsdStat.Blocks), ("st_blksize", FreeBsdStat.Blksize) })
            Value($"offsetof(struct stat, {c})", offset);
        Check("st_mode is 16 bits", "sizeof(((struct stat *)0)->st_mode) == 2");
        Size<SpawnRequest>("struct pd_spawn_request");
        foreach ((string c, string field) in new[] { ("path", "Path"), ("argv", "Argv"), ("envp", "Envp"), ("fd_map", "FdMap"),
            ("fd_scratch", "FdScratch"), ("fd_map_count", "FdMapCount"), ("death_signal", "DeathSignal"), ("cwd", "WorkingDirectory"),
            ("expected_parent", "ExpectedParent"), ("pd_flags", "PdFlags"), ("pdrfork_thread", "PdrforkThread"), ("clone_flags", "CloneFlags"), ("credentials", "Credentials"), ("sandbox_ruleset", "SandboxRuleset"), ("no_new_privs", "NoNewPrivs"), ("default_signals", "DefaultSignals"), ("script_argv", "ScriptArgv"), ("close_from", "CloseFrom") })
            Offset<SpawnRequest>("struct pd_spawn_request", c, field);

        // Constants.
        Value("PD_DAEMON", PdSyscall.PD_DAEMON);
        Value("PD_CLOEXEC", PdSyscall.PD_CLOEXEC);
        Value("P_PID", FreeBsdLibc.P_PID);
        Value("WNOHANG", FreeBsdLibc.WNOHANG);
        Value("WUNTRACED", FreeBsdLibc.WUNTRACED);
        Value("WCONTINUED", FreeBsdLibc.WCONTINUED);
        Value("WNOWAIT", FreeBsdLibc.WNOWAIT);
        Value("WEXITED", FreeBsdLibc.WEXITED);
        Value("WTRAPPED", FreeBsdLibc.WTRAPPED);
        foreach (PdWaitOptions option in Enum.GetValues<PdWaitOptions>().Where(o => o != 0))
            Value(option.ToString(), (long)option);
        Value("EVFILT_PROCDESC", FreeBsdLibc.EVFILT_PROCDESC);
        Value("EVFILT_USER", FreeBsdLibc.EVFILT_USER);
        Value("EV_ADD", FreeBsdLibc.EV_ADD);
        Value("EV_DELETE", FreeBsdLibc.EV_DELETE);
        Value("EV_ONESHOT", FreeBsdLibc.EV_ONESHOT);
        Value("EV_CLEAR", FreeBsdLibc.EV_CLEAR);
        Value("NOTE_EXIT", FreeBsdLibc.NOTE_EXIT);
        Value("NOTE_TRIGGER", FreeBsdLibc.NOTE_TRIGGER);
        Value("F_DUPFD", Libc.F_DUPFD);
        Value("F_GETFD", Libc.F_GETFD);
        Value("F_SETFD", Libc.F_SETFD);
        Value("FD_CLOEXEC", Libc.FD_CLOEXEC);
        Value("F_DUPFD_CLOEXEC", FreeBsdLibc.F_DUPFD_CLOEXEC);
        Value("RLIMIT_NOFILE", FreeBsdLibc.RLIMIT_NOFILE);
        Value("SIGKILL", FreeBsdLibc.SIGKILL);
        Value("EWOULDBLOCK", FreeBsdLibc.EWOULDBLOCK);
        Value("POLLIN", Libc.POLLIN);
        Value("POLLHUP", Libc.POLLHUP);
        Value("POLLNVAL", Libc.POLLNVAL);
        Value("POLLOUT", FreeBsdPollEvents.ToNative((short)Mono.Unix.Native.PollEvents.POLLOUT));
        Value("POLLWRNORM", FreeBsdPollEvents.ToNative((short)Mono.Unix.Native.PollEvents.POLLWRNORM));
        Value("POLLWRBAND", FreeBsdPollEvents.ToNative((short)Mono.Unix.Native.PollEvents.POLLWRBAND));
        foreach (var e in new[] { Mono.Unix.Native.PollEvents.POLLPRI, Mono.Unix.Native.PollEvents.POLLERR, Mono.Unix.Native.PollEvents.POLLRDNORM, Mono.Unix.Native.PollEvents.POLLRDBAND })
            Value(e.ToString(), FreeBsdPollEvents.ToNative((short)e));
        Value("CLD_EXITED", PdSigInfo.CLD_EXITED);
        Value("CLD_KILLED", PdSigInfo.CLD_KILLED);
        Value("CLD_DUMPED", PdSigInfo.CLD_DUMPED);
        Value("CLD_TRAPPED", PdSigInfo.CLD_TRAPPED);
        Value("CLD_STOPPED", PdSigInfo.CLD_STOPPED);
        Value("CLD_CONTINUED", PdSigInfo.CLD_CONTINUED);
        var freebsd = new FreeBsdNumbering();
        Check("a continued child's status word", $"WIFCONTINUED({freebsd.ContinuedStatus})");
        Value("_SIG_MAXSIG", freebsd.MaxSignal);

        // The numbering tables: every canonical (Linux-named) signal and errno, by name, at the
        // number the tables give FreeBSD. Names FreeBSD must have are required; Linux aliases it
        // may lack are checked where it defines them; those the tables say it lacks must be absent.
        // Linux's aliases of other names, which FreeBSD does not define (checked as their other names).
        string[] linuxAliases = ["SIGCLD", "SIGPOLL", "SIGUNUSED", "EDEADLOCK"];
        foreach (string name in Enum.GetNames<Signum>())
        {
            Signum signal = Enum.Parse<Signum>(name);
            if ((int)signal is <= 0 or >= 32)
                continue; // realtime signals: checked through SIGRTMIN and SIGRTMAX below
            int native = freebsd.SignalToNative(signal);
            if (!linuxAliases.Contains(name))
                checks.Add((name, $"({name}) == {native}", native < 0 ? "!" + name : null));
        }
        Value("SIGRTMIN", FreeBsdNumbering.FreeBsdRealtimeMin);
        Value("SIGRTMAX", FreeBsdNumbering.FreeBsdRealtimeMax);
        Value("SIGEMT", FreeBsdNumbering.SIGEMT);
        Value("SIGINFO", FreeBsdNumbering.SIGINFO);
        Value("SIGTHR", FreeBsdNumbering.SIGTHR);
        Value("SIGLIBRT", FreeBsdNumbering.SIGLIBRT);
        foreach (string name in Enum.GetNames<Errno>())
        {
            Errno errno = Enum.Parse<Errno>(name);
            if (errno == 0)
                continue;
            if (linuxAliases.Contains(name))
                continue;
            if ((int)errno > 133 && name is "ENOATTR")
                continue; // Mono.Posix's name of no Linux errno (FreeBSD's ENOATTR is ENODATA's peer, checked below)
            int native = freebsd.ErrnoToNative(errno);
            if (name == "ENODATA")
                Value("ENOATTR", native); // FreeBSD's name for it
            else
                checks.Add(($"{name} (canonical {(int)errno})", $"({name}) == {native}", FreeBsdNumbering.ErrnosThatDiffer.ContainsKey(errno) || (int)errno is > 0 and < 35 ? null : name));
        }
        foreach ((string name, int value) in new[] { ("EPROCLIM", 67), ("EBADRPC", 72), ("ERPCMISMATCH", 73), ("EPROGUNAVAIL", 74),
            ("EPROGMISMATCH", 75), ("EPROCUNAVAIL", 76), ("EFTYPE", 79), ("EAUTH", 80), ("ENEEDAUTH", 81), ("EDOOFUS", 88),
            ("ENOTCAPABLE", 93), ("ECAPMODE", 94), ("EINTEGRITY", 97) })
        {
            FreeBsdNumbering.FreeBsdOnlyErrnos.ShouldContain(value, name);
            Value(name, value);
        }

        // Prototypes of what the code calls in FreeBSD's libc, as the C# declarations pass them.
        Prototype("pdgetpid", "int (*)(int, int *)");
        Prototype("pdkill", "int (*)(int, int)");
        Prototype("pdwait", "int (*)(int, int *, int, struct __wrusage *, siginfo_t *)");
        Prototype("wait6", "pid_t (*)(idtype_t, long, int *, int, struct __wrusage *, siginfo_t *)");
        Check("idtype_t and id_t as the C# code passes them (int, long)", "sizeof(idtype_t) == 4 && sizeof(id_t) == 8");
        Prototype("kqueue", "int (*)(void)");
        Prototype("kevent", "int (*)(int, const struct kevent *, int, struct kevent *, int, const struct timespec *)");
        string nfds = CType(typeof(FreeBsdLibc).GetMethod(nameof(FreeBsdLibc.poll), BindingFlags.Static | BindingFlags.NonPublic)!.GetParameters()[1].ParameterType);
        Prototype("poll", $"int (*)(struct pollfd *, {nfds}, int)");
        Check($"nfds_t is what FreeBsdLibc.poll passes ({nfds})", $"sizeof(nfds_t) == sizeof({nfds})");
        Prototype("close", "int (*)(int)");
        Prototype("fcntl", "int (*)(int, int, ...)");
        Prototype("fstat", "int (*)(int, struct stat *)");
        Prototype("getrlimit", "int (*)(int, struct rlimit *)");
        Check("rlim_t is the 64 bits Libc.getrlimit reads", "sizeof(rlim_t) == 8");
        Prototype("getpid", "pid_t (*)(void)");
        Prototype("getuid", "uid_t (*)(void)");
        Prototype("getgid", "gid_t (*)(void)");
        Check("pid_t, uid_t and gid_t are 32 bits", "sizeof(pid_t) == 4 && sizeof(uid_t) == 4 && sizeof(gid_t) == 4");
        Prototype("sysconf", "long (*)(int)");
        return checks;
    }

    /// <summary>The C type a P/Invoke's integer parameter is passed as (64-bit FreeBSD).</summary>
    private static string CType(Type type) =>
        type == typeof(int) ? "int" : type == typeof(uint) ? "unsigned int" : type == typeof(long) ? "long"
        : type == typeof(ulong) || type == typeof(nuint) ? "unsigned long" : throw new ArgumentException(type.Name);

    private static string? s_clang;

    /// <summary>clang with the FreeBSD target: clang-22 (Debian 12: apt-get install clang-22; .ci/run installs it), or a clang on PATH.</summary>
    private static string Clang()
    {
        if (s_clang is not null)
            return s_clang;
        foreach (string candidate in new[] { "clang-22", "clang-21", "clang-20", "clang-19", "clang" })
        {
            if (Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(dir => File.Exists(Path.Combine(dir, candidate))))
                return s_clang = candidate;
        }
        Assert.Ignore("no clang here (Debian 12: apt-get install clang-22; .ci/run installs it): FreeBSD's ABI is not checked");
        return "";
    }

    private static string NativeDirectory => SourceTree.Native;
    private static string AbiDirectory => Path.Combine(SourceTree.Root, "src", "Procdesc.Tests", "native", "freebsd-abi");
    private static string Sysroot => Path.Combine(AbiDirectory, "sysroot");
}
