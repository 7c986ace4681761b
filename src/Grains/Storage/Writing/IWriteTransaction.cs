using NostrRelay.Protocol;

namespace NostrRelay.Storage.Writing;

/// <summary>
/// What a <see cref="StoreWrite"/> may read and change inside a store's batch transaction. Every read sees what
/// the writes before it in the batch did, committed or not; only keys the write claimed are read
/// (<see cref="StoreWrite.Claim"/>). Each store implements this once, in its own query language; the rules of a
/// write (duplicates, versions, supersession, deletion) are written once, above the stores.
/// </summary>
internal interface IWriteTransaction
{
    /// <summary>The stored event with this id, or null.</summary>
    StoredRow? FindById(string id);

    /// <summary>The stream's head; 0 for a stream never written. It stays after deletes, so versions are never reused.</summary>
    long Head(string stream);

    /// <summary>The stored events holding a replaceable or addressable address (normally one).</summary>
    IReadOnlyList<StoredRow> Holders(string address);

    /// <summary>
    /// The stored deletion requests (kind 5) with a <paramref name="tag"/> tag (<c>e</c> or <c>a</c>) of this
    /// <paramref name="value"/>, created at or after <paramref name="since"/>. Usually none: a range read on the tag index.
    /// </summary>
    IReadOnlyList<DeletionMark> DeletionRequests(char tag, string value, long since);

    /// <summary>Removes a stored event and everything that indexes it; its stream head stays.</summary>
    void Remove(StoredRow row);

    /// <summary>
    /// Stores the event at <paramref name="version"/> of <paramref name="stream"/> with its indexes and moves the
    /// head there. The position drawn for it reaches <paramref name="owner"/> through <see cref="StoreWrite.Inserted"/>,
    /// at once or when the store applies the batch.
    /// </summary>
    void Insert(NostrEvent evt, string stream, long version, StoreWrite owner);
}
