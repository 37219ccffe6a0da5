namespace Procdesc.Benchmarks.Harness;

/// <summary>Samples this process's thread count (/proc/self/status) every 2 ms and keeps the peak.
/// <see cref="Before"/> is read once the sampler's own thread runs, so it is counted on both sides.</summary>
internal sealed class ThreadSampler : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private int _peak;

    internal ThreadSampler()
    {
        using var running = new ManualResetEventSlim(false);
        _thread = new Thread(() =>
        {
            running.Set();
            while (!_stop)
            {
                int now = Native.ThreadCount();
                if (now > _peak)
                    _peak = now;
                Thread.Sleep(2);
            }
        }) { IsBackground = true, Name = "thread sampler" };
        _thread.Start();
        running.Wait();
        Before = _peak = Native.ThreadCount();
    }

    /// <summary>The thread count when sampling began (the sampler included).</summary>
    internal int Before { get; }

    internal int Peak => Math.Max(_peak, Native.ThreadCount());

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
