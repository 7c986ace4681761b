using System.Runtime.InteropServices;
using NostrRelay.Protocol;

namespace NostrRelay.Testing;

/// <summary>
/// Test-only BIP-340 signer on Debian's libsecp256k1 (package libsecp256k1-1, 0.2.0), for tests and
/// benchmarks that need many valid events without spawning the JS signer. Signatures use no aux randomness
/// (libsecp256k1 then behaves as with 32 zero bytes), so the same input always gives the same event.
/// Thread-safe: the context is only read after creation. Throws when the library is missing, because a
/// test that cannot sign must fail, not skip.
/// </summary>
public sealed class NativeSchnorrSigner
{
    public const string LibraryName = "libsecp256k1.so.1";
    private const uint ContextNone = 1;   // SECP256K1_CONTEXT_NONE: a 0.2.x context can sign with it.
    private const int KeypairSize = 96;   // secp256k1_keypair is an opaque 96-byte struct.
    private const int XOnlyPubkeySize = 64;   // secp256k1_xonly_pubkey is an opaque 64-byte struct.

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr ContextCreate(uint flags);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int KeypairCreate(IntPtr context, [Out] byte[] keypair, [In] byte[] secretKey);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int KeypairXOnlyPub(IntPtr context, [Out] byte[] pubkey, IntPtr parity, [In] byte[] keypair);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int XOnlyPubkeySerialize(IntPtr context, [Out] byte[] output32, [In] byte[] pubkey);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int SchnorrSign32(IntPtr context, [Out] byte[] signature64, [In] byte[] message32, [In] byte[] keypair, [In] byte[]? auxRand32);

    private static readonly Lazy<NativeSchnorrSigner> SharedInstance = new(() => new NativeSchnorrSigner());

    private readonly IntPtr _context;
    private readonly KeypairCreate _keypairCreate;
    private readonly KeypairXOnlyPub _keypairXOnlyPub;
    private readonly XOnlyPubkeySerialize _serialize;
    private readonly SchnorrSign32 _sign32;

    public NativeSchnorrSigner()
    {
        if (!NativeLibrary.TryLoad(LibraryName, out var library))
            throw new InvalidOperationException($"{LibraryName} not found: install Debian's libsecp256k1-1 (apt-get install libsecp256k1-1).");
        _keypairCreate = Export<KeypairCreate>(library, "secp256k1_keypair_create");
        _keypairXOnlyPub = Export<KeypairXOnlyPub>(library, "secp256k1_keypair_xonly_pub");
        _serialize = Export<XOnlyPubkeySerialize>(library, "secp256k1_xonly_pubkey_serialize");
        _sign32 = Export<SchnorrSign32>(library, "secp256k1_schnorrsig_sign32");
        _context = Export<ContextCreate>(library, "secp256k1_context_create")(ContextNone);
        if (_context == IntPtr.Zero) throw new InvalidOperationException("secp256k1_context_create failed");
    }

    /// <summary>One signer per process; creating more is allowed but pointless.</summary>
    public static NativeSchnorrSigner Shared => SharedInstance.Value;

    private static T Export<T>(IntPtr library, string name) where T : Delegate =>
        Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));

    /// <summary>The x-only public key as 64 lowercase hex characters, as nostr-tools' getPublicKey spells it.</summary>
    public string PublicKeyHex(byte[] secretKey) => Convert.ToHexStringLower(PublicKey(Keypair(secretKey)));

    /// <summary>A complete, valid event: id from <see cref="CanonicalJson"/>, signature over that id.</summary>
    public NostrEvent Sign(byte[] secretKey, long createdAt, int kind, string[][] tags, string content)
    {
        var keypair = Keypair(secretKey);
        var pubkey = Convert.ToHexStringLower(PublicKey(keypair));
        var id = new byte[32];
        CanonicalJson.ComputeId(pubkey, createdAt, kind, tags, content, id);
        var sig = SignWithKeypair(keypair, id, auxRand32: null);
        return CanonicalJson.CreateEvent(Convert.ToHexStringLower(id), pubkey, createdAt, kind, tags, content, Convert.ToHexStringLower(sig));
    }

    /// <summary>BIP-340 signature of a 32-byte message; null aux randomness equals 32 zero bytes (BIP-340 test vector 0).</summary>
    public byte[] SignMessage(byte[] secretKey, byte[] message32, byte[]? auxRand32 = null)
    {
        if (message32.Length != 32) throw new ArgumentException("the message must be 32 bytes", nameof(message32));
        if (auxRand32 is not null && auxRand32.Length != 32) throw new ArgumentException("aux randomness must be 32 bytes", nameof(auxRand32));
        return SignWithKeypair(Keypair(secretKey), message32, auxRand32);
    }

    private byte[] Keypair(byte[] secretKey)
    {
        if (secretKey.Length != 32) throw new ArgumentException("a secret key is 32 bytes", nameof(secretKey));
        var keypair = new byte[KeypairSize];
        if (_keypairCreate(_context, keypair, secretKey) != 1)
            throw new ArgumentException("the secret key is zero or not below the curve order", nameof(secretKey));
        return keypair;
    }

    private byte[] PublicKey(byte[] keypair)
    {
        var pubkey = new byte[XOnlyPubkeySize];
        if (_keypairXOnlyPub(_context, pubkey, IntPtr.Zero, keypair) != 1) throw new InvalidOperationException("secp256k1_keypair_xonly_pub failed");
        var output = new byte[32];
        if (_serialize(_context, output, pubkey) != 1) throw new InvalidOperationException("secp256k1_xonly_pubkey_serialize failed");
        return output;
    }

    private byte[] SignWithKeypair(byte[] keypair, byte[] message32, byte[]? auxRand32)
    {
        var signature = new byte[64];
        if (_sign32(_context, signature, message32, keypair, auxRand32) != 1) throw new InvalidOperationException("secp256k1_schnorrsig_sign32 failed");
        return signature;
    }
}
