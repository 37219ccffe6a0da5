using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// The NativeAOT `procdesc` (make aot): published here with the README's command into a temporary
/// directory, then run as a user would — no `dotnet` in front of it. The linux-arm64 cross build
/// is checked by what it produced (every file an aarch64 ELF) and, where qemu-aarch64 is installed,
/// by running `--version` and `info` under it (qemu-user cannot emulate pdfork's clone: see README).
/// </summary>
[NonParallelizable]
[OnlyOn("Linux", "make aot's default here is linux-x64; the FreeBSD build is the port's")]
public class AotToolTests
{
    private const int PublishTimeoutMs = 600_000;
    private string _work = "";

    [OneTimeSetUp]
    public void MakeWorkDirectory() => _work = Directory.CreateTempSubdirectory("procdesc-aot-tests-").FullName;

    [OneTimeTearDown]
    public void RemoveWorkDirectory() => Directory.Delete(_work, recursive: true);

    private string Publish(string rid)
    {
        string dir = Path.Combine(_work, rid);
        var make = PackageTests.Run("make", ["-C", SourceTree.Root, "aot", $"AOT_RID={rid}", $"AOT_DIR={dir}"], SourceTree.Root, PublishTimeoutMs);
        make.ExitCode.ShouldBe(0, make.StdOut + make.StdErr);
        return dir;
    }

    [Test]
    public void TheNativeAotTool_RunsAProgram_AndKeepsTheToolsHabits()
    {
        string tool = Path.Combine(Publish("linux-x64"), "procdesc");
        Directory.GetFiles(Path.GetDirectoryName(tool)!).Select(Path.GetFileName).Order()
            .ShouldBe(["libprocdesc_native.so", "procdesc", "procdesc-parent"]);

        var run = Run(tool, ["run", "--", "sh", "-c", "echo out; exit 3"]);
        run.ExitCode.ShouldBe(3, run.StdErr);
        run.StdOut.ShouldBe("out\n");
        run.StdErr.ShouldMatch(@"^procdesc: pid \d+ exited with code 3; ");

        Run(tool, ["info"]).StdOut.ShouldContain("backend  linux-");
        Run(tool, ["run", "-q", "--timeout", "0.2s", "-k", "0.2s", "--", "sh", "-c", "trap '' TERM; exec sleep 30"]).ExitCode.ShouldBe(137);
        Run(tool, ["run", "-q", "--timeout", "0.2s", "-s", "RTMIN+2", "--", "sleep", "30"]).ExitCode.ShouldBe(124);
        Run(tool, ["run", "-q", "--", "sh", "-c", "kill -USR1 $$"]).ExitCode.ShouldBe(128 + 10); // not INT: a background run ignores it
        var helper = Tool.Run(["run", "-q", "--", "sh", "-c", "exit 4"], wrapper: tool, rawWrapperArguments: true,
            environment: new() { ["PROCDESC_LINUX_PARENT"] = "helper" });
        helper.ExitCode.ShouldBe(4, helper.StdErr);
        var json = Run(tool, ["run", "--json", "--", "true"]);
        json.StdOut.ShouldStartWith("{\"pid\":");

        // The habits of the JIT tool hold here too: SIGPIPE back at its default, no terminal noise.
        (string output, _, _) = Kids.Run(PdChild.ExecFromPath("bash", ["bash", "-c", $"'{tool}' run -q -- yes | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}"]), "bash");
        output.ShouldBe("141\n");
        var terminal = Tool.Run(["-qec", $"'{tool}' run -- true", "/dev/null"], wrapper: "script", rawWrapperArguments: true);
        terminal.StdOut.ShouldContain("exited with code 0");
        terminal.StdOut.ShouldNotContain("\u001b");
    }

    [Test]
    public void TheLinuxArm64CrossBuild_IsAarch64Throughout()
    {
        if (!OnPath("aarch64-linux-gnu-gcc") && Environment.UserName != "root")
            Assert.Ignore("no aarch64-linux-gnu-gcc, and make aot can install it only as root");
        if (System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
            Assert.Ignore("the cross build is made on x86-64");
        string dir = Publish("linux-arm64");
        foreach (string name in new[] { "procdesc", "libprocdesc_native.so", "procdesc-parent" })
        {
            byte[] header = File.ReadAllBytes(Path.Combine(dir, name))[..20];
            header[..4].ShouldBe(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, name);
            BitConverter.ToUInt16(header, 18).ShouldBe((ushort)183, $"{name}: e_machine EM_AARCH64");
        }
        if (!OnPath("qemu-aarch64"))
            return;
        var version = Tool.Run(["-L", "/usr/aarch64-linux-gnu", Path.Combine(dir, "procdesc"), "--version"], wrapper: "qemu-aarch64", rawWrapperArguments: true);
        version.ExitCode.ShouldBe(0, version.StdErr);
        version.StdOut.ShouldStartWith(typeof(PdSyscall).Assembly.GetName().Version!.ToString(3));
        var info = Tool.Run(["-L", "/usr/aarch64-linux-gnu", Path.Combine(dir, "procdesc"), "info"], wrapper: "qemu-aarch64", rawWrapperArguments: true);
        info.StdOut.ShouldContain("(Arm64)");
    }

    private static Tool.Result Run(string tool, string[] args) => Tool.Run(args, wrapper: tool, rawWrapperArguments: true);

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, program)));
}
