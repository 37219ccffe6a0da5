using System.Text.RegularExpressions;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// The library's folders call only downward: the dependency graph among them, read from the code
/// (every type a file names that another folder declares; comments and strings left out), has no
/// cycle and no arrow up the layering README's "Layout" section gives.
/// </summary>
public partial class LayeringTests
{
    // Lowest first. A folder may use its own types and those of any folder below it.
    private static readonly string[] Layers =
    [
        "Numbering",       // the hosts' numbers for signals and errno
        "Vocabulary",      // the public value types every layer speaks
        "Interop",         // P/Invokes, constants and kernel structs
        "Backends",        // the C-shaped contract, the shared store, what both backends use
        "Backends/Linux",  // the emulation
        "Backends/FreeBsd",// the native calls
        "(root)",          // PdSyscall (C-shaped API), ProcessDescriptor (object layer), HostBackend
        "Workers",         // PdWorker: workers and their sandbox, on the object layer
    ];

    [Test]
    public void FolderDependencies_PointOnlyDownward()
    {
        Dictionary<string, (string Folder, string Code)> files = ReadLibrary();
        var declaredIn = new Dictionary<string, string>();
        foreach ((string folder, string code) in files.Values)
            foreach (Match m in Declaration().Matches(code))
                declaredIn.TryAdd(m.Groups["name"].Value, folder);

        var edges = new SortedSet<string>(StringComparer.Ordinal);
        var upward = new List<string>();
        foreach ((string path, (string folder, string code)) in files)
        {
            foreach (Match m in Identifier().Matches(code))
            {
                if (!declaredIn.TryGetValue(m.Value, out string? target) || target == folder)
                    continue;
                edges.Add($"{folder} -> {target}");
                if (Rank(target) > Rank(folder))
                    upward.Add($"{path}: {m.Value} ({folder} -> {target})");
            }
        }
        TestContext.Out.WriteLine("folder dependencies (from type references):\n  " + string.Join("\n  ", edges));
        upward.Distinct().ShouldBeEmpty("every arrow points down the layering");
        foreach (string folder in files.Values.Select(f => f.Folder).Distinct())
            Layers.ShouldContain(folder, "every folder of src/Procdesc has a place in the layering");
    }

    private static int Rank(string folder) => Array.IndexOf(Layers, folder) is var i and >= 0 ? i : int.MaxValue;

    /// <summary>Every .cs file of src/Procdesc: its folder and its code without comments and strings.</summary>
    private static Dictionary<string, (string Folder, string Code)> ReadLibrary()
    {
        string library = Path.Combine(SourceTree.Root, "src", "Procdesc");
        var files = new Dictionary<string, (string, string)>();
        foreach (string file in Directory.EnumerateFiles(library, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(library, file).Replace('\\', '/');
            if (relative.StartsWith("obj/") || relative.StartsWith("bin/"))
                continue;
            string folder = Path.GetDirectoryName(relative)!.Replace('\\', '/');
            files[relative] = (folder.Length == 0 ? "(root)" : folder, Strip(File.ReadAllText(file)));
        }
        files.Count.ShouldBeGreaterThan(20);
        return files;
    }

    private static string Strip(string code) => Trivia().Replace(code, m => m.Value.StartsWith("//") || m.Value.StartsWith("/*") ? " " : "\"\"");

    [GeneratedRegex(@"\b(?:class|struct|enum|interface|record)\s+(?:(?:class|struct)\s+)?(?<name>[A-Z]\w*)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"(?<![\w.])[A-Z]\w*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@""(?:[^""]|"""")*""|""""""[\s\S]*?""""""|""(?:\\.|[^""\\\n])*""|'(?:\\.|[^'\\])'", RegexOptions.Singleline)]
    private static partial Regex Trivia();
}
