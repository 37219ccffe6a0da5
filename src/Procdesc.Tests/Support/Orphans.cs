namespace Procdesc.Tests.Support;

/// <summary>
/// Makes this test process the child subreaper while a test runs a parent that dies: the dead
/// parent's children are then reparented here rather than to pid 1 (which on this machine reaps
/// lazily), so the test can wait for them and read how they ended.
/// </summary>
internal static class Orphans
{
    private const int PR_SET_CHILD_SUBREAPER = 36;

    internal static void AdoptOrphans(bool adopt) =>
        CLibc.prctl(PR_SET_CHILD_SUBREAPER, adopt ? 1 : 0, 0, 0, 0).ShouldBe(0);

    /// <summary>Reaps an adopted orphan (bounded) and returns its wait status; -1 if it did not end in time.</summary>
    internal static int Reap(int pid, TimeSpan bound)
    {
        int status = 0;
        bool ended = Kids.Eventually(() => TryReap(pid, out status), bound);
        return ended ? status : -1;
    }

    private static unsafe bool TryReap(int pid, out int status)
    {
        int s = 0;
        bool reaped = CLibc.waitpid(pid, &s, CLibc.WNOHANG) == pid;
        status = s;
        return reaped;
    }

    /// <summary>The children of any process, from /proc/PID/task/*/children.</summary>
    internal static int[] ChildrenOf(int pid)
    {
        var all = new List<int>();
        try
        {
            foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    foreach (string child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                        all.Add(int.Parse(child));
                }
                catch (IOException) { }
            }
        }
        catch (IOException) { }
        return all.ToArray();
    }
}
