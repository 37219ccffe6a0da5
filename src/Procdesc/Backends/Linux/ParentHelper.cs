using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSockets;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>
/// The helper parent (src/native/procdesc_parent.c): a small process of the library's that creates
/// children on request and runs waitid for them, so that they are not children of this program.
/// Used where a foreign reaper is known — this process is pid 1 (a container: .NET's runtime then
/// reaps every child), or SIGCHLD is ignored (the kernel then reaps them) — because after exec a
/// child's exit raises SIGCHLD again (contract §10 L1) and such a reaper takes its status, which
/// kernels before 6.15 do not keep. A helper's child is reaped only when the library asks, so every
/// row of the contract holds as for a direct child, with rusage, except what a different parent
/// changes: the child's getppid() is the helper, and the caller's own waitpid(pid) answers ECHILD.
/// PROCDESC_LINUX_PARENT=helper uses it for every child, =direct never.
/// </summary>
/// <remarks>
/// The helper is started at the first such pdfork, from the spawner thread with the death signal,
/// so it dies with this process; its children made without PD_DAEMON die with it. Requests and
/// replies travel on one SOCK_SEQPACKET socket (the library's end placed high, like its other
/// descriptors); one reader thread hands each reply to the thread that waits for it.
/// </remarks>
internal sealed unsafe class ParentHelper(OwnDescriptors own, SpawnerThread spawner)
{
    private enum Choice { Auto, Always, Never }

    private static readonly Choice s_choice = Environment.GetEnvironmentVariable("PROCDESC_LINUX_PARENT") switch
    {
        "helper" => Choice.Always,
        "direct" => Choice.Never,
        _ => Choice.Auto,
    };

    private sealed class Pending
    {
        public readonly ManualResetEventSlim Done = new(false, spinCount: 0);
        public ParentWaited Waited;
        public ParentSpawned Spawned;
        public int Fd = -1;
    }

    private const int MaxPassed = 253; // SCM_MAX_FD

    private readonly ConcurrentDictionary<uint, Pending> _pending = new();
    private readonly OpenDescriptorList _descriptors = new(own);
    private readonly object _startGate = new();
    private int _socket = -1;
    private int _started; // 0 not (yet, or again), 1 running, -1 cannot be started here
    private uint _lastId;

    /// <summary>Why the helper could not be started or is gone (for `procdesc info`), or null.</summary>
    internal string? Problem { get; private set; }

    /// <summary>Whether the next child should be the helper's: always or never when PROCDESC_LINUX_PARENT
    /// says so, else when a foreign reaper is known now.</summary>
    internal static bool Wanted => s_choice switch
    {
        Choice.Always => true,
        Choice.Never => false,
        _ => s_isPid1 || SigchldIgnored(),
    };

    // A process's pid never changes: asked once, not on every pdfork. SIGCHLD's disposition can,
    // so SigchldIgnored is asked each time (one system call).
    private static readonly bool s_isPid1 = Libc.getpid() == 1;

    /// <summary>True when every child must be the helper's (PROCDESC_LINUX_PARENT=helper).</summary>
    internal static bool Forced => s_choice == Choice.Always;

    private static bool SigchldIgnored()
    {
        // The kernel's struct sigaction: handler, flags, restorer, mask.
        ulong* action = stackalloc ulong[4];
        if (Libc.syscall(SYS_rt_sigaction, (int)Signum.SIGCHLD, 0, (long)action, 8, 0) != 0)
            return false;
        const ulong SIG_IGN = 1, SA_NOCLDWAIT = 2;
        return action[0] == SIG_IGN || (action[1] & SA_NOCLDWAIT) != 0;
    }

