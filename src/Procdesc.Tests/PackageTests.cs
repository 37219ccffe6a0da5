using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Xml.Linq;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// The NuGet packages (make pack): Procdesc, the library, and Procdesc.Tool, the procdesc command.
/// The packages come from artifacts/ when `make pack` made them for this version, else they are
/// packed here into a temporary directory from the build the tests run on (dotnet pack --no-build),
/// so a plain `dotnet test` checks them too. The tool is installed with `dotnet tool install
/// --tool-path` and run; a small application is built against the library package and run.
/// Every process is bounded; nothing outside a temporary directory is written but the packs' obj/
/// (and bin/…/publish/ of the tool).
/// </summary>
[NonParallelizable]
public class PackageTests
{
    private const int PackTimeoutMs = 300_000;
    private const int InstallTimeoutMs = 180_000;
    private const int BuildTimeoutMs = 300_000;
    private const int RunTimeoutMs = 60_000;
    private const string NativeHelper = "libprocdesc_native.so";

    private static readonly string Version = typeof(PdSyscall).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    /// <summary>The runtime identifier of this machine's C helper in the package (the pack's NativeRid).</summary>
    private static readonly string HostRid =
        $"{(OperatingSystem.IsFreeBSD() ? "freebsd" : "linux")}-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";

    private string _work = "";
    private string _packages = "";
    private bool _packedHere;

    private string LibraryPackage => Path.Combine(_packages, $"Procdesc.{Version}.nupkg");
    private string ToolPackage => Path.Combine(_packages, $"Procdesc.Tool.{Version}.nupkg");

    [OneTimeSetUp]
    public void FindOrPackThePackages()
    {
        _work = Directory.CreateTempSubdirectory("procdesc-package-tests-").FullName;
        string artifacts = Path.Combine(RepositoryRoot, "artifacts");
        _packages = artifacts;
        if (File.Exists(LibraryPackage) && File.Exists(ToolPackage))
            return;

        // Not made by `make pack` (or for another version): pack the build these tests run on.
        _packages = Path.Combine(_work, "packages");
        _packedHere = true;
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        foreach (string project in new[] { "src/Procdesc/Procdesc.csproj", "src/Procdesc.Cli/Procdesc.Cli.csproj" })
        {
            var pack = Dotnet(["pack", Path.Combine(RepositoryRoot, project), "-c", configuration, "--no-build", "-nologo",
                "-v:m", "-o", _packages], RepositoryRoot, PackTimeoutMs);
            pack.ExitCode.ShouldBe(0, $"dotnet pack {project}:\n{pack.StdOut}{pack.StdErr}");
        }
        File.Exists(LibraryPackage).ShouldBeTrue(LibraryPackage);
        File.Exists(ToolPackage).ShouldBeTrue(ToolPackage);
    }

    [OneTimeTearDown]
    public void RemoveTheWorkDirectory()
    {
        if (_work.Length > 0 && Directory.Exists(_work))
            Directory.Delete(_work, recursive: true);
    }

