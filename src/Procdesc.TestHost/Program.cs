// Procdesc.TestHost MODE [daemon]
//
// Creates one child (sleep 60) through ProcessDescriptor.Fork, prints "child PID" on stdout, and
// then lets go of it the way MODE says, so that the tests can check what happens to the child when
// its parent goes away:
//   return        return from Main
//   exit          Environment.Exit(3)
//   throw         die of an unhandled exception
//   block         wait until killed (the test sends SIGTERM, SIGINT or SIGKILL)
//   thread-exits  fork on a thread that then ends, print "thread-gone" once the kernel has
//                 removed that thread, then block
//   pool-thread   fork on a thread-pool thread, then block
//   main-returns  fork on the main thread (the library creates the child right there), start a
//                 foreground thread, return from Main; that thread prints "main-returned" once the
//                 main thread has parked in the runtime (a futex wait, not an exit), then blocks
//   script        read commands from stdin (Script.cs): the adversity tests
//   reaper-load N pdfork children next to System.Diagnostics.Process ones (ReaperLoad.cs): the
//                 foreign-reaper test, run as pid 1 of a pid namespace
using System.Runtime.InteropServices;
using Procdesc;

string mode = args.Length > 0 ? args[0] : "block";
if (mode == "script")
    return Procdesc.TestHost.Script.Run();
if (mode == "reaper-load")
    return Procdesc.TestHost.ReaperLoad.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
PdFlags flags = PdFlags.CloExec | (args.Length > 1 && args[1] == "daemon" ? PdFlags.Daemon : PdFlags.None);
var child = PdChild.Exec("/bin/sleep", ["sleep", "60"]);
ProcessDescriptor? held = null;

void Report(ProcessDescriptor descriptor)
{
    Console.Out.WriteLine($"child {descriptor.Pid}");
    Console.Out.Flush();
}

switch (mode)
{
    case "thread-exits":
        int tid = 0;
        var thread = new Thread(() =>
        {
            tid = Gettid();
            held = ProcessDescriptor.Fork(child, flags);
        });
        thread.Start();
        thread.Join();
        Report(held!);
        // Join returns when the managed thread is done; wait until the kernel thread is gone too.
        while (Directory.Exists($"/proc/self/task/{tid}"))
            Thread.Sleep(1);
        Console.Out.WriteLine("thread-gone");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        break;
    case "main-returns":
        held = ProcessDescriptor.Fork(child, flags);
        Report(held);
        int mainTid = Environment.ProcessId;
        var returned = new ManualResetEventSlim();
        var foreground = new Thread(() =>
        {
            returned.Wait();
            // After Main returns the runtime waits on this very thread's end: the main thread sleeps
            // in futex(2) (syscall 202 on x86-64, 98 on arm64). Had it exited, its death signal
            // would have reached the child already.
            string futex = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? "202" : "98";
            while (!File.ReadAllText($"/proc/self/task/{mainTid}/syscall").StartsWith(futex + " ", StringComparison.Ordinal))
                Thread.Sleep(1);
            Console.Out.WriteLine("main-returned");
            Console.Out.Flush();
            GC.KeepAlive(held);
            Thread.Sleep(Timeout.Infinite);
        });
        foreground.Start();
        returned.Set();
        return 0;
    case "pool-thread":
        held = await Task.Run(() => ProcessDescriptor.Fork(child, flags));
        Report(held);
        Thread.Sleep(Timeout.Infinite);
        break;
    default:
        held = ProcessDescriptor.Fork(child, flags);
        Report(held);
        switch (mode)
        {
            case "return":
                return 0;
            case "exit":
                Environment.Exit(3);
                break;
            case "throw":
                throw new InvalidOperationException("the test host dies of an unhandled exception, on purpose");
            default:
                Thread.Sleep(Timeout.Infinite);
                break;
        }
        break;
}
GC.KeepAlive(held);
return 0;

static int Gettid() => (int)Syscall(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 186 : 178, 0, 0, 0);

[DllImport("libc", EntryPoint = "syscall")]
static extern long Syscall(long number, long a, long b, long c);
