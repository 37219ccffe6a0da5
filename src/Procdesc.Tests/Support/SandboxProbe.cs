using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Procdesc.Tests.Support;

/// <summary>
/// What the sandbox tests try, inside a sandbox and outside it: the attempts of
/// native/sandbox_probe.c (for exec'd programs), made here by a worker through the same system
/// calls, each answered as "name errno" (0: it worked). Also the listeners those attempts aim at.
/// </summary>
internal sealed class SandboxProbe : IDisposable
{
    internal static readonly string[] Attempts = ["open_passwd", "create_tmp", "tcp_connect", "tcp_bind", "abstract_connect", "signal_parent", "passed_fd"];

    private readonly TcpListener _tcp = new(IPAddress.Loopback, 0);
    private readonly Socket _abstract = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    internal SandboxProbe()
    {
        _tcp.Start();
        AbstractName = $"procdesc-sandbox-test-{Environment.ProcessId}-{Guid.NewGuid():N}";
        _abstract.Bind(new UnixDomainSocketEndPoint("\0" + AbstractName));
        _abstract.Listen();
    }

    internal int TcpPort => ((IPEndPoint)_tcp.LocalEndpoint).Port;
    internal string AbstractName { get; }

    /// <summary>The arguments of sandbox_probe (and of <see cref="Run"/>): TMPDIR PORT NAME PARENT FD.</summary>
    internal string[] Arguments(int passedFd) =>
        [Path.GetTempPath().TrimEnd('/'), TcpPort.ToString(), AbstractName, Environment.ProcessId.ToString(), passedFd.ToString()];

    /// <summary>The native probe, built beside the tests.</summary>
    internal static string NativeProbe => Path.Combine(AppContext.BaseDirectory, "sandbox_probe");

    /// <summary>"name errno" lines → name → errno.</summary>
    internal static Dictionary<string, int> Parse(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(' '))
            .Select(l => l.TrimStart('x').Split(' ')).ToDictionary(p => p[0], p => int.Parse(p[1]));

    /// <summary>What the sandbox must answer for each attempt on this kernel: the kernel's errno where
    /// <paramref name="level"/> includes the restriction, success where it does not.</summary>
    internal static Dictionary<string, int> Expected(SandboxLevel level)
    {
        const int EACCES = 13, EPERM = 1;
        bool fs = level.HasFlag(SandboxLevel.FileSystem), tcp = level.HasFlag(SandboxLevel.TcpNetwork);
        return new()
        {
            ["open_passwd"] = fs ? EACCES : 0,
            ["create_tmp"] = fs ? EACCES : 0,
            ["tcp_connect"] = tcp ? EACCES : 0,
            ["tcp_bind"] = tcp ? EACCES : 0,
            ["abstract_connect"] = level.HasFlag(SandboxLevel.AbstractUnixSockets) ? EPERM : 0,
            ["signal_parent"] = level.HasFlag(SandboxLevel.Signals) ? EPERM : 0,
            ["passed_fd"] = 0,
        };
    }

    /// <summary>The attempts, made in this process (a worker's entry); same output as the native probe.</summary>
    internal static unsafe string Run(IReadOnlyList<string> args)
    {
        var output = new StringBuilder();
        void Report(string name, int result) => output.Append($"{name} {(result < 0 ? CLibc.Errno : 0)}\n");

        int fd = CLibc.open("/etc/passwd", CLibc.O_CLOEXEC, 0);
        Report("open_passwd", fd);
        if (fd >= 0) CLibc.close(fd);

        string file = $"{args[0]}/probe-{Environment.ProcessId}";
        fd = CLibc.open(file, 0x1 | 0x40 | 0x80 | CLibc.O_CLOEXEC, 0x180); // O_WRONLY|O_CREAT|O_EXCL, 0600
        Report("create_tmp", fd);
        if (fd >= 0) { CLibc.close(fd); CLibc.unlink(file); }

        Report("tcp_connect", Tcp(int.Parse(args[1]), bind: false));
        Report("tcp_bind", Tcp(0, bind: true));

        byte* unix = stackalloc byte[110];
        new Span<byte>(unix, 110).Clear();
        unix[0] = 1; // AF_UNIX; sun_path[0] = 0: the abstract namespace
        int length = Encoding.ASCII.GetBytes(args[2], new Span<byte>(unix + 3, 100));
        int s = CLibc.socket(1, 1 | CLibc.SOCK_CLOEXEC, 0);
        Report("abstract_connect", CLibc.connect(s, unix, 3 + length));
        CLibc.close(s);

        Report("signal_parent", CLibc.kill(int.Parse(args[3]), 23)); // SIGURG: ignored by default
        Report("passed_fd", CLibc.TryWriteText(int.Parse(args[4]), "x") ? 0 : -1);
        return output.ToString();

        static int Tcp(int port, bool bind)
        {
            byte* address = stackalloc byte[16];
            new Span<byte>(address, 16).Clear();
            address[0] = 2; // AF_INET (Linux: a 16-bit family, little-endian)
            BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(address + 2, 2), (ushort)port);
            address[4] = 127; address[7] = 1;
            int sock = CLibc.socket(2, 1 | CLibc.SOCK_CLOEXEC, 0);
            int r = bind ? CLibc.bind(sock, address, 16) : CLibc.connect(sock, address, 16);
            int saved = CLibc.Errno;
            CLibc.close(sock);
            System.Runtime.InteropServices.Marshal.SetLastPInvokeError(saved);
            return r;
        }
    }

    public void Dispose()
    {
        _tcp.Stop();
        _abstract.Dispose();
    }
}