    [Test]
    public void LibraryPackage_HoldsTheAssembly_TheHelperBuiltByTheBuild_TheConsumerTargets_AndTheReadme()
    {
        string[] files = PackageFiles(LibraryPackage);
        string crossRid = HostRid == "linux-x64" ? "linux-arm64" : HostRid == "linux-arm64" ? "linux-x64" : "";
        string cross = $"runtimes/{crossRid}/native/{NativeHelper}";
        var expected = new List<string>
        {
            "README.md",
            "buildTransitive/Procdesc.MonoPosix.targets",
            "buildTransitive/Procdesc.targets",
            "lib/net10.0/Procdesc.dll",
            "lib/net10.0/Procdesc.xml",
            $"runtimes/{HostRid}/native/{NativeHelper}",
            $"runtimes/{HostRid}/native/procdesc-parent", // the helper parent (Linux), built by the build
            "src/native/procdesc_spawn_freebsd.c",
            "src/native/procdesc_spawn_linux.c",
            "src/native/procdesc_spawn.h",
        };
        // The other Linux architecture is there when the packing machine had its cross compiler.
        if (crossRid.Length > 0 && (files.Contains(cross) || (_packedHere && CommandExists(CrossCompiler(crossRid)))))
            expected.Add(cross);

        // Exactly these: no libMonoPosixHelper, no other binary.
        files.ShouldBe(expected, ignoreOrder: true);

        using var zip = ZipFile.OpenRead(LibraryPackage);
        ElfMachine(zip, $"runtimes/{HostRid}/native/{NativeHelper}").ShouldBe(ExpectedMachine(HostRid));
        ElfMachine(zip, $"runtimes/{HostRid}/native/procdesc-parent").ShouldBe(ExpectedMachine(HostRid));
        if (files.Contains(cross))
            ElfMachine(zip, cross).ShouldBe(ExpectedMachine(crossRid));

        var metadata = Nuspec(zip).Element(Ns(zip) + "metadata")!;
        metadata.Element(Ns(zip) + "id")!.Value.ShouldBe("Procdesc");
        metadata.Element(Ns(zip) + "version")!.Value.ShouldBe(Version);
        metadata.Element(Ns(zip) + "readme")!.Value.ShouldBe("README.md");
        metadata.Element(Ns(zip) + "description")!.Value.ShouldContain("process descriptors");
        metadata.Descendants(Ns(zip) + "dependency").Select(d => d.Attribute("id")!.Value).ShouldBe(["Mono.Posix.NETStandard"]);
    }

    [Test]
    public void ThePackagedHelperAndTargets_ComeFromTheSources_AndNothingPrebuiltIsCommitted()
    {
        using var zip = ZipFile.OpenRead(LibraryPackage);
        foreach (string file in new[] { "procdesc_spawn_freebsd.c", "procdesc_spawn_linux.c", "procdesc_spawn.h" })
            Text(zip, $"src/native/{file}").ShouldBe(File.ReadAllText(Path.Combine(RepositoryRoot, "src/native", file)));
        foreach (string file in new[] { "Procdesc.targets", "Procdesc.MonoPosix.targets" })
            Text(zip, $"buildTransitive/{file}").ShouldBe(File.ReadAllText(Path.Combine(RepositoryRoot, "src/Procdesc/buildTransitive", file)));

        string[] binaries = [.. RepositoryFiles().Where(IsBinary).Select(f => Path.GetRelativePath(RepositoryRoot, f))];
        binaries.ShouldBeEmpty("binaries committed (or about to be): everything is built by the build");
    }

    [Test]
    public void ToolPackage_IsADotnetTool_WithTheHelperAndMonoPosixBesideTheAssemblies()
    {
        string[] files = PackageFiles(ToolPackage);
        const string dir = "tools/net10.0/any/";
        foreach (string file in new[] { "Procdesc.Cli.dll", "Procdesc.dll", "Mono.Posix.NETStandard.dll", NativeHelper, "DotnetToolSettings.xml" })
            files.ShouldContain(dir + file);
        files.ShouldNotContain(f => f.Contains("MonoPosixHelper", StringComparison.OrdinalIgnoreCase), "the library never needs Mono.Posix's native helper");
        files.ShouldNotContain(f => f.StartsWith(dir + "runtimes/", StringComparison.Ordinal));

        using var zip = ZipFile.OpenRead(ToolPackage);
        ElfMachine(zip, dir + NativeHelper).ShouldBe(ExpectedMachine(HostRid));
        var command = XDocument.Parse(Text(zip, dir + "DotnetToolSettings.xml")).Descendants("Command").ShouldHaveSingleItem();
        command.Attribute("Name")!.Value.ShouldBe("procdesc");
        command.Attribute("EntryPoint")!.Value.ShouldBe("Procdesc.Cli.dll");
        var metadata = Nuspec(zip).Element(Ns(zip) + "metadata")!;
        metadata.Element(Ns(zip) + "id")!.Value.ShouldBe("Procdesc.Tool");
        metadata.Descendants(Ns(zip) + "packageType").Select(t => t.Attribute("name")!.Value).ShouldContain("DotnetTool");
    }

