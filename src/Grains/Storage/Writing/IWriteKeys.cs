namespace NostrRelay.Storage.Writing;

/// <summary>Where a <see cref="StoreWrite"/> names the keys it will read (see <see cref="StoreWrite.Claim"/>).</summary>
internal interface IWriteKeys
{
    void Id(string id);

    void Stream(string stream);

    void Address(string address);
}
