-- Orleans ADO.NET clustering (invariant "Npgsql") on PostgreSQL: the relay's own tables and the nine named
-- queries Orleans reads from OrleansQuery at start-up. Written against Microsoft.Orleans.Clustering.AdoNet
-- 10.4.2; membership only (grain state and reminders live elsewhere).
--
-- The contract, as Orleans uses it:
--   * Parameters arrive by name: @DeploymentId is Orleans' ClusterId; @Address (text), @Port, @Generation
--     name one silo; @Version is the table version the caller last read; @Status is a SiloStatus number.
--   * Rows are read by column name, so the reads alias their columns to Orleans' names ("StartTime", ...).
--   * Each write that answers true or false returns exactly one row of one column.
--   * Timestamps come as UTC DateTime values, so the columns are timestamptz: nothing depends on the session's
--     TimeZone.
--
-- Every statement is idempotent; PostgresClusteringSchema.EnsureAsync runs the script in one transaction under
-- an advisory lock. Objects land in the first schema on the connection's search path, which is where Orleans,
-- given the same connection string, looks for OrleansQuery.

-- Orleans runs "SELECT QueryKey, QueryText FROM OrleansQuery" verbatim, so these names are fixed (unquoted, they
-- fold to lower case). Compatible with a table another script created under the same name.
CREATE TABLE IF NOT EXISTS orleansquery (
    querykey  text PRIMARY KEY,
    querytext text NOT NULL
);

-- One row per cluster. version is the membership table's etag: every change of a member's row goes with
-- version = version + 1, conditioned on the version the writer read, which is the optimistic concurrency the
-- membership protocol relies on. changed_at is for operators only.
CREATE TABLE IF NOT EXISTS orleans_membership_version (
    cluster_id text        PRIMARY KEY,
    version    integer     NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- One row per silo incarnation: a restart on the same address and port has a new generation.
-- silo_name and host_name are NOT NULL because Orleans casts them to string when it reads a row: a NULL would
-- break every membership read of the cluster, so it is refused at the write instead.
-- proxy_port is 0 for a silo without a gateway. suspect_times is Orleans' own "silo,time|silo,time" text.
-- Deleting a cluster's version row deletes its members (DeleteMembershipTableEntriesKey relies on it).
CREATE TABLE IF NOT EXISTS orleans_membership (
    cluster_id      text        NOT NULL REFERENCES orleans_membership_version (cluster_id) ON DELETE CASCADE,
    address         text        NOT NULL,
    port            integer     NOT NULL,
    generation      integer     NOT NULL,
    silo_name       text        NOT NULL,
    host_name       text        NOT NULL,
    status          integer     NOT NULL,
    proxy_port      integer     NOT NULL,
    suspect_times   text,
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (cluster_id, address, port, generation)
);

-- The queries. Notes per key:
--
-- InsertMembershipVersionKey: true only for the silo that created the version row; racing silos get false.
--
-- MembershipReadAllKey, MembershipReadRowKey: one statement, so the version and the members come from one
--   snapshot. The version row is the left side of the join: Orleans takes the version from the first row and
--   treats a row without "StartTime" as "no member", so an empty cluster still returns its version.
--
-- InsertMembershipKey, UpdateMembershipKey: the version row is bumped first and the member written only from
--   what that UPDATE returned, in one statement. Racing writers queue on the version row's lock; after the
--   first commits, the others see a new version, update nothing and answer false. The existence check sits in
--   the bump so a refused insert (silo already there) or update (silo gone) leaves the version as it was.
--
-- UpdateIAmAlivetimeKey: the heartbeat is outside the versioned protocol: no bump, no answer.
--
-- GatewaysQueryKey: what clients connect to. Orleans passes @Status = Active (3); the generation is part of the
--   gateway's address. A silo without a gateway (proxy_port 0) is no gateway.
--
-- CleanupDefunctSiloEntriesKey: deletes silos that are not Active (SiloStatus.Active = 3) and older than the
--   cut-off, which arrives as @IAmAliveTime: dead ones, and those that crashed while joining or shutting down,
--   which no one declares dead. A silo that started after the cut-off is not old.
--   10.4.2 would instead use an optional per-row CleanupDefunctSiloEntryKey if one were installed; this script
--   installs none, so the set-based delete below is what runs.
INSERT INTO orleansquery (querykey, querytext) VALUES
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO orleans_membership_version (cluster_id)
    VALUES (@DeploymentId)
    ON CONFLICT (cluster_id) DO NOTHING
    RETURNING cluster_id
)
SELECT EXISTS (SELECT FROM created)
$q$),

