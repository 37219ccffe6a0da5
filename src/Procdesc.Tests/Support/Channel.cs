using System.Net.Sockets;
using System.Text;

namespace Procdesc.Tests.Support;

/// <summary>Line-at-a-time text over a worker's channel, every read bounded (a worker's runtime may
/// take seconds to start under emulation: the bound scales with <see cref="TimeScale"/>).</summary>
internal static class Channel
{
    internal static readonly int StartBoundMs = TimeScale.Ms(60_000);

    internal static void SendLine(Socket socket, string line) => socket.Send(Encoding.UTF8.GetBytes(line + "\n"));

    /// <summary>The next line; null at end of stream; fails the test when nothing comes in time.</summary>
    internal static string? ReceiveLine(Socket socket, int timeoutMs = -1)
    {
        socket.ReceiveTimeout = timeoutMs < 0 ? StartBoundMs : timeoutMs;
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            int n;
            try
            {
                n = socket.Receive(one);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
                Assert.Fail($"no line on the channel within {socket.ReceiveTimeout} ms (so far: '{Encoding.UTF8.GetString(line.ToArray())}')");
                throw;
            }
            if (n == 0)
                return line.Count == 0 ? null : Encoding.UTF8.GetString(line.ToArray());
            if (one[0] == '\n')
                return Encoding.UTF8.GetString(line.ToArray());
            line.Add(one[0]);
        }
    }
}
