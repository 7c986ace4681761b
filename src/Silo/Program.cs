using NostrRelay.Silo.Hosting;

var app = RelayHost.Build(args);
await RelayHost.RunAsync(app);
