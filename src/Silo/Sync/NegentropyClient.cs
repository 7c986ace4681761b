using System.Text.Json;
using NostrRelay.Sync;

namespace NostrRelay.Silo.Sync;

/// <summary>
/// The initiating side of NIP-77 against another relay: opens a session for a filter with this side's records and
/// answers the relay's messages until it is settled, collecting the ids each side alone has.
/// </summary>
internal sealed class NegentropyClient(RelaySocket socket, TimeSpan timeout, int frameSizeLimit)
{
    public sealed record Outcome(List<byte[]> Have, List<byte[]> Need, int Rounds, long BytesSent, long BytesReceived);

    public async Task<Outcome> ReconcileAsync(string filterJson, NegentropySet records, Action<string>? report, CancellationToken cancellationToken)
    {
        var protocol = new Negentropy(records, frameSizeLimit);
        var have = new List<byte[]>();
        var need = new List<byte[]>();
        var subscriptionId = "sync-" + Guid.NewGuid().ToString("N")[..8];
        long sent = 0, received = 0;
        var rounds = 0;
        var message = protocol.Initiate();
        var opening = $"[\"NEG-OPEN\",\"{subscriptionId}\",{filterJson},\"{Convert.ToHexStringLower(message)}\"]";
        sent += opening.Length;
        await socket.SendAsync(opening, cancellationToken);
        while (true)
        {
            var frame = await socket.ReceiveAsync(timeout, cancellationToken);
            if (frame.ValueKind != JsonValueKind.Array || frame.GetArrayLength() < 2 || frame[1].ValueKind != JsonValueKind.String
                || frame[1].GetString() != subscriptionId)
                continue;
            var verb = frame[0].GetString();
            if (verb == "NEG-ERR")
                throw new SyncException($"{socket.Url} refused to reconcile: {(frame.GetArrayLength() > 2 ? frame[2].ToString() : "no reason given")}");
            if (verb != "NEG-MSG" || frame.GetArrayLength() < 3) continue;
            var hex = frame[2].GetString() ?? "";
            received += hex.Length;
            rounds++;
            byte[]? next;
            try
            {
                next = protocol.ReconcileAsInitiator(Convert.FromHexString(hex), have, need);
            }
            catch (Exception ex) when (ex is NegentropyException or FormatException)
            {
                throw new SyncException($"{socket.Url} sent a negentropy message this relay cannot read: {ex.Message}");
            }
            report?.Invoke($"round {rounds}: have {have.Count:N0}, need {need.Count:N0}");
            if (next is null) break;
            var reply = $"[\"NEG-MSG\",\"{subscriptionId}\",\"{Convert.ToHexStringLower(next)}\"]";
            sent += reply.Length;
            await socket.SendAsync(reply, cancellationToken);
        }
        await socket.SendAsync($"[\"NEG-CLOSE\",\"{subscriptionId}\"]", cancellationToken);
        return new Outcome(have, need, rounds, sent, received);
    }
}
