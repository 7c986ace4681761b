-- What Orleans' ADO.NET grain storage (Microsoft.Orleans.Persistence.AdoNet 10.4.2, invariant Npgsql) needs in
-- PostgreSQL: a table for grain state and the three queries it reads from OrleansQuery at start-up. The relay's own
-- SQL: Orleans ships its scripts in no package. Installed in the first schema on the connection's search path,
-- where Orleans, given the same connection string, looks for OrleansQuery.
--
-- The contract, as Orleans uses it:
--   * Parameters arrive by name: @ServiceId, @GrainTypeString (the grain's state type), @GrainIdN0 and @GrainIdN1
--     (the key's two halves), @GrainIdExtensionString (the key's string part, or null), @GrainStateVersion (the
--     ETag the grain holds, null before its first write), @PayloadBinary (the serialized state). @GrainIdHash and
--     @GrainTypeHash arrive too; this table's primary key makes them unnecessary.
--   * A read returns PayloadBinary and Version (no row: never written, or cleared). A cleared state keeps its row
--     and version, so a grain holding the clear's ETag writes on from it, and one that read nothing writes it anew.
--   * A write or clear returns NewGrainStateVersion; null (nothing written, because the version moved on or a
--     first write met an existing row) is a version conflict to Orleans.
--   * Parameters are cast: a null arrives without a type.

CREATE TABLE IF NOT EXISTS orleansquery (
    querykey  text PRIMARY KEY,
    querytext text NOT NULL
);

CREATE TABLE IF NOT EXISTS relay_grain_state (
    service_id   text    NOT NULL,
    grain_type   text    NOT NULL,
    grain_n0     bigint  NOT NULL,
    grain_n1     bigint  NOT NULL,
    grain_string text    NOT NULL,   -- '' when the key has no string part: a primary key column cannot be null
    payload      bytea,
    version      integer NOT NULL,
    modified_on  timestamptz NOT NULL,
    PRIMARY KEY (service_id, grain_type, grain_n0, grain_n1, grain_string)
);

INSERT INTO orleansquery (querykey, querytext) VALUES
('ReadFromStorageKey', '
    SELECT payload AS PayloadBinary, version AS Version
    FROM relay_grain_state
    WHERE service_id = CAST(@ServiceId AS text) AND grain_type = CAST(@GrainTypeString AS text)
      AND grain_n0 = CAST(@GrainIdN0 AS bigint) AND grain_n1 = CAST(@GrainIdN1 AS bigint)
      AND grain_string = COALESCE(CAST(@GrainIdExtensionString AS text), '''')
      AND payload IS NOT NULL;
'),
('WriteToStorageKey', '
    WITH updated AS (
        UPDATE relay_grain_state
        SET payload = CAST(@PayloadBinary AS bytea), version = version + 1, modified_on = now()
        WHERE CAST(@GrainStateVersion AS integer) IS NOT NULL
          AND service_id = CAST(@ServiceId AS text) AND grain_type = CAST(@GrainTypeString AS text)
          AND grain_n0 = CAST(@GrainIdN0 AS bigint) AND grain_n1 = CAST(@GrainIdN1 AS bigint)
          AND grain_string = COALESCE(CAST(@GrainIdExtensionString AS text), '''')
          AND version = CAST(@GrainStateVersion AS integer)
        RETURNING version
    ), inserted AS (
        INSERT INTO relay_grain_state (service_id, grain_type, grain_n0, grain_n1, grain_string, payload, version, modified_on)
        SELECT CAST(@ServiceId AS text), CAST(@GrainTypeString AS text), CAST(@GrainIdN0 AS bigint), CAST(@GrainIdN1 AS bigint),
               COALESCE(CAST(@GrainIdExtensionString AS text), ''''), CAST(@PayloadBinary AS bytea), 1, now()
        WHERE CAST(@GrainStateVersion AS integer) IS NULL
        ON CONFLICT (service_id, grain_type, grain_n0, grain_n1, grain_string) DO UPDATE
        SET payload = EXCLUDED.payload, version = relay_grain_state.version + 1, modified_on = now()
        WHERE relay_grain_state.payload IS NULL
        RETURNING version
    )
    SELECT (SELECT version FROM updated UNION ALL SELECT version FROM inserted LIMIT 1) AS NewGrainStateVersion;
'),
('ClearStorageKey', '
    UPDATE relay_grain_state
    SET payload = NULL, version = version + 1, modified_on = now()
    WHERE service_id = CAST(@ServiceId AS text) AND grain_type = CAST(@GrainTypeString AS text)
      AND grain_n0 = CAST(@GrainIdN0 AS bigint) AND grain_n1 = CAST(@GrainIdN1 AS bigint)
      AND grain_string = COALESCE(CAST(@GrainIdExtensionString AS text), '''')
      AND version = CAST(@GrainStateVersion AS integer)
    RETURNING version AS NewGrainStateVersion;
')
ON CONFLICT (querykey) DO UPDATE SET querytext = EXCLUDED.querytext;
