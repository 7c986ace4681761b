namespace NostrRelay.Subscriptions;

/// <summary>Which condition files a filter in the <see cref="FilterIndex"/>, from most to least selective.</summary>
internal enum IndexKeyKind { Id, Author, Tag, Kind, Scan }
