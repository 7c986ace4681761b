using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;
using NostrRelay.Storage.Sql;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// Turns a NIP-01 filter into SQL with parameters, keeping <see cref="Filter.Matches"/> semantics: conditions
/// are AND'ed, the values of one list are OR'ed, since and until are inclusive, and each "#x" condition needs
/// one tag named x whose first value is listed. Callers have already answered <see cref="Filter.CannotMatch"/>.
/// </summary>
internal static class SqliteFilterSql
{
    /// <summary>Longer lists travel as one JSON array parameter, which keeps the SQL short and under SQLite's variable limit.</summary>
    private const int MaxInlineValues = 128;

    /// <summary>
    /// <c>SELECT json</c> of the matching events in NIP-01 order (created_at desc, id asc), at most
    /// <paramref name="limit"/> of them, starting after <paramref name="after"/> in that order when it is set.
    /// </summary>
    /// <param name="tiesInOrder">
    /// False: only newest first, for a reader that orders each second itself (<see cref="TiesSortedByReader"/>).
    /// </param>
    public static void Select(SqliteCommand command, Filter filter, EventCursor? after, int limit, bool tiesInOrder = true)
    {
        var sql = new StringBuilder("SELECT json FROM events WHERE 1");
        AppendConditions(sql, command.Parameters, filter, after);
        sql.Append(tiesInOrder ? " ORDER BY created_at DESC, id LIMIT " : " ORDER BY created_at DESC LIMIT ")
            .Append(limit.ToString(CultureInfo.InvariantCulture)).Append(';');
        command.CommandText = sql.ToString();
    }

    /// <summary>
    /// True when the author index or the kind index gives the matches newest first by itself (one author or one kind,
    /// nothing else but since and until). Their keys end at created_at, so SQLite would sort each second's rows by id
    /// on the way out, every row with its JSON: a third of the time of such a query. The reader reads them in index
    /// order instead, stops after the last row of the second it needs, and sorts that little by id (SqliteEventStore).
    /// </summary>
    public static bool TiesSortedByReader(Filter filter) =>
        filter.Ids is null && filter.Tags is null && filter.Search is null
        && ((filter.Authors is [_] && filter.Kinds is null) || (filter.Kinds is [_] && filter.Authors is null));

    /// <summary>
    /// NIP-50: <c>SELECT json</c> of the events whose words hold every term, best first by FTS5's bm25 rank, then
    /// newest; the filter's other conditions apply as usual.
    /// </summary>
    /// <remarks>
    /// Ranked among the newest <see cref="SearchRanking.MaxCandidates"/> events with every word, so a common word costs
    /// a bounded read; the other conditions and the ranking see positions and scores only, and the JSON is read for the
    /// events returned, not for every candidate.
    /// </remarks>
    public static void Search(SqliteCommand command, Filter structural, SearchQuery query, int limit)
    {
        var sql = new StringBuilder("WITH hits AS (SELECT rowid AS hit, rank AS score FROM search WHERE search MATCH ")
            .Append(Add(command.Parameters, MatchExpression(query)))
            .Append(" ORDER BY rowid DESC LIMIT ").Append(SearchRanking.MaxCandidates.ToString(CultureInfo.InvariantCulture))
            .Append("), best AS (SELECT hit, score, created_at AS at, id AS event_id FROM hits JOIN events ON position = hit WHERE 1");
        AppendConditions(sql, command.Parameters, structural, after: null);
        sql.Append(" ORDER BY score, created_at DESC, id LIMIT ").Append(limit.ToString(CultureInfo.InvariantCulture))
            .Append(") SELECT e.json FROM best JOIN events e ON e.position = best.hit ORDER BY best.score, best.at DESC, best.event_id;");
        command.CommandText = sql.ToString();
    }

    /// <summary>Each term quoted (a term is letters and digits only, so it holds no quote): FTS5 then needs all of them.</summary>
    private static string MatchExpression(SearchQuery query)
    {
        var match = new StringBuilder();
        foreach (var term in query.Terms)
        {
            if (match.Length > 0) match.Append(' ');
            match.Append('"').Append(term).Append('"');
        }
        return match.ToString();
    }

    /// <summary><c>SELECT id, pubkey, kind</c> of every match, in no order: columns before the JSON, so its pages are not read.</summary>
    public static void Keys(SqliteCommand command, Filter filter)
    {
        var sql = new StringBuilder("SELECT id, pubkey, kind, created_at FROM events WHERE 1");
        AppendConditions(sql, command.Parameters, filter, after: null);
        sql.Append(';');
        command.CommandText = sql.ToString();
    }

