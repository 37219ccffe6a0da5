using Procdesc;

/// <summary>
/// The runtime's startup hook (DOTNET_STARTUP_HOOKS=Procdesc, set only in a worker's environment):
/// runs before the application's Main and, in a worker, ends the process with the entry's result,
/// so that Main never runs there. Outside a worker it does nothing. The runtime finds it by this
/// exact name, outside any namespace.
/// </summary>
internal static class StartupHook
{
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(Procdesc.WorkerEntry.TrimmingNote)]
    public static void Initialize()
    {
        string[] args = Environment.GetCommandLineArgs();
        if (args.Length > 1 && args[1] == PdWorker.Marker)
            Environment.Exit(WorkerHost.Run(args[1..]));
    }
}
