using System.Text.Json;
using NostrRelay.Framing;
using NostrRelay.Hosting;
using NostrRelay.Protocol;

namespace NostrRelay.Silo.Sync;

/// <summary>Which way events go: from the other relay to this one, from this one to the other, or both.</summary>
internal enum SyncDirection { Down, Up, Both }

/// <summary>
/// <c>sync|stream &lt;ws-url&gt; [--filter JSON] [--dir down|up|both] [--relay ws-url] [--timeout seconds]</c>; every
/// other argument (<c>--Relay:Store:Path=...</c>) configures the relay as it would when running.
/// </summary>
internal sealed record SyncArguments(string Command, Uri Other, string FilterJson, Filter Filter, SyncDirection Direction, Uri? Relay,
    TimeSpan Timeout, string[] Configuration)
{
    public const string Usage = """
        usage: sync <ws-url> [--filter JSON] [--dir down|up|both] [--relay ws-url] [--timeout seconds] [--Relay:...=value]
               stream <ws-url> [--filter JSON] [--dir down|up|both] [--relay ws-url] [--timeout seconds] [--Relay:...=value]
          sync     reconciles this relay's events with the other relay's (NIP-77), then downloads what this relay lacks
                   (--dir down, the default), uploads what the other lacks (up), or both
          stream   follows the other relay's new events into this one (down, the default), this one's into the other (up),
                   or both, reconnecting after a drop
          --filter which events (a NIP-01 filter; default every event)
          --relay  this relay's WebSocket URL, where downloaded events are published (default: the configured port on 127.0.0.1)
          --timeout seconds to wait for an answer before giving up (default 30)
        """;

    /// <summary>The parsed arguments, or null with what is wrong.</summary>
    public static SyncArguments? Parse(string[] args, out string? error)
    {
        error = null;
        if (args.Length < 2 || !Uri.TryCreate(args[1], UriKind.Absolute, out var other) || other.Scheme is not ("ws" or "wss"))
        {
            error = "the first argument must be the other relay's ws:// or wss:// URL";
            return null;
        }
        var filterJson = "{}";
        var direction = SyncDirection.Down;
        Uri? relay = null;
        var timeout = TimeSpan.FromSeconds(30);
        var configuration = new List<string>();
        for (var i = 2; i < args.Length; i++)
        {
            var name = args[i];
            if (name is not ("--filter" or "--dir" or "--relay" or "--timeout"))
            {
                configuration.Add(name);
                continue;
            }
            if (i + 1 >= args.Length) { error = $"{name} needs a value"; return null; }
            var value = args[++i];
            switch (name)
            {
                case "--filter": filterJson = value; break;
                case "--dir":
                    if (!Enum.TryParse(value, ignoreCase: true, out direction) || !Enum.IsDefined(direction)) { error = "--dir is down, up or both"; return null; }
                    break;
                case "--relay":
                    if (!Uri.TryCreate(value, UriKind.Absolute, out relay) || relay.Scheme is not ("ws" or "wss")) { error = "--relay must be a ws:// or wss:// URL"; return null; }
                    break;
                default:
                    if (!double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds is < 1 or > 3600) { error = "--timeout is a number of seconds from 1 to 3600"; return null; }
                    timeout = TimeSpan.FromSeconds(seconds);
                    break;
            }
        }
        if (!TryReadFilter(filterJson, out var filter, out error)) return null;
        return new SyncArguments(args[0], other, filterJson, filter!, direction, relay, timeout, [.. configuration]);
    }

    /// <summary>Read as the relay reads a NEG-OPEN's filter, so both sides mean the same events.</summary>
    private static bool TryReadFilter(string json, out Filter? filter, out string? error)
    {
        filter = null;
        try
        {
            var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(json), FrameReader.Options);
            if (!reader.Read()) { error = "--filter is empty"; return false; }
            var limits = new RelayLimits { MaxFilterValues = int.MaxValue };
            if (!FrameReader.TryReadFilter(ref reader, limits, out filter, out error, boundedLimit: false))
            {
                error = "--filter: " + error;
                return false;
            }
            return true;
        }
        catch (JsonException ex)
        {
            error = "--filter is not JSON: " + ex.Message;
            return false;
        }
    }
}
