using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Procdesc.Tests;

/// <summary>
/// The CI workflow for users (.github/workflows/ci.yml) cannot run here, so it is checked as data:
/// it parses as YAML, has the Linux and FreeBSD jobs the README describes, and runs the README's
/// commands verbatim, so the README and the CI cannot drift apart.
/// </summary>
public partial class WorkflowTests
{
    private const string WorkflowPath = ".github/workflows/ci.yml";
    private const string FreeBsdVmAction = "vmactions/freebsd-vm";

    private static readonly Lazy<string> RepositoryRoot = new(FindRepositoryRoot);
    private static readonly Lazy<YamlMappingNode> Workflow = new(LoadWorkflow);

    [Test]
    public void Workflow_IsAMappingWithNameTriggersAndJobs()
    {
        string[] keys = [.. Workflow.Value.Children.Keys.Select(Text)];
        keys.ShouldContain("name");
        keys.ShouldContain("on");
        keys.ShouldContain("jobs");
        var on = Workflow.Value.Children[new YamlScalarNode("on")];
        var triggers = on is YamlMappingNode map ? map.Children.Keys.Select(Text) : [Text(on)];
        triggers.ShouldContain("push");
        triggers.ShouldContain("pull_request");
    }

    [Test]
    public void Workflow_HasALinuxJobAndAFreeBsdJob()
    {
        var jobs = Mapping(Workflow.Value, "jobs");
        jobs.Children.Keys.Select(Text).ShouldBe(["linux", "freebsd"], ignoreOrder: true, customMessage: null);
        foreach (var job in jobs.Children.Values.Cast<YamlMappingNode>())
        {
            Scalar(job, "runs-on").ShouldStartWith("ubuntu-");
            Sequence(job, "steps").Children.ShouldNotBeEmpty();
        }
    }

    [Test]
    public void LinuxJob_SetsUpDotNet10_AndACCompiler()
    {
        var setup = StepsUsing(Job("linux"), "actions/setup-dotnet").ShouldHaveSingleItem();
        Scalar(Mapping(setup, "with"), "dotnet-version").ShouldStartWith("10.");
        string scripts = string.Join('\n', Scripts(Job("linux")));
        scripts.ShouldContain("apt-get install");
        scripts.ShouldContain(" gcc ");
        scripts.ShouldContain(" make ");
    }

    [Test]
    public void FreeBsdJob_RunsInAFreeBsd15VmFromAPinnedReleaseOfTheAction()
    {
        var job = Job("freebsd");
        var vm = StepsUsing(job, FreeBsdVmAction).ShouldHaveSingleItem();
        string uses = Scalar(vm, "uses");
        uses.ShouldMatch(@"^vmactions/freebsd-vm@v\d+\.\d+\.\d+$", "pin a release tag, not a branch or a major version");

        string[] releases = Values(job, Scalar(Mapping(vm, "with"), "release"));
        releases.ShouldNotBeEmpty();
        foreach (string release in releases)
            release.ShouldMatch(@"^15\.\d+$", "a FreeBSD 15.x release");
    }

    [Test]
    public void FreeBsdJob_InstallsTheDotNetSdkPackageBeforeItRuns()
    {
        var with = Mapping(StepsUsing(Job("freebsd"), FreeBsdVmAction).Single(), "with");
        string[] prepare = Lines(Scalar(with, "prepare"));
        prepare.ShouldContain(line => Regex.IsMatch(line, @"\bpkg install -y\b.*\bdotnet\b"), "pkg install of the .NET SDK (lang/dotnet)");
        prepare.ShouldContain(line => line.StartsWith("dotnet --list-sdks", StringComparison.Ordinal), "a check that a .NET 10 SDK is there");
    }

    [TestCase("linux")]
    [TestCase("freebsd")]
    public void EachJob_RunsEveryReadmeCommandVerbatim(string jobName)
    {
        string[] commands = ReadmeCommands();
        commands.ShouldContain("make test");
        string[] lines = Scripts(Job(jobName)).SelectMany(Lines).ToArray();
        foreach (string command in commands)
            lines.ShouldContain(command, $"the README's command `{command}`, alone on a line of a run step of job {jobName}");
    }

    [TestCase("linux")]
    [TestCase("freebsd")]
    public void EachJob_RunsMakeCompat_AndKeepsTheReportEvenWhenATestFails(string jobName)
    {
        var job = Job(jobName);
        Scripts(job).SelectMany(Lines).ShouldContain("make compat");

        var upload = StepsUsing(job, "actions/upload-artifact").ShouldHaveSingleItem();
        Scalar(upload, "if").ShouldMatch(@"always\(\)|!cancelled\(\)", "upload after a failed step too");
        string[] paths = Lines(Scalar(Mapping(upload, "with"), "path"));
        paths.ShouldContain("artifacts/compat-report.md");
        paths.ShouldContain("artifacts/compat-report.json");
        paths.ShouldContain(path => path.StartsWith("artifacts/test-results", StringComparison.Ordinal));
    }

    [Test]
    public void EveryAction_IsPinnedToAVersion()
    {
        foreach (var job in Mapping(Workflow.Value, "jobs").Children.Values.Cast<YamlMappingNode>())
            foreach (var step in Steps(job).Where(s => Has(s, "uses")))
                Scalar(step, "uses").ShouldMatch(@"^[\w.-]+/[\w.-]+@v\d+(\.\d+)*$");
    }