    [Test]
    public void TheInstalledTool_RunsInfo_AndRunsAProgram()
    {
        string tools = Path.Combine(_work, "tools");
        var install = Dotnet(["tool", "install", "--tool-path", tools, "--configfile", NuGetConfig(_work, "tool.nuget.config", []),
            "--add-source", _packages, "Procdesc.Tool", "--version", Version], _work, InstallTimeoutMs, EmptyNuGetCache);
        install.ExitCode.ShouldBe(0, install.StdOut + install.StdErr);
        string procdesc = Path.Combine(tools, "procdesc");
        File.Exists(procdesc).ShouldBeTrue();

        var info = Run(procdesc, ["info"], _work, RunTimeoutMs);
        info.ExitCode.ShouldBe(0, info.StdErr);
        info.StdOut.ShouldContain("backend", Case.Insensitive);
        info.StdOut.ShouldContain(OperatingSystem.IsFreeBSD() ? "freebsd" : "linux", Case.Insensitive);

        var run = Run(procdesc, ["run", "--", "/bin/sh", "-c", "exit 3"], _work, RunTimeoutMs);
        run.ExitCode.ShouldBe(3, run.StdErr);
        run.StdErr.ShouldContain("exited with code 3");
    }

    /// <summary>The runtime finds the helper under runtimes/&lt;rid&gt;/native/ of a framework-dependent
    /// application, and Mono.Posix's assembly loads from beside it (buildTransitive/).</summary>
    [Test, OnlyOn("Linux", "reads /proc/self/maps to see which helper the application loaded")]
    public void AnApplicationUsingTheLibraryPackage_FindsTheHelperUnderRuntimes()
    {
        string output = BuildConsumer("consumer", []);
        var run = RunConsumer(output);
        run.ExitCode.ShouldBe(3, run.StdOut + run.StdErr);
        run.StdOut.ShouldContain("exited with code 3");
        HelperLine(run).ShouldBe(Path.Combine(output, "runtimes", HostRid, "native", NativeHelper));
        MonoPosixLine(run).ShouldBe(Path.Combine(output, "Mono.Posix.NETStandard.dll"));
        Directory.EnumerateFiles(output, "Mono.Posix.NETStandard.dll", SearchOption.AllDirectories).ShouldHaveSingleItem();
    }

    /// <summary>What happens on FreeBSD with a package packed on Linux, forced here: the build
    /// compiles the package's C source and puts the helper beside the application.</summary>
    [Test, OnlyOn("Linux", "reads /proc/self/maps to see which helper the application loaded")]
    public void AnApplicationUsingTheLibraryPackage_CanCompileTheHelperFromThePackagesSource()
    {
        string output = BuildConsumer("consumer-compiled", ["-p:ProcdescCompileNativeHelper=true"]);
        Directory.Delete(Path.Combine(output, "runtimes"), recursive: true); // as on FreeBSD: nothing for this system there
        var run = RunConsumer(output);
        run.ExitCode.ShouldBe(3, run.StdOut + run.StdErr);
        HelperLine(run).ShouldBe(Path.Combine(output, NativeHelper));
        MonoPosixLine(run).ShouldBe(Path.Combine(output, "Mono.Posix.NETStandard.dll"));
    }

    // ---- the application built against the library package ----

    private const string ConsumerProgram = """
        using Procdesc;

        using var child = ProcessDescriptor.Start("/bin/sh", "-c", "exit 3");
        ExitStatus status = child.Wait();
        Console.WriteLine(status);
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            if (line.Contains("libprocdesc_native"))
            {
                Console.WriteLine("helper " + line[line.IndexOf('/')..]);
                break;
            }
        }
        Console.WriteLine("mono.posix " + typeof(Mono.Unix.Native.Signum).Assembly.Location);
        return status.ExitCode;
        """;

