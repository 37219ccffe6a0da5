using Procdesc.Cli;

return RunCommand.Run(args);