    /// <summary>
    /// How many rows of the tag index one condition names within since and until, of the given kinds when there are some,
    /// counted up to <paramref name="upTo"/>.
    /// </summary>
    public static void CountTagRows(SqliteCommand command, TagFilter condition, int[]? kinds, long? since, long? until, int upTo)
    {
        var sql = new StringBuilder("SELECT count(*) FROM (SELECT 1 FROM tags WHERE ");
        AppendTagRows(sql, command.Parameters, condition, kinds, since, until);
        sql.Append(" LIMIT ").Append(upTo.ToString(CultureInfo.InvariantCulture)).Append(");");
        command.CommandText = sql.ToString();
    }

    /// <summary>The rows of the tag index one condition names, of the given kinds when there are some, within since and until.</summary>
    private static void AppendTagRows(StringBuilder sql, SqliteParameterCollection parameters, TagFilter condition, int[]? kinds, long? since, long? until)
    {
        sql.Append("name = ").Append(Add(parameters, condition.Name.ToString())).Append(" AND value");
        AppendKeys(sql, parameters, condition.Values);
        if (kinds is not null) AppendIn(sql.Append(" AND kind"), parameters, kinds);
        if (since is { } from) sql.Append(" AND created_at >= ").Append(Add(parameters, from));
        if (until is { } to) sql.Append(" AND created_at <= ").Append(Add(parameters, to));
    }

    /// <summary>
    /// The created_at of the <paramref name="take"/>-th newest row of the tag index for one condition within since and
    /// until, of the given kinds when there are some: every event of a page of that condition's matches is at or after it. Null when there are fewer rows. Found
    /// without sorting every row of the values: for each value, the time of its <paramref name="take"/>-th newest row, and
    /// of those the newest, bounds the answer from below (that value alone has that many rows from there on), and each value
    /// has fewer than that many after it, so only those rows are sorted; when no value has that many, all their rows are.
    /// </summary>
    public static void TagPageStart(SqliteCommand command, TagFilter condition, int[]? kinds, long? since, long? until, int take)
    {
        var parameters = command.Parameters;
        var name = Add(parameters, condition.Name.ToString());
        var skip = Add(parameters, Math.Max(take - 1, 0));
        var rowConditions = new StringBuilder();
        if (kinds is not null) AppendIn(rowConditions.Append(" AND kind"), parameters, kinds);
        if (since is { } from) rowConditions.Append(" AND created_at >= ").Append(Add(parameters, from));
        if (until is { } to) rowConditions.Append(" AND created_at <= ").Append(Add(parameters, to));
        var sql = new StringBuilder("SELECT created_at FROM tags WHERE name = ").Append(name).Append(" AND value");
        AppendKeys(sql, parameters, condition.Values);
        sql.Append(rowConditions)
            .Append(" AND created_at >= coalesce((SELECT max((SELECT created_at FROM tags WHERE name = ").Append(name)
            .Append(" AND value = ").Append(SqliteKey.InSql("v.value")).Append(rowConditions)
            .Append(" ORDER BY created_at DESC LIMIT 1 OFFSET ").Append(skip)
            .Append(")) FROM json_each(").Append(Add(parameters, JsonSerializer.Serialize(condition.Values))).Append(") v), ")
            .Append(long.MinValue.ToString(CultureInfo.InvariantCulture)).Append(')')
            .Append(" ORDER BY created_at DESC LIMIT 1 OFFSET ").Append(skip).Append(';');
        command.CommandText = sql.ToString();
    }

    public static void Count(SqliteCommand command, Filter filter)
    {
        if (filter is { Ids: null, Authors: null, Search: null, Tags: [var condition] })
        {
            // Kinds and times are on the tag rows too (a note's reactions, a pubkey's followers): the tag index alone
            // counts them. An event that carries two of the values has a row for each.
            var rows = new StringBuilder(condition.Values.Length > 1 ? "SELECT count(DISTINCT event_position)" : "SELECT count(*)").Append(" FROM tags WHERE ");
            AppendTagRows(rows, command.Parameters, condition, filter.Kinds, filter.Since, filter.Until);
            command.CommandText = rows.Append(';').ToString();
            return;
        }
        var sql = new StringBuilder("SELECT count(*) FROM events WHERE 1");
        AppendConditions(sql, command.Parameters, filter, after: null);
        sql.Append(';');
        command.CommandText = sql.ToString();
    }

