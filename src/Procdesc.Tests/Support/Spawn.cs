namespace Procdesc.Tests.Support;

/// <summary>Children the tests start through the library under test.</summary>
internal static class Spawn
{
    internal const string Shell = "/bin/sh";

    /// <summary>A child that sleeps until killed (bounded: 60 s, so a failed test leaves nothing forever).</summary>
    internal static int Sleeper(out int fd, int flags = PD_CLOEXEC)
    {
        int pid = pdfork(out fd, flags, PdChild.Exec("/bin/sleep", ["sleep", "60"]));
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        return pid;
    }

    /// <summary>A child that runs a shell command.</summary>
    internal static int Sh(out int fd, string command, int flags = PD_CLOEXEC)
    {
        int pid = pdfork(out fd, flags, PdChild.Exec(Shell, ["sh", "-c", command]));
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        return pid;
    }

    /// <summary>A child that exits with <paramref name="code"/> at once.</summary>
    internal static int Exiting(out int fd, int code, int flags = PD_CLOEXEC) => Sh(out fd, $"exit {code}", flags);

    /// <summary>A child that has exited and been reaped through the library (its descriptor stays open).</summary>
    internal static int Reaped(out int fd, int code = 0)
    {
        int pid = Exiting(out fd, code);
        Processes.WaitForHangup(fd).ShouldBeTrue();
        pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
        return pid;
    }

    /// <summary>Kills (if needed) and reaps a test's child and closes the descriptor; safe to call twice.</summary>
    internal static void Cleanup(int fd)
    {
        if (fd < 0)
            return;
        if (pdgetpid(fd, out _) == 0)
        {
            pdkill(fd, Signum.SIGKILL);
            pdwait4(fd, out _, PdWaitOptions.None, out _);
        }
        close(fd);
    }
}
