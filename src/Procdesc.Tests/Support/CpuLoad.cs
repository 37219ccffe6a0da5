namespace Procdesc.Tests.Support;

/// <summary>Threads that keep the CPUs busy until disposed — a slower machine, for tests of races
/// that native speed hides. They allocate nothing (a collection has effects of its own).</summary>
internal sealed class CpuLoad : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread[] _threads;

    internal CpuLoad(int threads)
    {
        _threads = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(() =>
            {
                ulong spin = 0;
                while (!_stop.IsCancellationRequested)
                    spin++;
                GC.KeepAlive(spin);
            }) { IsBackground = true, Name = "test CPU load" };
            _threads[i].Start();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (Thread thread in _threads)
            thread.Join();
    }
}
