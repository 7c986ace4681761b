using System.Diagnostics;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Crypto;
using NostrRelay.Protocol;
using NostrRelay.Testing;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// BIP-340 verifications per second of each verifier the relay can use, in this process on one thread: 2,000 events
/// signed by libsecp256k1 (100 keys), each verifier run for 3 s over them after a warm-up, alternating which goes first.
/// </summary>
internal static class VerifyScenario
{
    public static Task RunAsync(ScenarioContext context)
    {
        var signer = NativeSchnorrSigner.Shared;
        var keys = Enumerable.Range(0, 100).Select(k => System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(k + 11))).ToArray();
        var events = Enumerable.Range(0, 2_000).Select(i => signer.Sign(keys[i % keys.Length], 1_700_000_000 + i, 1, [], $"verify {i}")).ToArray();
        var parts = events.Select(e => (Sig: Convert.FromHexString(e.Sig), Id: Convert.FromHexString(e.Id), Pubkey: Convert.FromHexString(e.Pubkey))).ToArray();
        var verifiers = new List<ISchnorrVerifier>();
        if (NativeSchnorrVerifier.TryCreate() is { } native) verifiers.Add(native);
        verifiers.Add(new NBitcoinSchnorrVerifier());
        foreach (var other in Others()) verifiers.Add(other);
        var duration = context.Options.Quick ? TimeSpan.FromSeconds(0.5) : TimeSpan.FromSeconds(3);
        var rates = verifiers.ToDictionary(v => v.Name, _ => new List<double>());
        for (var round = 0; round < 2; round++)
        {
            var order = round == 0 ? verifiers : Enumerable.Reverse(verifiers).ToList();
            foreach (var verifier in order)
            {
                ScenarioContext.Progress($"verify: {verifier.Name}, round {round + 1}");
                Measure(verifier, parts, TimeSpan.FromMilliseconds(200));   // warm-up: the JIT, caches
                rates[verifier.Name].Add(Measure(verifier, parts, duration));
            }
        }
        var fastest = rates.Values.Max(r => r.Max());
        foreach (var (name, measured) in rates)
        {
            var best = measured.Max();
            context.Report.Row($"verify: {name}: verifications/s, one thread", $"{Report.Count(best)} ({Report.Fixed(fastest / best, "0.0")}× slower than the fastest)");
            context.Report.Note($"verify: {name}: rounds {string.Join(", ", measured.Select(r => Report.Count(r)))} verifications/s.");
        }
        return Task.CompletedTask;
    }

    /// <summary>Verifiers kept only to be compared here.</summary>
    private static IEnumerable<ISchnorrVerifier> Others()
    {
        yield return new ManagedSchnorrVerifier();
    }

    private static double Measure(ISchnorrVerifier verifier, (byte[] Sig, byte[] Id, byte[] Pubkey)[] parts, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        long done = 0;
        while (clock.Elapsed < duration)
        {
            foreach (var (sig, id, pubkey) in parts)
            {
                if (!verifier.Verify(sig, id, pubkey)) throw new InvalidOperationException($"{verifier.Name} refused a valid signature");
                done++;
                if ((done & 63) == 0 && clock.Elapsed >= duration) break;
            }
        }
        return done / clock.Elapsed.TotalSeconds;
    }
}
