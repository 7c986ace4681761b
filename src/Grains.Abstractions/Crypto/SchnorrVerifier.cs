namespace NostrRelay.Crypto;

/// <summary>Picks the verifier: libsecp256k1 when it loads, the managed one otherwise.</summary>
public static class SchnorrVerifier
{
    private static readonly Lazy<ISchnorrVerifier> Best = new(() => (ISchnorrVerifier?)NativeSchnorrVerifier.TryCreate() ?? new ManagedSchnorrVerifier());

    /// <summary>The fastest verifier available on this machine, created once.</summary>
    public static ISchnorrVerifier Default => Best.Value;
}
