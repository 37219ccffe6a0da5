using System.Diagnostics;
using static Procdesc.PdSyscall;

namespace Procdesc.TestHost;

/// <summary>
/// reaper-load N: N children through pdfork + pdwait4 and N/2 through ProcessDescriptor.WaitAsync,
/// alongside N System.Diagnostics.Process children — as a program that is pid 1 of its pid
/// namespace (a container), where .NET's runtime, once Process is in use, reaps every child with
/// waitpid(-1). Prints one line: "lost L missing-rusage M of T; helper-parent yes|no".
/// </summary>
internal static class ReaperLoad
{
    internal static int Run(int rounds)
    {
        int lost = 0, missing = 0;
        var others = Task.Run(() =>
        {
            for (int i = 0; i < rounds; i++)
            {
                using var process = Process.Start("/bin/true")!;
                process.WaitForExit();
            }
        });
        var waits = Task.Run(async () =>
        {
            for (int i = 0; i < rounds / 2; i++)
            {
                try
                {
                    using var child = ProcessDescriptor.Fork(PdChild.Exec("/bin/sh", ["sh", "-c", "exit 5"]), PdFlags.CloExec);
                    ExitStatus status = await child.WaitAsync();
                    if (status.ExitCode != 5)
                        Interlocked.Increment(ref lost);
                    else if (status.Usage.IsMissing)
                        Interlocked.Increment(ref missing);
                }
                catch (ProcessDescriptorException)
                {
                    Interlocked.Increment(ref lost);
                }
            }
        });
        for (int i = 0; i < rounds; i++)
        {
            int pid = pdfork(out int fd, PD_CLOEXEC, PdChild.Exec("/bin/sh", ["sh", "-c", "exit 7"]));
            if (pid <= 0)
            {
                lost++;
                continue;
            }
            if (pdwait4(fd, out int status, PdWaitOptions.None, out Rusage usage) != pid || WEXITSTATUS(status) != 7)
                lost++;
            else if (usage.IsMissing)
                missing++;
            close(fd);
        }
        others.Wait();
        waits.Wait();
        bool helper = HostFeatures.All.Any(f => f.Name == "helper parent" && f.Found);
        Console.Out.WriteLine($"lost {lost} missing-rusage {missing} of {rounds + rounds / 2}; helper-parent {(helper ? "yes" : "no")}");
        Console.Out.Flush();
        return 0;
    }
}