    /// <summary>FreeBSD's make is bmake: the README's `make test` only works there if the Makefile
    /// keeps to what both makes read.</summary>
    [Test]
    public void TheMakefile_UsesNoGnuMakeOnlySyntax()
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepositoryRoot.Value, "Makefile"));
        var gnuOnly = GnuMakeOnly();
        foreach (string line in lines.Where(l => !l.TrimStart().StartsWith('#')))
            gnuOnly.IsMatch(line).ShouldBeFalse($"GNU make only (FreeBSD's make would not read it): {line}");
    }

    [GeneratedRegex(@"^\s*(ifeq|ifneq|ifdef|ifndef|else|endif|define|endef|export|override|-?include)\b|\$[({](shell|wildcard|patsubst|subst|filter|filter-out|foreach|call|eval|if|or|and|abspath|realpath|notdir|dir|basename|addprefix|addsuffix|word|words|firstword|lastword|strip|sort|info|warning|error)[ ,)}]|\$\^|\.ONESHELL|\bMAKECMDGOALS\b|^[^\t#=]*%[^=]*:")]
    private static partial Regex GnuMakeOnly();

    /// <summary>The commands of the README's "The two commands" section: the lines of its first
    /// ```sh block that are not comments (a line ending in \ continues on the next).</summary>
    private static string[] ReadmeCommands()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot.Value, "README.md"));
        var section = Regex.Match(readme, @"^## The two commands\s*$(?<body>.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        section.Success.ShouldBeTrue("README.md has a section \"## The two commands\"");
        var block = Regex.Match(section.Groups["body"].Value, @"^```sh\s*$(?<code>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline);
        block.Success.ShouldBeTrue("that section has a ```sh block");

        var commands = new List<string>();
        string pending = "";
        foreach (string raw in Lines(block.Groups["code"].Value))
        {
            if (pending.Length == 0 && raw.StartsWith('#'))
                continue;
            if (raw.EndsWith('\\'))
            {
                pending += raw[..^1].TrimEnd() + " ";
                continue;
            }
            commands.Add(pending + raw);
            pending = "";
        }
        commands.ShouldNotBeEmpty();
        return [.. commands];
    }

    private static YamlMappingNode Job(string name) => Mapping(Mapping(Workflow.Value, "jobs"), name);

    private static IEnumerable<YamlMappingNode> Steps(YamlMappingNode job) =>
        Sequence(job, "steps").Children.Cast<YamlMappingNode>();

    private static IEnumerable<YamlMappingNode> StepsUsing(YamlMappingNode job, string action) =>
        Steps(job).Where(s => Has(s, "uses") && Scalar(s, "uses").StartsWith(action + "@", StringComparison.Ordinal));

    /// <summary>The shell scripts a job runs: its steps' run, and the FreeBSD VM's prepare and run.</summary>
    private static IEnumerable<string> Scripts(YamlMappingNode job)
    {
        foreach (var step in Steps(job))
        {
            if (Has(step, "run"))
                yield return Scalar(step, "run");
            if (Has(step, "uses") && Scalar(step, "uses").StartsWith(FreeBsdVmAction + "@", StringComparison.Ordinal))
            {
                var with = Mapping(step, "with");
                foreach (string input in new[] { "prepare", "run" }.Where(k => Has(with, k)))
                    yield return Scalar(with, input);
            }
        }
    }

    /// <summary>A value, or the values of the job's matrix when it is `${{ matrix.NAME }}`.</summary>
    private static string[] Values(YamlMappingNode job, string value)
    {
        var expression = Regex.Match(value, @"^\$\{\{\s*matrix\.(?<name>[\w-]+)\s*\}\}$");
        if (!expression.Success)
            return [value];
        var matrix = Mapping(Mapping(job, "strategy"), "matrix");
        return [.. Sequence(matrix, expression.Groups["name"].Value).Children.Select(Text)];
    }

    private static string[] Lines(string text) =>
        [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];

    private static bool Has(YamlMappingNode node, string key) => node.Children.ContainsKey(new YamlScalarNode(key));

    private static YamlNode Child(YamlMappingNode node, string key)
    {
        node.Children.TryGetValue(new YamlScalarNode(key), out var child).ShouldBeTrue($"key `{key}` at line {node.Start.Line} of {WorkflowPath}");
        return child!;
    }

    private static YamlMappingNode Mapping(YamlMappingNode node, string key) => Child(node, key).ShouldBeOfType<YamlMappingNode>();

    private static YamlSequenceNode Sequence(YamlMappingNode node, string key) => Child(node, key).ShouldBeOfType<YamlSequenceNode>();

    private static string Scalar(YamlMappingNode node, string key) => Text(Child(node, key));

    private static string Text(YamlNode node) => node.ShouldBeOfType<YamlScalarNode>().Value ?? "";

    private static YamlMappingNode LoadWorkflow()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepositoryRoot.Value, WorkflowPath)))
            yaml.Load(reader);
        yaml.Documents.Count.ShouldBe(1);
        return yaml.Documents[0].RootNode.ShouldBeOfType<YamlMappingNode>();
    }

    /// <summary>The directory holding Procdesc.sln, found by walking up from the test assembly.</summary>
    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Procdesc.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no Procdesc.sln above {AppContext.BaseDirectory}");
    }
}
