using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Procdesc;

/// <summary>
/// The worker's side: reads the command line <see cref="PdWorker.Start"/> built, puts the
/// application's own startup hooks back, enters the sandbox where it is entered from inside
/// (FreeBSD), and runs the entry with its channel. It runs before anything else of the
/// application, so it loads and compiles as little as it can: the rare paths (errors, FreeBSD's
/// sandbox) are methods of their own, which the common path never compiles.
/// </summary>
internal static class WorkerHost
{
    /// <summary>Where the entry's arguments start: marker, protocol, the entry (<see cref="WorkerEntry.ArgumentCount"/>), sandbox level.</summary>
    private const int EntryAt = 2, LevelAt = EntryAt + WorkerEntry.ArgumentCount, ArgumentsAt = LevelAt + 1;

    /// <summary>The protocol of the command line: <see cref="PdWorker.Start"/> and this must agree.</summary>
    internal const string Protocol = "2";

    /// <summary>Runs the entry; its result is the process's exit code.</summary>
    /// <param name="args">From the marker on: marker, protocol, the entry, sandbox level, the entry's arguments.</param>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(WorkerEntry.TrimmingNote)]
    internal static unsafe int Run(IReadOnlyList<string> args)
    {
        Environment.SetEnvironmentVariable("DOTNET_STARTUP_HOOKS", Environment.GetEnvironmentVariable(PdWorker.SavedHooksVariable));
        Environment.SetEnvironmentVariable(PdWorker.SavedHooksVariable, null);

        WorkerEntry? entry = args.Count >= ArgumentsAt && args[1] == Protocol ? WorkerEntry.FromArguments(args, EntryAt) : null;
        if (entry is null || WorkerEntry.Digits(args[LevelAt]) is not int levelBits)
            return Fail("the worker's command line is not one this version of Procdesc writes");
        // Loaded before any sandbox: in capability mode nothing can be opened by name any more.
        delegate*<WorkerContext, int> run = entry.ResolvePointer(out string why);
        if (run == null)
            return Fail(why);
        var level = (SandboxLevel)levelBits;
        if ((level & SandboxLevel.CapabilityMode) != 0 && EnterCapabilityMode() is { } failure)
            return Fail(failure);

        string[] arguments = new string[args.Count - ArgumentsAt];
        for (int i = 0; i < arguments.Length; i++)
            arguments[i] = args[ArgumentsAt + i];
        using var channel = new Socket(new SafeSocketHandle(PdWorker.ChannelFd, ownsHandle: true));
        try
        {
            return run(new WorkerContext(channel, arguments, level));
        }
        catch (Exception e)
        {
            return Unhandled(entry, e);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string? EnterCapabilityMode() =>
        HostBackend.Current.EnterSandbox() == 0 ? null : $"cap_enter: {PdSyscall.GetLastError()}";

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Unhandled(WorkerEntry entry, Exception e)
    {
        Console.Error.WriteLine($"procdesc worker {entry.TypeName}.{entry.MethodName}: unhandled exception: {e}");
        return PdWorker.UnhandledExceptionExitCode;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Fail(string why)
    {
        Console.Error.WriteLine($"procdesc worker: {why}");
        return PdWorker.StartFailureExitCode;
    }
}
