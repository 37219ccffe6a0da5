using System.Collections;
using System.Globalization;
using System.Net.Sockets;
using Mono.Unix.Native;
using Procdesc.Interop;

namespace Procdesc;

/// <summary>
/// Capsicum-style workers: a static method of this application run in a child made by pdfork —
/// kill-on-close, POLLHUP at exit, pdwait4's status and resource usage all hold — with a connected
/// Unix socket between the two, optionally inside a sandbox. The worker is a fresh runtime: this
/// application started again (a forked .NET child cannot go on running managed code), which reaches
/// the entry through a startup hook, so Main needs no change, or through <see cref="RunIfWorker"/>
/// where startup hooks are off (trimmed or NativeAOT applications).
/// </summary>
/// <example>
/// <code>
/// static int Parse(WorkerContext context) { /* read context.Channel, answer on it */ return 0; }
/// using Worker worker = PdWorker.Start(Parse, new WorkerOptions { Sandbox = SandboxPolicy.Default });
/// worker.Channel.Send(input);
/// </code>
/// </example>
public static class PdWorker
{
    /// <summary>The worker's descriptor number for its end of the channel.</summary>
    public const int ChannelFd = 3;

    /// <summary>The exit code of a worker whose entry threw (the exception's text goes to the worker's stderr).</summary>
    public const int UnhandledExceptionExitCode = 70;

    /// <summary>The exit code of a worker that could not reach its entry (not found in the new
    /// runtime, or the sandbox could not be entered); the reason goes to the worker's stderr.</summary>
    public const int StartFailureExitCode = 71;

    /// <summary>The first argument of a worker's command line.</summary>
    internal const string Marker = "--procdesc-worker";
    internal const string SavedHooksVariable = "PROCDESC_WORKER_SAVED_STARTUP_HOOKS";
    private const string HooksVariable = "DOTNET_STARTUP_HOOKS";

    private static volatile bool s_mainCooperates;

    /// <summary>
    /// Starts <paramref name="entry"/> in a worker and returns at once (the worker's runtime goes on
    /// starting; the first message on <see cref="Worker.Channel"/> waits for it).
    /// </summary>
    /// <param name="entry">A static method <c>int M(WorkerContext)</c> of this application; its
    /// result is the worker's exit code.</param>
    /// <param name="options">Arguments, descriptors, the sandbox; null for none.</param>
    /// <exception cref="ArgumentException">The entry is not a static method of a named type of this
    /// application, an argument holds a NUL character, or a descriptor is mapped onto the channel's
    /// number. Nothing is started.</exception>
    /// <exception cref="InvalidOperationException">Startup hooks are off in this application and its Main
    /// has not called <see cref="RunIfWorker"/>; or this process cannot be started again.</exception>
    /// <exception cref="ProcessDescriptorException">The worker could not be created: EOPNOTSUPP when the
    /// kernel cannot reach the sandbox's <see cref="SandboxPolicy.Minimum"/>, ENOENT for an allowed
    /// path that does not exist, EMFILE, EAGAIN… Nothing is left behind.</exception>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(WorkerEntry.TrimmingNote)]
    public static Worker Start(Func<WorkerContext, int> entry, WorkerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        options ??= new WorkerOptions();
        WorkerEntry target = WorkerEntry.From(entry);
        if (options.Descriptors.Any(d => d.ChildFd == ChannelFd || d.ChildFd < 0 || d.ParentFd < 0))
            throw new ArgumentException("WorkerOptions.Descriptors: the worker's descriptor 3 is its channel, and numbers are not negative.", nameof(options));
        if (!StartupHooksEnabled && !s_mainCooperates)
            throw new InvalidOperationException(
                "Startup hooks are off in this application (trimmed, NativeAOT, or System.StartupHookProvider.IsSupported=false): " +
                "call PdWorker.RunIfWorker(args, out int code) on the first line of Main, and return code when it answers true.");

        SandboxLevel level = SandboxLevel.None;
        SandboxPolicy? childPolicy = null;
        if (options.Sandbox is { } policy)
        {
            if (HostBackend.Current.SelfSandbox != SandboxLevel.None)
                level = HostBackend.Current.SelfSandbox; // entered by the worker itself (FreeBSD)
            else
            {
                // The runtime starts inside the sandbox: it reads its own files, /proc and /sys.
                childPolicy = policy;
                foreach (string path in s_runtimeReads.Value)
                    childPolicy = childPolicy.AllowRead(path);
                level = HostBackend.Current.ChildSandbox;
            }
        }

        (string host, string[] hostArgv) = WorkerLaunch.Host;
        var argv = new List<string>(hostArgv.Length + 8 + options.Arguments.Count);
        argv.AddRange(hostArgv);
        argv.AddRange([Marker, WorkerHost.Protocol, .. target.ToArguments(), ((int)level).ToString(CultureInfo.InvariantCulture)]);
        argv.AddRange(options.Arguments);

        int[] pair = new int[2];
        if (SocketPair(pair) != 0)
            throw ProcessDescriptorException.FromLastError("socketpair (worker channel)");
        ProcessDescriptor process;
        try
        {
            PdChild child = PdChild.Exec(host, argv, Environment(options.Sandbox is not null)).WithFd(ChannelFd, pair[1]);
            foreach ((int childFd, int parentFd) in options.Descriptors)
                child = child.WithFd(childFd, parentFd);
            if (childPolicy is not null)
                child = child.WithSandbox(childPolicy);
            process = ProcessDescriptor.Fork(child, PdFlags.CloExec | (options.Daemon ? PdFlags.Daemon : PdFlags.None));
        }
        catch
        {
            Libc.close(pair[0]);
            throw;
        }
        finally
        {
            Libc.close(pair[1]);
        }
        return new Worker(process, new Socket(new SafeSocketHandle(pair[0], ownsHandle: true)));
    }

