using System.Collections.Concurrent;
using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// The one long-lived thread that creates every child which must die with this process.
/// PR_SET_PDEATHSIG, which the C helper arms in such a child, fires when the thread that created
/// the child exits — not the process — and .NET's threads come and go (thread-pool threads are
/// retired, a caller's thread may end). Created here, a child is killed only when the whole
/// process ends: exit, crash, or SIGKILL.
/// </summary>
internal sealed unsafe class SpawnerThread
{
    private sealed class Job
    {
        public SpawnRequest* Request;
        public int Pidfd, Pid, Error;
        public Exception? Failure;
        // No spinning: the wait covers a whole clone and exec, far longer than any spin pays for,
        // and on few cores a spinning waiter takes the CPU the child needs (measured: ~45
        // sched_yield per pdfork with the default spin).
        public readonly ManualResetEventSlim Done = new(false, spinCount: 0);
    }

    [ThreadStatic] private static Job? t_job;

    private readonly ConcurrentQueue<Job> _jobs = new();
    private readonly ManualResetEventSlim _ready = new(false, spinCount: 0);

    internal SpawnerThread()
    {
        // Never ends: its end would kill every child it made.
        new Thread(Run) { IsBackground = true, Name = "Procdesc spawner" }.Start();
    }

    /// <summary>Runs the C helper on the spawner thread; 0 or a positive errno, as the helper returns.</summary>
    internal int Spawn(SpawnRequest* request, out int pidfd, out int pid)
    {
        Job job = t_job ??= new Job();
        job.Request = request;
        job.Failure = null;
        job.Done.Reset();
        _jobs.Enqueue(job);
        _ready.Set();
        job.Done.Wait();
        if (job.Failure is not null)
            throw job.Failure; // not an OS error: the helper library itself could not be called
        pidfd = job.Pidfd;
        pid = job.Pid;
        return job.Error;
    }

    private void Run()
    {
        while (true)
        {
            _ready.Wait();
            _ready.Reset(); // before draining: a job queued after this sets it again
            while (_jobs.TryDequeue(out Job? job))
            {
                try
                {
                    int pidfd = -1, pid = 0;
                    job.Error = NativeSpawn.Spawn(job.Request, &pidfd, &pid);
                    job.Pidfd = pidfd;
                    job.Pid = pid;
                }
                catch (Exception e)
                {
                    job.Failure = e;
                }
                job.Done.Set();
            }
        }
    }
}