    /// <summary>Creates <paramref name="child"/> as the helper's child: 0 with the caller's new
    /// descriptor (close-on-exec) and the pid, or a positive errno (ENOSYS when there is no helper).
    /// <paramref name="sandboxRuleset"/>: -1, or the Landlock ruleset the child enforces (passed last).</summary>
    internal int Spawn(PdChild child, IReadOnlyList<string> environment, bool daemon, int sandboxRuleset, out int pidfd, out int pid)
    {
        pidfd = -1;
        pid = 0;
        if (!EnsureStarted())
            return (int)Errno.ENOSYS;
        // What a child of this program would inherit: every descriptor without close-on-exec (under
        // its own number, unless the request puts another there) — or only 0-2 with
        // WithoutOtherDescriptors — and the working directory.
        var map = new List<(int ChildFd, int ParentFd)>(child.FdMap);
        var targets = new HashSet<int>(child.FdMap.Select(m => m.ChildFd));
        bool listed = _descriptors.TryForEach(fd =>
        {
            if (child.ClosesOtherDescriptors && fd > 2)
                return;
            int flags = Libc.fcntl(fd, Libc.F_GETFD, 0);
            if (flags >= 0 && (flags & Libc.FD_CLOEXEC) == 0 && !targets.Contains(fd))
                map.Add((fd, fd)); // the library's own descriptors are all close-on-exec
        }, out int listError);
        if (!listed)
            return listError;
        int sandbox = sandboxRuleset >= 0 ? 1 : 0;
        if (map.Count + sandbox > MaxPassed)
            return (int)Errno.EMFILE; // one message carries at most SCM_MAX_FD descriptors
        string workingDirectory = child.WorkingDirectory ?? Directory.GetCurrentDirectory();
        // And the calling thread's credentials, which the child takes on (a set-uid program that
        // dropped privileges after the helper started must not give its children the old ones).
        uint* ids = stackalloc uint[6];
        int groupCount = Libc.getgroups(0, null);
        uint[] groups = new uint[Math.Max(groupCount, 0)];
        fixed (uint* g = groups)
        {
            if (Libc.getresuid(ids, ids + 1, ids + 2) != 0 || Libc.getresgid(ids + 3, ids + 4, ids + 5) != 0
                || groupCount < 0 || Libc.getgroups(groups.Length, g) != groupCount)
                return Marshal.GetLastPInvokeError();
        }
        ulong defaultSignals = SpawnRequestBlock.DefaultSignalsOf(child);
        var pending = new Pending();
        uint id = Register(pending);
        var strings = new List<string>(1 + child.Arguments.Length + environment.Count + 1) { child.Path };
        strings.AddRange(child.Arguments);
        strings.AddRange(environment);
        strings.Add(workingDirectory);
        int mapCount = map.Count, fdCount = mapCount + sandbox;
        int size = sizeof(ParentSpawn) + (mapCount + groups.Length) * sizeof(int);
        foreach (string s in strings)
            size += Encoding.UTF8.GetByteCount(s) + 1;
        byte[] message = new byte[size];
        int control = fdCount == 0 ? 0 : ControlSpace(fdCount);
        byte* controlBuffer = stackalloc byte[Math.Max(control, 1)];
        fixed (byte* m = message)
        {
            var spawn = new ParentSpawn
            {
                Header = new ParentHeader { Kind = ParentMessages.Spawn, Id = id },
                Daemon = daemon ? 1 : 0,
                Argc = child.Arguments.Length,
                Envc = environment.Count,
                FdCount = fdCount,
                HasCwd = 1,
                Groups = groups.Length,
                Sandbox = sandbox,
                NoNewPrivs = child.Sandbox is null ? 0 : 1,
                ScriptFallback = child.FallsBackToShell ? 1 : 0,
                DefaultSignalsLow = (uint)defaultSignals,
                DefaultSignalsHigh = (uint)(defaultSignals >> 32),
            };
            for (int i = 0; i < 6; i++)
                spawn.Ids[i] = ids[i];
            *(ParentSpawn*)m = spawn;
            int* childFds = (int*)(m + sizeof(ParentSpawn));
            for (int i = 0; i < mapCount; i++)
                childFds[i] = map[i].ChildFd;
            uint* groupList = (uint*)(childFds + mapCount);
            for (int i = 0; i < groups.Length; i++)
                groupList[i] = groups[i];
            int at = sizeof(ParentSpawn) + (mapCount + groups.Length) * sizeof(int);
            foreach (string s in strings)
            {
                at += Encoding.UTF8.GetBytes(s, message.AsSpan(at));
                message[at++] = 0;
            }
            if (fdCount > 0)
            {
                var header = (ControlHeader*)controlBuffer;
                *header = new ControlHeader { Length = (nuint)ControlLength(fdCount), Level = SOL_SOCKET, Type = SCM_RIGHTS };
                int* passed = (int*)(controlBuffer + sizeof(ControlHeader));
                for (int i = 0; i < mapCount; i++)
                    passed[i] = map[i].ParentFd;
                if (sandbox == 1)
                    passed[mapCount] = sandboxRuleset;
            }
            int sent = Send(m, size, fdCount > 0 ? controlBuffer : null, control);
            if (sent != 0)
            {
                _pending.TryRemove(id, out _);
                return sent == (int)Errno.EBADF ? (int)Errno.EBADF : sent;
            }
        }
        pending.Done.Wait();
        if (pending.Spawned.Error != 0)
            return pending.Spawned.Error;
        pid = pending.Spawned.Pid;
        if (pending.Fd < 0)
        {
            // The child exists but its descriptor did not arrive (no descriptor free here): kill it
            // through its pid — safe, since the helper keeps its zombie until asked — and reap it.
            Libc.syscall(SYS_kill, pid, (int)Signum.SIGKILL, 0, 0, 0);
            Waitid(pid, WEXITED, out _, out _, out _);
            pid = 0;
            return (int)Errno.EMFILE;
        }
        pidfd = pending.Fd;
        return 0;
    }