    /// <summary>
    /// Runs the worker's entry when this process is a worker; call it on the first line of Main
    /// where startup hooks are off (where they are on, the hook has already run the entry and
    /// ended the process before Main).
    /// </summary>
    /// <param name="args">Main's arguments.</param>
    /// <param name="exitCode">The entry's result, for Main to return, when this process is a worker.</param>
    /// <returns>True in a worker (Main returns <paramref name="exitCode"/> at once); false otherwise.</returns>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(WorkerEntry.TrimmingNote)]
    public static bool RunIfWorker(string[] args, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(args);
        s_mainCooperates = true;
        if (args.Length > 0 && args[0] == Marker)
        {
            exitCode = WorkerHost.Run(args);
            return true;
        }
        exitCode = 0;
        return false;
    }

    /// <summary>Files outside the runtime's directories it reads while starting: CPU, memory and cgroup
    /// facts, time zones, where an apphost finds .NET (/etc/dotnet) (measured with strace under Landlock on Linux 6.18).</summary>
    private static readonly string[] RuntimeSystemFiles =
        ["/proc", "/etc/dotnet", "/sys/devices/system/cpu", "/sys/devices/system/node", "/sys/fs/cgroup", "/usr/share/zoneinfo", "/etc/localtime", "/usr/share/icu"];

    /// <summary>What a sandboxed worker's runtime may read, found once: the application's and the
    /// runtime's directories do not move while this process runs.</summary>
    private static readonly Lazy<string[]> s_runtimeReads =
        new(() => WorkerLaunch.RuntimeDirectories().Concat(RuntimeSystemFiles).Where(p => Path.Exists(p)).ToArray());

    private static bool StartupHooksEnabled =>
        !AppContext.TryGetSwitch("System.StartupHookProvider.IsSupported", out bool supported) || supported;

    /// <summary>This process's environment, with the startup hook that reaches the entry first (the
    /// worker puts the application's own hooks back before the entry runs).</summary>
    private static List<string> Environment(bool sandboxed)
    {
        var env = new List<string>();
        string? hooks = null;
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            string name = (string)e.Key;
            if (name == HooksVariable)
                hooks = (string?)e.Value;
            else if (name != SavedHooksVariable && !(sandboxed && name == "DOTNET_EnableDiagnostics"))
                env.Add($"{name}={e.Value}");
        }
        env.Add($"{HooksVariable}=Procdesc{(string.IsNullOrEmpty(hooks) ? "" : ":" + hooks)}");
        if (hooks is not null)
            env.Add($"{SavedHooksVariable}={hooks}");
        // Inside the sandbox the debugger pipe and the diagnostics socket (files in /tmp) cannot be made.
        if (sandboxed)
            env.Add("DOTNET_EnableDiagnostics=0");
        return env;
    }

    private static unsafe int SocketPair(int[] pair)
    {
        fixed (int* fds = pair)
            return LinuxSockets.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, fds) == 0
                ? 0
                : Backends.LastError.FailFromLastPInvoke();
    }
}