('MembershipReadAllKey', $q$
SELECT v.version         AS "Version",
       m.address         AS "Address",
       m.port            AS "Port",
       m.generation      AS "Generation",
       m.silo_name       AS "SiloName",
       m.host_name       AS "HostName",
       m.status          AS "Status",
       m.proxy_port      AS "ProxyPort",
       m.suspect_times   AS "SuspectTimes",
       m.start_time      AS "StartTime",
       m.i_am_alive_time AS "IAmAliveTime"
FROM orleans_membership_version v
LEFT JOIN orleans_membership m ON m.cluster_id = v.cluster_id
WHERE v.cluster_id = @DeploymentId
$q$),

('MembershipReadRowKey', $q$
SELECT v.version         AS "Version",
       m.address         AS "Address",
       m.port            AS "Port",
       m.generation      AS "Generation",
       m.silo_name       AS "SiloName",
       m.host_name       AS "HostName",
       m.status          AS "Status",
       m.proxy_port      AS "ProxyPort",
       m.suspect_times   AS "SuspectTimes",
       m.start_time      AS "StartTime",
       m.i_am_alive_time AS "IAmAliveTime"
FROM orleans_membership_version v
LEFT JOIN orleans_membership m
       ON m.cluster_id = v.cluster_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.cluster_id = @DeploymentId
$q$),

('InsertMembershipKey', $q$
WITH bumped AS (
    UPDATE orleans_membership_version
    SET version = version + 1, changed_at = now()
    WHERE cluster_id = @DeploymentId AND version = @Version
      AND NOT EXISTS (SELECT FROM orleans_membership
                      WHERE cluster_id = @DeploymentId
                        AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING cluster_id
), inserted AS (
    INSERT INTO orleans_membership (cluster_id, address, port, generation, silo_name, host_name,
                                    status, proxy_port, start_time, i_am_alive_time)
    SELECT cluster_id, @Address, @Port, @Generation, @SiloName, @HostName,
           @Status, @ProxyPort, @StartTime, @IAmAliveTime
    FROM bumped
    RETURNING cluster_id
)
SELECT EXISTS (SELECT FROM inserted)
$q$),

('UpdateMembershipKey', $q$
WITH bumped AS (
    UPDATE orleans_membership_version
    SET version = version + 1, changed_at = now()
    WHERE cluster_id = @DeploymentId AND version = @Version
      AND EXISTS (SELECT FROM orleans_membership
                  WHERE cluster_id = @DeploymentId
                    AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING cluster_id
), updated AS (
    UPDATE orleans_membership m
    SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
    FROM bumped
    WHERE m.cluster_id = bumped.cluster_id
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING m.cluster_id
)
SELECT EXISTS (SELECT FROM updated)
$q$),

('UpdateIAmAlivetimeKey', $q$
UPDATE orleans_membership
SET i_am_alive_time = @IAmAliveTime
WHERE cluster_id = @DeploymentId
  AND address = @Address AND port = @Port AND generation = @Generation
$q$),

('GatewaysQueryKey', $q$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM orleans_membership
WHERE cluster_id = @DeploymentId AND status = @Status AND proxy_port > 0
$q$),

('DeleteMembershipTableEntriesKey', $q$
DELETE FROM orleans_membership_version
WHERE cluster_id = @DeploymentId
$q$),

('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM orleans_membership
WHERE cluster_id = @DeploymentId
  AND status <> 3
  AND i_am_alive_time < @IAmAliveTime
  AND start_time < @IAmAliveTime
$q$)
ON CONFLICT (querykey) DO UPDATE SET querytext = EXCLUDED.querytext;
