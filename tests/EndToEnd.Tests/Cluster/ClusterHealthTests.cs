using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>What an orchestrator's probes see: liveness while the process serves, readiness while it can do its job.</summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterHealthTests
{
    [Fact]
    public async Task a_silo_only_process_serves_health_but_no_websockets()
    {
        using var cluster = new ClusterDeployment();
        var silo = await cluster.StartSiloAsync(gateway: false);

        Assert.Equal(200, await silo.StatusOfAsync("healthz"));
        Assert.Equal(200, await silo.StatusOfAsync("readyz"));
        Assert.Equal(404, await silo.StatusOfAsync(""));
    }

    [Fact]
    public async Task a_gateway_is_unready_while_the_cluster_is_gone_and_ready_again_when_a_silo_joins()
    {
        using var cluster = new ClusterDeployment();
        var first = await cluster.StartSiloAsync(gateway: false);
        var gateway = await cluster.StartGatewayAsync();
        Assert.Equal(200, await gateway.StatusOfAsync("readyz"));

        first.Process.Kill();
        Assert.True(await StatusBecomesAsync(gateway, "readyz", 503, TimeSpan.FromSeconds(20)), "readiness did not fail without a cluster");
        Assert.Equal(200, await gateway.StatusOfAsync("healthz"));   // alive: restarting it would not help

        await cluster.StartSiloAsync(gateway: false);
        Assert.True(await StatusBecomesAsync(gateway, "readyz", 200, TimeSpan.FromSeconds(40)), "readiness did not come back with a new silo");
        await using var client = await TestClient.ConnectAsync(gateway.Url);
        Assert.Empty(await client.QueryAsync("after", new { kinds = new[] { 1 }, limit = 1 }));   // and it serves again
    }

    private static async Task<bool> StatusBecomesAsync(ClusterNode node, string path, int status, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await node.StatusOfAsync(path) == status) return true;
            await Task.Delay(250);
        }
        return false;
    }
}