    /// <summary>waitid(P_PID, <paramref name="pid"/>, <paramref name="options"/> | __WALL) run by the
    /// helper for one of its children: 0 or -1 with <paramref name="errno"/>, as waitid answers.</summary>
    internal int Waitid(int pid, int options, out LinuxSiginfo info, out NativeRusage usage, out int errno)
    {
        info = default;
        usage = default;
        if (Volatile.Read(ref _started) != 1)
        {
            errno = (int)Errno.ECHILD; // the helper is gone, and the statuses of its children with it
            return -1;
        }
        var pending = new Pending();
        uint id = Register(pending);
        var request = new ParentWaitid { Header = new ParentHeader { Kind = ParentMessages.Waitid, Id = id }, Pid = pid, Options = options };
        int sent = Send((byte*)&request, sizeof(ParentWaitid), null, 0);
        if (sent != 0)
        {
            _pending.TryRemove(id, out _);
            errno = sent;
            return -1;
        }
        pending.Done.Wait();
        ParentWaited waited = pending.Waited;
        errno = waited.Error;
        info = new LinuxSiginfo { Signo = waited.Result == 0 && waited.Pid != 0 ? (int)Signum.SIGCHLD : 0, Code = waited.Code, Pid = waited.Pid, Uid = waited.Uid, Status = waited.Status };
        usage = waited.Usage;
        return waited.Result;
    }

    private uint Register(Pending pending)
    {
        uint id;
        do
            id = Interlocked.Increment(ref _lastId);
        while (!_pending.TryAdd(id, pending));
        if (Volatile.Read(ref _started) != 1 && _pending.TryRemove(id, out _))
            Fail(pending);
        return id;
    }

