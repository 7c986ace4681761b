using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Hosting;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// The policy pipeline as an embedder uses it: hooks added in code run at the gateway in the order they were added,
/// after the configured built-ins; the first rejection wins and its message reaches the client with the prefix the
/// policy chose. One relay carries every hook; each test triggers its own by what it sends.
/// </summary>
public sealed class PolicyPipelineTests(PolicyPipelineTests.HookedRelay fixture) : IClassFixture<PolicyPipelineTests.HookedRelay>
{
    [Fact]
    public async Task the_first_rejecting_hook_answers_and_the_hooks_after_it_do_not_run()
    {
        var key = NostrTools.NewSecretKey();
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);

        var both = await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, "two-rejections"));
        var second = await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, "second-only"));

        Assert.Equal((false, "blocked: first hook"), both);
        Assert.Equal((false, "invalid: second hook"), second);
        Assert.Equal(0, fixture.SecondHookSawTwoRejections);
    }

    [Fact]
    public async Task a_hook_that_throws_refuses_the_event_with_error_and_the_connection_goes_on()
    {
        var key = NostrTools.NewSecretKey();
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);

        var thrown = await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, "throw"));
        var next = await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, "after the throw"));

        Assert.Equal((false, "error: a relay policy failed on this event; try again later"), thrown);
        Assert.Equal((true, ""), next);
    }

    [Fact]
    public async Task a_configured_built_in_runs_before_the_embedders_hooks()
    {
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);

        var result = await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 7, "two-rejections"));

        Assert.Equal((false, "blocked: kind 7 is not accepted here"), result);
    }

    [Fact]
    public async Task a_policy_made_from_the_relays_services_can_wait_and_reject()
    {
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);
        var key = NostrTools.NewSecretKey();

        var rejected = await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, "async-reject"));
        var accepted = await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, "async-accept"));

        Assert.Equal((false, "restricted: async policy"), rejected);
        Assert.True(accepted.Accepted, accepted.Message);
    }

    [Fact]
    public async Task a_shadow_rejected_event_is_told_ok_but_never_stored_or_delivered()
    {
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);
        var shadow = await fixture.Tools.SignAsync(key, 1, "shadow");
        var kept = await fixture.Tools.SignAsync(key, 1, "kept");

        var told = await client.PublishAsync(shadow);
        await client.PublishAsync(kept);
        var stored = await client.QueryAsync("shadow", new { authors = new[] { pubkey } });

        Assert.Equal((true, ""), told);
        Assert.Equal([kept.Id], stored.Select(Frames.Id));
        Assert.DoesNotContain(shadow.Id, fixture.Stored);
    }

    [Fact]
    public async Task the_stored_hook_hears_each_new_event_once_and_no_rejected_one()
    {
        var key = NostrTools.NewSecretKey();
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);
        var note = await fixture.Tools.SignAsync(key, 1, "stored once");
        var refused = await fixture.Tools.SignAsync(key, 1, "second-only");

        await client.PublishAsync(note);
        var again = await client.PublishAsync(note);
        await client.PublishAsync(refused);

        Assert.StartsWith("duplicate:", again.Message);
        Assert.Single(fixture.Stored, id => id == note.Id);
        Assert.DoesNotContain(refused.Id, fixture.Stored);
    }

    [Fact]
    public async Task a_rejected_filter_closes_the_subscription_with_the_policys_message()
    {
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);

        await client.SendAsync(Frames.Req("drafts", new { kinds = new[] { 31234 } }));
        var closed = await client.ExpectAsync(f => Frames.IsFor(f, "drafts"));

        Assert.Equal("CLOSED", closed[0].GetString());
        Assert.Equal("restricted: drafts are not served here", closed[2].GetString());
    }

    [Fact]
    public async Task a_rewritten_filter_is_the_one_served()
    {
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);
        for (var i = 0; i < 3; i++) await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, $"note {i}", createdAt: 1_700_000_000 + i));

        var asked = await client.QueryAsync("three", new { authors = new[] { pubkey }, limit = 3 });

        // The hook lowers a limit of 3 to 1.
        Assert.Equal(["note 2"], asked.Select(Frames.Content));
    }

    [Fact]
    public async Task a_vetoed_delivery_skips_one_subscriber_and_reaches_the_others()
    {
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        await using var hidden = await TestClient.ConnectAsync(fixture.Relay.Url);
        await using var shown = await TestClient.ConnectAsync(fixture.Relay.Url);
        await using var publisher = await TestClient.ConnectAsync(fixture.Relay.Url);
        // A limit of 77 marks the connection (the filter hook notes it) as one that must not see secrets.
        await hidden.QueryAsync("live", new { authors = new[] { pubkey }, limit = 77 });
        await shown.QueryAsync("live", new { authors = new[] { pubkey } });

        await publisher.PublishAsync(await fixture.Tools.SignAsync(key, 1, "secret"));
        await publisher.PublishAsync(await fixture.Tools.SignAsync(key, 1, "public"));

        var shownFirst = await shown.ExpectAsync(f => Frames.Is(f, "EVENT"));
        var hiddenFirst = await hidden.ExpectAsync(f => Frames.Is(f, "EVENT"));
        Assert.Equal("secret", Frames.Content(shownFirst[2]));
        Assert.Equal("public", Frames.Content(hiddenFirst[2]));
    }

    [Fact]
    public async Task a_rewritten_outgoing_event_is_what_the_subscriber_gets()
    {
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);
        await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, "rewrite-out"));

        var served = await client.QueryAsync("out", new { authors = new[] { pubkey } });

        Assert.Equal(["[rewritten]"], served.Select(Frames.Content));
    }

    [Fact]
    public async Task a_refused_connection_gets_the_status_and_message_before_the_upgrade()
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("X-Test-Block", "yes");

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(fixture.Relay.Url, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, fixture.Relay.HttpUrl);
        request.Headers.Add("X-Test-Block", "yes");
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(Encoding.ASCII.GetBytes("0123456789abcdef")));
        using var response = await http.SendAsync(request);
        Assert.Equal("blocked: go away", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task connect_and_disconnect_hooks_see_each_connection()
    {
        long id;
        await using (var client = await TestClient.ConnectAsync(fixture.Relay.Url))
        {
            await client.QueryAsync("hello", new { limit = 1 });
            id = fixture.Connected.Max();
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!fixture.Disconnected.Contains(id) && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Contains(id, fixture.Disconnected);
    }

    [Fact]
    public async Task the_information_hook_edits_the_nip11_document()
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/nostr+json"));

        var doc = JsonDocument.Parse(await http.GetStringAsync(fixture.Relay.HttpUrl)).RootElement;

        Assert.Equal("added by a hook", doc.GetProperty("x_embedder").GetString());
    }

    /// <summary>A relay with one hook of every kind, each acting only on what a test sends to trigger it.</summary>
    public sealed class HookedRelay : IAsyncLifetime
    {
        public RelayServer Relay { get; private set; } = null!;
        public NostrTools Tools { get; } = NostrTools.Start();
        public ConcurrentBag<string> Stored { get; } = [];
        public ConcurrentBag<long> Connected { get; } = [];
        public ConcurrentBag<long> Disconnected { get; } = [];
        public int SecondHookSawTwoRejections;

        public async Task InitializeAsync()
        {
            Relay = await RelayServer.StartAsync(null, builder =>
            {
                builder.Services.AddSingleton<WaitingPolicy>();
                builder.Services.Configure<RelayOptions>(relay =>
                {
                    relay.RejectConnection.Add(context => context.Request.Headers["X-Test-Block"] == "yes" ? PolicyResult.Blocked("go away") : PolicyResult.Accept);
                    relay.RejectEvent.Add((evt, _) => evt.Content == "two-rejections" ? PolicyResult.Blocked("first hook") : PolicyResult.Accept);
                    relay.RejectEvent.Add((evt, _) => evt.Content == "throw" ? throw new InvalidOperationException("an embedder's bug") : PolicyResult.Accept);
                    relay.RejectEvent.Add((evt, _) =>
                    {
                        if (evt.Content == "two-rejections") Interlocked.Increment(ref SecondHookSawTwoRejections);
                        return evt.Content is "two-rejections" or "second-only" ? PolicyResult.Invalid("second hook") : PolicyResult.Accept;
                    });
                    relay.RejectEvent.Add<WaitingPolicy>();
                    relay.RejectFilter.Add((filter, client) =>
                    {
                        if (filter.Limit == 77) client.Items["hide-secrets"] = true;
                        return filter.Kinds is { } kinds && kinds.Contains(31234)
                            ? PolicyResult.Restricted("drafts are not served here")
                            : PolicyResult.Accept;
                    });
                    relay.RewriteFilter.Add((filter, _) => filter.Limit == 3 ? filter with { Limit = 1 } : filter);
                    relay.RejectDelivery.Add((evt, client) => evt.Content == "secret" && client.Items.ContainsKey("hide-secrets"));
                    relay.RewriteOutgoingEvent.Add((evt, _) => evt.Content == "rewrite-out"
                        ? evt with { Json = Encoding.UTF8.GetBytes(evt.JsonText.Replace("\"rewrite-out\"", "\"[rewritten]\"")) }
                        : evt);
                    relay.OnEventStored.Add((evt, _) => Stored.Add(evt.Id));
                    relay.OnConnect.Add(client => Connected.Add(client.ConnectionId));
                    relay.OnDisconnect.Add(client => Disconnected.Add(client.ConnectionId));
                    relay.RewriteInformation.Add(document => document["x_embedder"] = "added by a hook");
                });
            }, "Relay:Policies:DeniedKinds:0=7");
        }

        public async Task DisposeAsync()
        {
            await Relay.DisposeAsync();
            await Tools.DisposeAsync();
        }
    }

    /// <summary>An <see cref="IEventPolicy"/> that needs the relay's services (a clock here) and answers asynchronously.</summary>
    public sealed class WaitingPolicy(TimeProvider time) : IEventPolicy
    {
        public async ValueTask<PolicyResult> CheckAsync(NostrEvent evt, ClientContext client, CancellationToken cancellationToken)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
            return evt.Content switch
            {
                "async-reject" => PolicyResult.Restricted("async policy"),
                "shadow" => PolicyResult.ShadowReject,
                _ => PolicyResult.Accept,
            };
        }
    }
}
