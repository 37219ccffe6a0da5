namespace Procdesc.TestSupport;

/// <summary>
/// The wrong descriptors of the contract's EBADF and EINVAL rows: numbers that name nothing, and
/// open descriptors of every kind that is not a process descriptor.
/// </summary>
internal static class Descriptors
{
    /// <summary>
    /// Descriptor numbers that name nothing: negative, huge (far above any number a test opens),
    /// and the lowest free number, closed a moment ago. Ask for them after opening what the test
    /// needs, or that last one may be taken by then.
    /// </summary>
    internal static int[] NumbersNotOpen()
    {
        int closed = CLibc.LowestFreeNumber();
        return [-1, int.MinValue, 1 << 20, 1 << 30, int.MaxValue, closed];
    }

    /// <summary>
    /// Open descriptors of every kind that is not a process descriptor (both ends of a pipe, both of
    /// a socket pair, a regular file), each with a name for failure messages; the caller closes
    /// them with <see cref="CloseAll"/>.
    /// </summary>
    internal static List<(string What, int Fd)> OpenNonProcdescs()
    {
        var (read, write) = CLibc.Pipe();
        var (a, b) = CLibc.SocketPair();
        int file = CLibc.open("/etc/passwd", CLibc.O_RDONLY | CLibc.O_CLOEXEC, 0);
        var result = new List<(string, int)> { ("pipe (read end)", read), ("pipe (write end)", write), ("socket", a), ("socket (peer)", b) };
        if (file >= 0)
            result.Add(("regular file", file));
        file.ShouldBeGreaterThanOrEqualTo(0, "open(/etc/passwd)");
        return result;
    }

    /// <summary>Closes what <see cref="OpenNonProcdescs"/> opened (with libc's close: none of them is a process descriptor).</summary>
    internal static void CloseAll(IEnumerable<(string What, int Fd)> descriptors)
    {
        foreach (var (_, fd) in descriptors)
            CLibc.close(fd);
    }
}
