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
    // Whether the calling thread is the process's main thread, asked once per thread.
    [ThreadStatic] private static int t_isMainThread; // 0 not asked, 1 yes, 2 no
    private static readonly int s_pid = Libc.getpid();

    private readonly ConcurrentQueue<Job> _jobs = new();
    private readonly ManualResetEventSlim _ready = new(false, spinCount: 0);

    internal SpawnerThread()
    {
        // Never ends: its end would kill every child it made.
        new Thread(Run) { IsBackground = true, Name = "Procdesc spawner" }.Start();
    }

    /// <summary>
    /// True on the process's main thread (its thread id is the pid). The .NET runtime never ends
    /// that thread before the process: when Main returns it waits there for the foreground threads,
    /// then the process exits (measured: the main task sleeps, state S, while a foreground thread
    /// runs on). A child it creates gets its death signal only when the whole process ends, so it
    /// may be created right there, without the hand-off's two context switches.
    /// </summary>
    internal static bool OnLongLivedThread
    {
        get
        {
            if (t_isMainThread == 0)
                t_isMainThread = LinuxSyscalls.gettid() == s_pid ? 1 : 2;
            return t_isMainThread == 1;
        }
    }

    /// <summary>Runs the C helper on a thread that lives as long as the process — the calling one
    /// when it is the main thread, else the spawner thread; 0 or a positive errno, as the helper returns.</summary>
    internal int Spawn(SpawnRequest* request, out int pidfd, out int pid)
    {
        if (OnLongLivedThread)
        {
            int fd = -1, p = 0;
            int error = NativeSpawn.Spawn(request, &fd, &p);
            (pidfd, pid) = (fd, p);
            return error;
        }
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