    /// <summary>Builds a console application that references the Procdesc package (restored from
    /// the packages directory, and Mono.Posix from this machine's NuGet folder, into an empty
    /// cache); returns its output directory.</summary>
    private string BuildConsumer(string name, string[] properties)
    {
        string project = Path.Combine(_work, name);
        var build = TryBuildConsumer(project, new() { ["Program.cs"] = ConsumerProgram }, "", properties, noWarn: "CA1416");
        build.ExitCode.ShouldBe(0, build.StdOut + build.StdErr);
        string output = Path.Combine(project, "bin", "Release", "net10.0");
        // As in `make test`: the library must never need Mono.Posix's native helper.
        foreach (string helper in Directory.EnumerateFiles(output, "*MonoPosixHelper*", SearchOption.AllDirectories))
            File.Delete(helper);
        return output;
    }

    /// <summary>Writes and builds a console application on the library package: its
    /// <paramref name="files"/>, <paramref name="projectXml"/> inside the project element; warnings are errors.</summary>
    private Tool.Result TryBuildConsumer(string project, Dictionary<string, string> files, string projectXml, string[] properties, string noWarn = "")
    {
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <NoWarn>$(NoWarn);{noWarn}</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Procdesc" Version="{Version}" />
              </ItemGroup>
            {projectXml}
            </Project>
            """);
        foreach ((string file, string text) in files)
            File.WriteAllText(Path.Combine(project, file), text);
        NuGetConfig(project, "nuget.config", [_packages, NuGetPackagesFolder()]);
        return Dotnet(["build", project, "-c", "Release", "-nologo", "-v:m", .. properties], project, BuildTimeoutMs, EmptyNuGetCache);
    }

    // ---- the README's examples in a consumer's project ----

    /// <summary>
    /// Every C# example of the README, in an application set up as its "Platform attributes"
    /// section says, builds with warnings as errors: no CA1416 (nor anything else). The same
    /// examples guarded by OperatingSystem.IsLinux() build clean without the setup; unguarded and
    /// without it they get CA1416, which is what the setup is for.
    /// </summary>
    [Test]
    public void TheReadmesExamples_BuildWithoutAWarning_InAnApplicationSetUpAsTheReadmeSays()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        string setup = CodeBlocks(readme, "xml").Single(b => b.Contains("SupportedOSPlatformAttribute"));
        string[] examples = CodeBlocks(readme, "csharp");
        examples.Length.ShouldBeGreaterThanOrEqualTo(4, "the README's C# examples");

        var declared = TryBuildConsumer(Path.Combine(_work, "readme-declared"), ExampleFiles(examples, guarded: false), setup, []);
        declared.ExitCode.ShouldBe(0, declared.StdOut + declared.StdErr);

        var guarded = TryBuildConsumer(Path.Combine(_work, "readme-guarded"), ExampleFiles(examples, guarded: true), "", []);
        guarded.ExitCode.ShouldBe(0, guarded.StdOut + guarded.StdErr);

        var bare = TryBuildConsumer(Path.Combine(_work, "readme-bare"), ExampleFiles(examples, guarded: false), "", []);
        bare.ExitCode.ShouldNotBe(0);
        (bare.StdOut + bare.StdErr).ShouldContain("CA1416");
    }

    /// <summary>The contents of the README's ```LANGUAGE blocks.</summary>
    private static string[] CodeBlocks(string markdown, string language) =>
        System.Text.RegularExpressions.Regex.Matches(markdown, $"```{language}\n(.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline)
            .Select(m => m.Groups[1].Value).ToArray();

    /// <summary>Each example as a method of its own file (its using directives on top), plus a
    /// Program.cs. <paramref name="guarded"/>: as the README tells a cross-platform application —
    /// each example's class marked <c>[SupportedOSPlatform("linux")]</c>, called under
    /// <c>OperatingSystem.IsLinux()</c>.</summary>
    private static Dictionary<string, string> ExampleFiles(string[] examples, bool guarded)
    {
        var program = new System.Text.StringBuilder("Console.WriteLine(\"the README's examples compile\");\n");
        var files = new Dictionary<string, string>();
        for (int i = 0; i < examples.Length; i++)
        {
            string[] lines = examples[i].Split('\n');
            bool IsDirective(string l) => l.StartsWith("using ", StringComparison.Ordinal) && !l.StartsWith("using var", StringComparison.Ordinal)
                && !l.StartsWith("using (", StringComparison.Ordinal);
            string usings = string.Join('\n', lines.Where(IsDirective));
            string body = string.Join('\n', lines.Where(l => !IsDirective(l)));
            bool isAsync = body.Contains("await ", StringComparison.Ordinal);
            string attribute = guarded ? "[System.Runtime.Versioning.SupportedOSPlatform(\"linux\")]\n" : "";
            files[$"Example{i + 1}.cs"] = $"{usings}\n\n{attribute}internal static class ReadmeExample{i + 1}\n{{\n" +
                $"    internal static {(isAsync ? "async Task" : "void")} Run(string[] args)\n    {{\n{body}\n    }}\n}}\n";
            if (guarded)
                program.Append($"if (OperatingSystem.IsLinux())\n    {(isAsync ? "await " : "")}ReadmeExample{i + 1}.Run(args);\n");
        }
        files["Program.cs"] = program.ToString();
        return files;
    }

    private static Tool.Result RunConsumer(string output) =>
        Dotnet([Path.Combine(output, "Consumer.dll")], output, RunTimeoutMs);

    private static string HelperLine(Tool.Result run) => Line(run, "helper ");

    private static string MonoPosixLine(Tool.Result run) => Line(run, "mono.posix ");

    private static string Line(Tool.Result run, string prefix) =>
        run.StdOut.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ShouldHaveSingleItem(run.StdOut)[prefix.Length..];

    // ---- processes ----

    /// <summary>`dotnet ARGS`, with no build server or node left behind and no MSBuild settings
    /// inherited from the `dotnet test` that runs this.</summary>
    private static Tool.Result Dotnet(string[] args, string workingDirectory, int timeoutMs, string? nugetPackages = null)
    {
        string[] all = args[0] is "build" or "pack" ? [.. args, "--disable-build-servers"] : args;
        return Run("dotnet", all, workingDirectory, timeoutMs, nugetPackages);
    }

    /// <summary>An empty NuGet package folder: a package of the same version restored before (from
    /// an older pack) must not stand in for the one under test.</summary>
    private string EmptyNuGetCache => Path.Combine(_work, "nuget-packages");

    /// <summary>A NuGet.Config with only these sources (no nuget.org): the tests need no network.</summary>
    private static string NuGetConfig(string dir, string file, string[] sources)
    {
        string path = Path.Combine(dir, file);
        var packageSources = new XElement("packageSources", new XElement("clear"));
        for (int i = 0; i < sources.Length; i++)
            packageSources.Add(new XElement("add", new XAttribute("key", $"source{i}"), new XAttribute("value", sources[i])));
        new XDocument(new XElement("configuration", packageSources)).Save(path);
        return path;
    }

    /// <summary>Runs a program, bounded: on timeout its whole tree is killed and the test fails.</summary>
    internal static Tool.Result Run(string program, string[] args, string workingDirectory, int timeoutMs, string? nugetPackages = null)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToArray())
            info.Environment.Remove(key);
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // The installed tool's launcher finds the runtime these tests run on.
        if (!info.Environment.TryGetValue("DOTNET_ROOT", out string? root) || string.IsNullOrEmpty(root))
            info.Environment["DOTNET_ROOT"] = DotnetRoot();
        if (nugetPackages is not null)
            info.Environment["NUGET_PACKAGES"] = nugetPackages;

        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not finish within {timeoutMs} ms");
        }
        process.WaitForExit();
        Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(30)).ShouldBeTrue("the output closed after the exit");
        return new Tool.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string DotnetRoot() =>
        // .../dotnet/shared/Microsoft.NETCore.App/<version>/ → .../dotnet
        Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));

    private static bool CommandExists(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, name)));

    private static string CrossCompiler(string rid) => rid == "linux-arm64" ? "aarch64-linux-gnu-gcc" : "x86_64-linux-gnu-gcc";

    // ---- package contents ----

    /// <summary>The package's files, without the parts every .nupkg has (nuspec, OPC metadata).</summary>
    private static string[] PackageFiles(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        return [.. zip.Entries.Select(e => e.FullName).Where(n =>
            !n.EndsWith(".nuspec", StringComparison.Ordinal) && n != "[Content_Types].xml" &&
            !n.StartsWith("_rels/", StringComparison.Ordinal) && !n.StartsWith("package/", StringComparison.Ordinal))];
    }

    private static XElement Nuspec(ZipArchive zip) =>
        XDocument.Parse(Text(zip, zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).FullName)).Root!;

    private static XNamespace Ns(ZipArchive zip) => Nuspec(zip).Name.Namespace;

    private static string Text(ZipArchive zip, string entry)
    {
        using var reader = new StreamReader(zip.GetEntry(entry)!.Open());
        return reader.ReadToEnd();
    }

    /// <summary>e_machine of an ELF file in the package.</summary>
    private static int ElfMachine(ZipArchive zip, string entry)
    {
        using var stream = zip.GetEntry(entry).ShouldNotBeNull(entry).Open();
        var header = new byte[20];
        stream.ReadExactly(header);
        header[..4].ShouldBe(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, $"{entry} is an ELF file");
        return BitConverter.ToUInt16(header, 18);
    }

    private static int ExpectedMachine(string rid) => rid.EndsWith("arm64", StringComparison.Ordinal) ? 183 /* EM_AARCH64 */ : 62 /* EM_X86_64 */;

    // ---- the repository ----

    private static readonly string RepositoryRoot = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Procdesc.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no Procdesc.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>The NuGet folder this test project was restored into (where Mono.Posix is).</summary>
    private static string NuGetPackagesFolder()
    {
        // .../src/Procdesc.Tests/bin/<Configuration>/net10.0/ → .../src/Procdesc.Tests/obj/project.assets.json
        string project = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Parent!.Parent!.FullName;
        using var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(project, "obj", "project.assets.json")));
        return assets.RootElement.GetProperty("packageFolders").EnumerateObject().First().Name;
    }

    /// <summary>The repository's files: those git tracks or would add (not ignored); without git (a
    /// source tarball), the tree without build output.</summary>
    private static IEnumerable<string> RepositoryFiles()
    {
        if (Path.Exists(Path.Combine(RepositoryRoot, ".git")) && CommandExists("git"))
        {
            var ls = Run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], RepositoryRoot, RunTimeoutMs);
            ls.ExitCode.ShouldBe(0, ls.StdErr);
            return ls.StdOut.Split('\0', StringSplitOptions.RemoveEmptyEntries)
                .Select(f => Path.Combine(RepositoryRoot, f)).Where(File.Exists);
        }
        return SourceTree(RepositoryRoot);
    }

    private static IEnumerable<string> SourceTree(string dir)
    {
        foreach (string file in Directory.EnumerateFiles(dir))
            yield return file;
        foreach (string sub in Directory.EnumerateDirectories(dir))
        {
            if (Path.GetFileName(sub) is not (".git" or "bin" or "obj" or "artifacts" or "TestResults" or "distfiles"))
                foreach (string file in SourceTree(sub))
                    yield return file;
        }
    }

    /// <summary>A compiled file: by its extension, or an ELF file of any name.</summary>
    private static bool IsBinary(string file)
    {
        if (Path.GetExtension(file) is ".so" or ".dll" or ".dylib" or ".exe" or ".o" or ".a" or ".nupkg")
            return true;
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(file);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual(stackalloc byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' });
    }
}
