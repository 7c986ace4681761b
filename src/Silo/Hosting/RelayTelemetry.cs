using NostrRelay.Metrics;
using OpenTelemetry.Metrics;

namespace NostrRelay.Silo.Hosting;

/// <summary>
/// The relay's metrics through OpenTelemetry: its own meter (<see cref="RelayMetrics"/>), Orleans', ASP.NET Core's and
/// the .NET runtime's; scraped by Prometheus at <c>/metrics</c> (<c>Relay:Metrics:Prometheus</c>, on by default), and
/// pushed by OTLP when an endpoint is configured (<c>Relay:Metrics:OtlpEndpoint</c> or the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>).
/// </summary>
internal static class RelayTelemetry
{
    public static void Add(WebApplicationBuilder builder)
    {
        var metrics = builder.Configuration.GetSection("Relay:Metrics");
        var otlp = metrics["OtlpEndpoint"];
        // The standard variables are read by the exporter itself (it adds /v1/metrics for http/protobuf): only say to add it.
        var otlpFromEnvironment = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
            || !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);
        builder.Services.AddOpenTelemetry().WithMetrics(meters =>
        {
            meters.AddMeter(RelayMetrics.MeterName, NostrRelay.Metrics.SiloMetrics.MeterName, "Microsoft.Orleans")
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation();
            if (Prometheus(builder.Configuration)) meters.AddPrometheusExporter();
            if (!string.IsNullOrEmpty(otlp)) meters.AddOtlpExporter(o => o.Endpoint = new Uri(otlp));
            else if (otlpFromEnvironment) meters.AddOtlpExporter();
        });
    }

    public static void Map(WebApplication app)
    {
        if (Prometheus(app.Configuration)) app.MapPrometheusScrapingEndpoint("/metrics");
    }

    private static bool Prometheus(IConfiguration configuration) => configuration.GetValue("Relay:Metrics:Prometheus", true);
}