    private int Send(byte* message, int size, byte* control, int controlLength)
    {
        if (!own.IsOwn(_socket))
            return (int)Errno.ECHILD; // swept: the number may be the caller's now, never write to it
        var vector = new IoVector { Base = message, Length = (nuint)size };
        var header = new MessageHeader { Vectors = &vector, VectorCount = 1, Control = control, ControlLength = (nuint)controlLength };
        while (true)
        {
            if (sendmsg(_socket, &header, MSG_NOSIGNAL) >= 0)
                return 0;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != (int)Errno.EINTR)
                return errno is (int)Errno.EPIPE or (int)Errno.ECONNRESET ? (int)Errno.ECHILD : errno;
        }
    }

    private bool EnsureStarted()
    {
        if (Volatile.Read(ref _started) != 0)
            return _started == 1;
        lock (_startGate)
        {
            if (_started != 0)
                return _started == 1;
            _started = Start() ? 1 : -1;
            return _started == 1;
        }
    }

    private bool Start()
    {
        string? path = Locate();
        if (path is null)
        {
            Problem = "procdesc-parent not found next to the library";
            return false;
        }
        int* pair = stackalloc int[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        {
            Problem = $"socketpair: errno {Marshal.GetLastPInvokeError()}";
            return false;
        }
        int mine = own.Adopt(pair[0], out _);
        int theirs = pair[1];
        if (mine < 0)
        {
            Libc.close(theirs);
            Problem = $"no descriptor for the helper's socket: errno {Marshal.GetLastPInvokeError()}";
            return false;
        }
        int error, helperPidfd, helperPid;
        using (var request = new SpawnRequestBlock(PdChild.Exec(path, ["procdesc-parent", "3"], []).WithFd(3, theirs)))
        {
            // Dies with this process: made by the spawner thread, with the death signal.
            request.Request->DeathSignal = (int)Signum.SIGKILL;
            request.Request->ExpectedParent = Libc.getpid();
            error = spawner.Spawn(request.Request, out helperPidfd, out helperPid);
        }
        Libc.close(theirs);
        if (error != 0)
        {
            own.Close(mine);
            Problem = $"starting {path}: errno {error}";
            return false;
        }
        Libc.close(helperPidfd); // a zombie of it, if it ever dies first, is reaped by this process's end
        _socket = mine;
        new Thread(ReadReplies) { IsBackground = true, Name = "Procdesc helper parent" }.Start();
        return true;
    }

    private static string? Locate()
    {
        // Next to the application (project builds, tool installs), or where a package's native assets go.
        string rid = $"linux-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
        foreach (string dir in new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native") })
        {
            string candidate = Path.Combine(dir, "procdesc-parent");
            if (!File.Exists(candidate))
                continue;
            // A package's files may come without the execute bit.
            if ((File.GetUnixFileMode(candidate) & UnixFileMode.UserExecute) == 0)
            {
                try { File.SetUnixFileMode(candidate, File.GetUnixFileMode(candidate) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            }
            return candidate;
        }
        return null;
    }

    private void ReadReplies()
    {
        int space = ControlSpace(1);
        byte* buffer = stackalloc byte[256];
        byte* control = stackalloc byte[space];
        while (own.IsOwn(_socket)) // swept: the number may be the caller's now, never read from it
        {
            var vector = new IoVector { Base = buffer, Length = 256 };
            var header = new MessageHeader { Vectors = &vector, VectorCount = 1, Control = control, ControlLength = (nuint)space };
            nint n = recvmsg(_socket, &header, MSG_CMSG_CLOEXEC);
            if (n < 0 && Marshal.GetLastPInvokeError() == (int)Errno.EINTR)
                continue;
            if (n < sizeof(ParentHeader))
                break; // the helper is gone (or the socket was swept)
            int fd = -1;
            if (header.ControlLength >= (nuint)ControlLength(1))
            {
                var c = (ControlHeader*)control;
                if (c->Level == SOL_SOCKET && c->Type == SCM_RIGHTS)
                    fd = *(int*)(control + sizeof(ControlHeader));
            }
            var reply = (ParentHeader*)buffer;
            if (!_pending.TryRemove(reply->Id, out Pending? pending))
            {
                if (fd >= 0)
                    Libc.close(fd);
                continue;
            }
            if (reply->Kind == ParentMessages.Spawned && n >= sizeof(ParentSpawned))
                pending.Spawned = *(ParentSpawned*)buffer;
            else if (reply->Kind == ParentMessages.Waited && n >= sizeof(ParentWaited))
                pending.Waited = *(ParentWaited*)buffer;
            pending.Fd = fd;
            pending.Done.Set();
        }
        // The helper is gone (killed, or its socket swept — the helper then ends, and its children
        // made without PD_DAEMON with it): their statuses are lost (ECHILD). The next pdfork that
        // wants a helper starts a new one.
        lock (_startGate)
        {
            own.Close(_socket);
            _socket = -1;
            Problem = "the helper parent was gone once: its children's statuses went with it";
            Volatile.Write(ref _started, 0);
        }
        foreach (uint id in _pending.Keys)
            if (_pending.TryRemove(id, out Pending? pending))
                Fail(pending);
    }

    private static void Fail(Pending pending)
    {
        pending.Spawned = new ParentSpawned { Error = (int)Errno.ECHILD };
        pending.Waited = new ParentWaited { Result = -1, Error = (int)Errno.ECHILD };
        pending.Done.Set();
    }
}