    private static void AppendConditions(StringBuilder sql, SqliteParameterCollection parameters, Filter filter, EventCursor? after)
    {
        if (filter.Ids is { } ids) AppendKeys(sql.Append(" AND id"), parameters, ids);
        // An address names its kind and author, so it stands for both conditions (see ReplaceableAddresses).
        var tagKinds = KindsOnTagRows(filter);
        if (ReplaceableAddresses.Apply(filter)) AppendIn(sql.Append(" AND address"), parameters, ReplaceableAddresses.Of(filter));
        else
        {
            if (filter.Authors is { } authors) AppendKeys(sql.Append(" AND pubkey"), parameters, authors);
            // Beside a tag condition the tag rows carry the kind: checked there, an event of another kind is never looked up.
            // A kind is shared by a large part of all events; with authors beside it, SQLite (no statistics) may still pick
            // the kind index. Unary + keeps it off that index so a more selective one drives.
            if (filter.Kinds is { } kinds && tagKinds is null)
                AppendIn(sql.Append(filter.Authors is null ? " AND kind" : " AND +kind"), parameters, kinds);
        }
        var timeRange = new StringBuilder();
        if (filter.Since is { } since) timeRange.Append(" AND created_at >= ").Append(Add(parameters, since));
        if (filter.Until is { } until) timeRange.Append(" AND created_at <= ").Append(Add(parameters, until));
        if (after is { } cursor)
        {
            // Keyset paging in NIP-01 order: older, or the same second with a higher id. The first term alone
            // bounds an index range; the second only filters.
            var createdAt = Add(parameters, cursor.CreatedAt);
            timeRange.Append(" AND created_at <= ").Append(createdAt);
            sql.Append(" AND (created_at < ").Append(createdAt).Append(" OR id > ").Append(Add(parameters, SqliteKey.Of(cursor.Id))).Append(')');
        }
        sql.Append(timeRange);
        if (filter.Search is { } search && SearchQuery.Parse(search) is { IsEmpty: false } query)
            sql.Append(" AND position IN (SELECT rowid FROM search WHERE search MATCH ").Append(Add(parameters, MatchExpression(query))).Append(')');
        if (filter.Tags is { } tags)
        {
            foreach (var condition in tags)
            {
                // The tag rows carry created_at, so the time range narrows the tag index range too.
                sql.Append(" AND position IN (SELECT event_position FROM tags WHERE ");
                AppendTagRows(sql, parameters, condition, tagKinds, since: null, until: null);
                sql.Append(timeRange).Append(')');
            }
        }
    }

    /// <summary>
    /// The kinds a filter's tag conditions check on the tag rows themselves (each row carries its event's kind): all of them
    /// when it has a tag condition, unless the kinds and authors are read by their addresses instead.
    /// </summary>
    public static int[]? KindsOnTagRows(Filter filter) =>
        filter.Tags is { Length: > 0 } && !ReplaceableAddresses.Apply(filter) ? filter.Kinds : null;

    /// <summary>Short lists bind one parameter per value; long ones one JSON parameter, read back with json_each.</summary>
    private static void AppendIn<T>(StringBuilder sql, SqliteParameterCollection parameters, T[] values) where T : notnull
    {
        if (values.Length > MaxInlineValues)
        {
            sql.Append(" IN (SELECT value FROM json_each(").Append(Add(parameters, JsonSerializer.Serialize(values))).Append("))");
            return;
        }
        sql.Append(" IN (");
        for (var i = 0; i < values.Length; i++)
        {
            if (i > 0) sql.Append(',');
            sql.Append(Add(parameters, values[i]));
        }
        sql.Append(')');
    }

    /// <summary><see cref="AppendIn"/> for a column of <see cref="SqliteKey"/>s.</summary>
    private static void AppendKeys(StringBuilder sql, SqliteParameterCollection parameters, string[] values)
    {
        if (values.Length > MaxInlineValues)
        {
            sql.Append(" IN (SELECT ").Append(SqliteKey.InSql("value")).Append(" FROM json_each(")
                .Append(Add(parameters, JsonSerializer.Serialize(values))).Append("))");
            return;
        }
        sql.Append(" IN (");
        for (var i = 0; i < values.Length; i++)
        {
            if (i > 0) sql.Append(',');
            sql.Append(Add(parameters, SqliteKey.Of(values[i])));
        }
        sql.Append(')');
    }

    private static string Add(SqliteParameterCollection parameters, object value)
    {
        var name = "$p" + parameters.Count.ToString(CultureInfo.InvariantCulture);
        parameters.AddWithValue(name, value);
        return name;
    }
}
