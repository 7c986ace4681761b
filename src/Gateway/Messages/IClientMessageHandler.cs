using NostrRelay.Connections;

namespace NostrRelay.Messages;

/// <summary>
/// Handles one client verb (EVENT, REQ, CLOSE…). Handlers are shared by every connection of the gateway and keep
/// no state of their own: what a connection remembers (open REQs, EVENTs in flight) lives on <see cref="RelayConnection"/>.
/// A new NIP adds a handler, not a branch in the connection.
/// </summary>
internal interface IClientMessageHandler
{
    /// <param name="frame">The whole message, UTF-8, valid only until the returned task completes.</param>
    ValueTask HandleAsync(RelayConnection connection, ReadOnlyMemory<byte> frame);
}
