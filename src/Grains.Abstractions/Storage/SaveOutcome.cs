namespace NostrRelay.Storage;

public enum SaveOutcome
{
    /// <summary>Committed durably at the returned version and position.</summary>
    Saved,
    /// <summary>An event with this id is already stored; nothing changed.</summary>
    Duplicate,
    /// <summary>The stream head was not the expected version; nothing changed.</summary>
    VersionConflict,
    /// <summary>A newer event already holds this replaceable address; nothing changed.</summary>
    Superseded,
    /// <summary>A stored deletion request (NIP-09) of the event's author names it; nothing changed.</summary>
    Deleted,
}
