namespace Procdesc;

/// <summary>
/// How to start this application again, the way it was started: through the <c>dotnet</c> muxer
/// with the entry assembly and the same deps and runtimeconfig files (as <c>dotnet exec</c>), or
/// the apphost, single-file or NativeAOT executable itself. Host options other than those two files
/// (<c>--fx-version</c>, <c>--roll-forward</c>, <c>--additionalprobingpath</c>) are not carried over;
/// the DOTNET_* environment is, since the worker inherits this process's environment.
/// </summary>
internal static class WorkerLaunch
{
    private static readonly Lazy<(string Path, string[] Argv)> s_host = new(Find);

    /// <summary>The program and the argument vector that reach the application's Main, which
    /// the worker's own arguments follow.</summary>
    internal static (string Path, string[] Argv) Host => s_host.Value;

    /// <summary>The directories the runtime reads from to start this application: the framework, the
    /// application's own, and every directory an assembly or native library is resolved from.</summary>
    internal static IEnumerable<string> RuntimeDirectories()
    {
        var directories = new SortedSet<string>(StringComparer.Ordinal);
        void Add(string? path)
        {
            if (!string.IsNullOrEmpty(path))
                directories.Add(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
        }
        Add(AppContext.BaseDirectory);
        // The whole .NET installation (<root>/shared/Microsoft.NETCore.App/<version>/): an apphost
        // looks for the host resolver in <root>/host/fxr.
        string framework = Path.TrimEndingDirectorySeparator(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory());
        Add(Path.GetFileName(Path.GetDirectoryName(framework)) == "Microsoft.NETCore.App"
            ? Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(framework)))
            : framework);
        if (Environment.ProcessPath is { } process)
            Add(Path.GetDirectoryName(process));
        foreach (string key in (string[])["TRUSTED_PLATFORM_ASSEMBLIES", "NATIVE_DLL_SEARCH_DIRECTORIES", "APP_CONTEXT_DEPS_FILES"])
            if (AppContext.GetData(key) is string list)
                foreach (string entry in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                    Add(key == "NATIVE_DLL_SEARCH_DIRECTORIES" ? entry : Path.GetDirectoryName(entry));
        // Nested directories add nothing: a rule covers what is beneath it.
        string? kept = null;
        foreach (string directory in directories)
        {
            if (kept is not null && directory.StartsWith(kept + "/", StringComparison.Ordinal))
                continue;
            kept = directory;
            yield return directory;
        }
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000",
        Justification = "An empty Location means apphost, single-file or NativeAOT: the executable itself is started.")]
    private static (string, string[]) Find()
    {
        string process = Environment.ProcessPath
            ?? throw new InvalidOperationException("This process's executable is unknown (Environment.ProcessPath is null): a worker cannot start it again.");
        string? entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        // Apphost, single-file, NativeAOT: the executable is the application.
        if (string.IsNullOrEmpty(entry) || Path.GetFileNameWithoutExtension(process) != "dotnet")
            return (process, [process]);
        var argv = new List<string> { process, "exec" };
        // The application's deps file comes first (the framework's follow); its runtimeconfig beside it.
        string? deps = (AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string)?.Split(';', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (deps is not null && File.Exists(deps))
        {
            argv.AddRange(["--depsfile", deps]);
            string config = deps.EndsWith(".deps.json", StringComparison.Ordinal) ? deps[..^".deps.json".Length] + ".runtimeconfig.json" : "";
            if (File.Exists(config))
                argv.AddRange(["--runtimeconfig", config]);
        }
        argv.Add(entry);
        return (process, argv.ToArray());
    }
}
