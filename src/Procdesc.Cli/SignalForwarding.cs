using System.Runtime.InteropServices;
using Mono.Unix.Native;

namespace Procdesc.Cli;

/// <summary>
/// Forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 received by the tool to the
/// child through its process descriptor, so `kill TOOL` or Ctrl-C reaches the program while the
/// tool stays alive to wait for it and report how it ended. Handlers are installed before the child
/// exists: a signal that arrives in between is kept and delivered as soon as the child is attached,
/// rather than killing the tool (which would kill the child without telling it why).
/// </summary>
internal sealed class SignalForwarding : IDisposable
{
    /// <summary>The signals forwarded. USR1 and USR2 have no named <see cref="PosixSignal"/>; the
    /// runtime accepts a raw host number cast to it, and the number differs between FreeBSD and Linux.</summary>
    internal static readonly Signum[] Forwarded =
        [Signum.SIGINT, Signum.SIGTERM, Signum.SIGHUP, Signum.SIGQUIT, Signum.SIGUSR1, Signum.SIGUSR2];

    private readonly Lock _gate = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly List<Signum> _early = [];
    private ProcessDescriptor? _child;
    private bool _detached;

    private SignalForwarding()
    {
        foreach (Signum signal in Forwarded)
        {
            PosixSignal posix = signal switch
            {
                Signum.SIGINT => PosixSignal.SIGINT,
                Signum.SIGTERM => PosixSignal.SIGTERM,
                Signum.SIGHUP => PosixSignal.SIGHUP,
                Signum.SIGQUIT => PosixSignal.SIGQUIT,
                _ => (PosixSignal)SignalNames.ToHost(signal),
            };
            _registrations.Add(PosixSignalRegistration.Create(posix, context => OnSignal(context, signal)));
        }
    }

    /// <summary>Installs the handlers; from now on these signals no longer end the tool.</summary>
    internal static SignalForwarding Install() => new();

    /// <summary>The child now exists: forward to it, starting with any signal that came before.</summary>
    internal void Attach(ProcessDescriptor child)
    {
        lock (_gate)
        {
            _child = child;
            foreach (Signum signal in _early)
                Send(child, signal);
            _early.Clear();
        }
    }

    /// <summary>Stops forwarding (the child has been reaped or is about to be closed).</summary>
    internal void Detach()
    {
        lock (_gate)
        {
            _child = null;
            _detached = true;
        }
    }

    /// <summary>Removes the handlers: the signals' default actions apply again.</summary>
    public void Dispose()
    {
        Detach();
        foreach (PosixSignalRegistration registration in _registrations)
            registration.Dispose();
    }

    private void OnSignal(PosixSignalContext context, Signum signal)
    {
        // The tool survives; the child decides what the signal means, and its end ends the tool.
        context.Cancel = true;
        lock (_gate)
        {
            if (_child is not null)
                Send(_child, signal);
            else if (!_detached)
                _early.Add(signal);
        }
    }

    private static void Send(ProcessDescriptor child, Signum signal)
    {
        try
        {
            child.Kill(signal);
        }
        catch (ProcessDescriptorException)
        {
            // ESRCH: the child has already been reaped; its status is what the tool reports.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
