using System.Globalization;
using System.Net.Sockets;

namespace Procdesc;

/// <summary>
/// The worker's side: reads the command line <see cref="PdWorker.Start"/> built, puts the
/// application's own startup hooks back, enters the sandbox where it is entered from inside
/// (FreeBSD), and runs the entry with its channel.
/// </summary>
internal static class WorkerHost
{
    /// <summary>Runs the entry; its result is the process's exit code.</summary>
    /// <param name="args">From the marker on: marker, protocol, assembly, assembly path, type, method, sandbox level, the entry's arguments.</param>
    internal static int Run(IReadOnlyList<string> args)
    {
        string? saved = Environment.GetEnvironmentVariable(PdWorker.SavedHooksVariable);
        Environment.SetEnvironmentVariable("DOTNET_STARTUP_HOOKS", saved);
        Environment.SetEnvironmentVariable(PdWorker.SavedHooksVariable, null);

        if (args.Count < 7 || args[1] != "1" || !int.TryParse(args[6], NumberStyles.None, CultureInfo.InvariantCulture, out int levelBits))
            return Fail("the worker's command line is not one this version of Procdesc writes");
        var entry = new WorkerEntry(args[2], args[3], args[4], args[5]);
        // Loaded before any sandbox: in capability mode nothing can be opened by name any more.
        Func<WorkerContext, int>? run = entry.Resolve(out string why);
        if (run is null)
            return Fail(why);
        var level = (SandboxLevel)levelBits;
        if ((level & SandboxLevel.CapabilityMode) != 0 && HostBackend.Current.EnterSandbox() != 0)
            return Fail($"cap_enter: {PdSyscall.GetLastError()}");

        using var channel = new Socket(new SafeSocketHandle(PdWorker.ChannelFd, ownsHandle: true));
        var context = new WorkerContext(channel, args.Skip(7).ToArray(), level);
        try
        {
            return run(context);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"procdesc worker {entry.TypeName}.{entry.MethodName}: unhandled exception: {e}");
            return PdWorker.UnhandledExceptionExitCode;
        }
    }

    private static int Fail(string why)
    {
        Console.Error.WriteLine($"procdesc worker: {why}");
        return PdWorker.StartFailureExitCode;
    }
}
