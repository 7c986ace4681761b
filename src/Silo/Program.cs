using NostrRelay.Silo.Hosting;
using NostrRelay.Silo.Sync;

if (RelayCommands.IsCommand(args)) return await RelayCommands.RunAsync(args);
if (SyncCommandLine.IsCommand(args)) return await SyncCommandLine.RunAsync(args);

var app = RelayHost.Build(args);
await RelayHost.RunAsync(app);
return 0;
