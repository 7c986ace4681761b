using NostrRelay.Silo.Hosting;

if (RelayCommands.IsCommand(args)) return await RelayCommands.RunAsync(args);

var app = RelayHost.Build(args);
await RelayHost.RunAsync(app);
return 0;
