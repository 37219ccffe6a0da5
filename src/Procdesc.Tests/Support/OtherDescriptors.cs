namespace Procdesc.Tests.Support;

/// <summary>Open descriptors of every kind but a process descriptor: a file, both ends of a pipe, a socket, an epoll, an eventfd.</summary>
internal sealed class OtherDescriptors : IDisposable
{
    internal OtherDescriptors()
    {
        File = CLibc.open("/etc/passwd", CLibc.O_RDONLY | CLibc.O_CLOEXEC, 0);
        (PipeRead, PipeWrite) = CLibc.Pipe();
        (Socket, SocketPeer) = CLibc.SocketPair();
        File.ShouldBeGreaterThanOrEqualTo(0);
    }

    internal int File { get; }
    internal int PipeRead { get; }
    internal int PipeWrite { get; }
    internal int Socket { get; }
    internal int SocketPeer { get; }

    internal int[] All => [File, PipeRead, PipeWrite, Socket];

    public void Dispose()
    {
        foreach (int fd in new[] { File, PipeRead, PipeWrite, Socket, SocketPeer })
            CLibc.close(fd);
    }
}
