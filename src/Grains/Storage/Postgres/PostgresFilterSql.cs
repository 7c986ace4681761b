using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;
using NostrRelay.Storage.Sql;

namespace NostrRelay.Storage.Postgres;

/// <summary>
/// Turns a NIP-01 filter into SQL with parameters, keeping <see cref="Filter.Matches"/> semantics: conditions
/// are AND'ed, the values of one list are OR'ed, since and until are inclusive, and each "#x" condition needs
/// one tag named x whose first value is listed. Callers have already answered <see cref="Filter.CannotMatch"/>.
/// </summary>
/// <remarks>
/// A tag condition with one value (the common <c>{"#p":[me]}</c>, <c>{"#e":[note]}</c>) is an inner join
/// with the tags table, ordered by the tag row's created_at: a backward scan of the tags key then yields the
/// events newest first, so LIMIT stops after a page, however many events carry the tag. (Joining on
/// created_at as well would say the same, but the planner then takes the two columns as independent and
/// expects one row.) Other tag conditions are EXISTS probes on the full tags key. Single values compare with
/// <c>=</c>, lists with <c>= ANY</c>, so the planner sees an equality it can order by.
/// </remarks>
internal static class PostgresFilterSql
{
    /// <summary>
    /// <c>SELECT json</c> of the matching events in NIP-01 order (created_at desc, id asc), at most
    /// <paramref name="limit"/> of them, starting after <paramref name="after"/> in that order when it is set.
    /// </summary>
    public static void Select(NpgsqlCommand command, PostgresSchema schema, Filter filter, EventCursor? after, int limit)
    {
        if (MergedTag(filter) is var merged and >= 0)
        {
            SelectMerged(command, schema, filter, merged, after, limit);
            return;
        }
        var sql = new StringBuilder("SELECT e.json");
        var time = AppendFromWhere(sql, command.Parameters, schema, filter, after);
        sql.Append(" ORDER BY ").Append(time).Append(" DESC, e.id LIMIT ").Append(limit.ToString(CultureInfo.InvariantCulture));
        command.CommandText = sql.ToString();
    }

    /// <summary>
    /// NIP-50: <c>SELECT json</c> of the events whose words hold every term (a GIN index lookup), best first by
    /// ts_rank, then newest; the filter's other conditions apply as usual.
    /// </summary>
    /// <remarks>
    /// Ranked among the newest <see cref="SearchRanking.MaxCandidates"/> events with every word (a GIN lookup), so a
    /// common word costs a bounded read; the query is a tsquery literal, never re-parsed into other words. The lexemes
    /// carry no positions, so ts_rank counts each word once; normalization 1 (divide by 1 + log of the number of
    /// words) puts a short note with the words before a long one that mentions them in passing.
    /// </remarks>
    public static void Search(NpgsqlCommand command, PostgresSchema schema, Filter structural, SearchQuery query, int limit)
    {
        var tsquery = Add(command.Parameters, TsQuery(query), NpgsqlDbType.Text);
        var sql = new StringBuilder("WITH hits AS (SELECT event_position AS hit, ts_rank(words, ").Append(tsquery).Append("::tsquery, 1) AS score FROM ")
            .Append(schema.Words).Append(" WHERE words @@ ").Append(tsquery).Append("::tsquery ORDER BY event_position DESC LIMIT ")
            .Append(SearchRanking.MaxCandidates.ToString(CultureInfo.InvariantCulture)).Append(") SELECT e.json");
        AppendFromWhere(sql, command.Parameters, schema, structural, after: null);
        // The candidates join goes in front of the WHERE the shared builder wrote.
        var where = sql.ToString().IndexOf(" WHERE TRUE", StringComparison.Ordinal);
        sql.Insert(where, " JOIN hits h ON h.hit = e.position");
        sql.Append(" ORDER BY h.score DESC, e.created_at DESC, e.id LIMIT ").Append(limit.ToString(CultureInfo.InvariantCulture));
        command.CommandText = sql.ToString();
    }

    /// <summary>Every term, AND-ed, each a quoted lexeme taken as it is (a term holds no quote or backslash).</summary>
    private static string TsQuery(SearchQuery query)
    {
        var text = new StringBuilder();
        foreach (var term in query.Terms)
        {
            if (text.Length > 0) text.Append(" & ");
            text.Append('\'').Append(term).Append('\'');
        }
        return text.ToString();
    }

    /// <summary><c>SELECT id, pubkey, kind</c> of every match, in no order.</summary>
    public static void Keys(NpgsqlCommand command, PostgresSchema schema, Filter filter)
    {
        var sql = new StringBuilder("SELECT e.id, e.pubkey, e.kind, e.created_at");
        AppendFromWhere(sql, command.Parameters, schema, filter, after: null);
        command.CommandText = sql.ToString();
    }

    public static void Count(NpgsqlCommand command, PostgresSchema schema, Filter filter)
    {
        if (filter is { Ids: null, Authors: null, Search: null, Tags: [var condition] })
        {
            // Kinds and times are on the tag rows too (a note's reactions, a pubkey's followers): the tags index alone
            // counts them. An event that carries two of the values has a row for each.
            var parameters = command.Parameters;
            var rows = new StringBuilder(condition.Values.Length > 1 ? "SELECT count(DISTINCT event_position)" : "SELECT count(*)")
                .Append(" FROM ").Append(schema.Tags).Append(" t WHERE t.name = ").Append(Add(parameters, TagKeys.Name(condition.Name), NpgsqlDbType.Integer))
                .Append(" AND t.value");
            AppendValues(rows, parameters, condition);
            if (filter.Kinds is { } kinds)
            {
                var listed = Add(parameters, kinds, NpgsqlDbType.Array | NpgsqlDbType.Integer);
                rows.Append(" AND (t.kind = ANY(").Append(listed).Append(") OR t.kind = ").Append(PostgresSchema.UnknownKind).Append(" AND EXISTS (SELECT 1 FROM ")
                    .Append(schema.Events).Append(" e WHERE e.position = t.event_position AND e.kind = ANY(").Append(listed).Append(")))");
            }
            if (filter.Since is { } since) rows.Append(" AND t.created_at >= ").Append(Add(parameters, since, NpgsqlDbType.Bigint));
            if (filter.Until is { } until) rows.Append(" AND t.created_at <= ").Append(Add(parameters, until, NpgsqlDbType.Bigint));
            command.CommandText = rows.ToString();
            return;
        }
        var sql = new StringBuilder("SELECT count(*)");
        AppendFromWhere(sql, command.Parameters, schema, filter, after: null);
        command.CommandText = sql.ToString();
    }

    /// <returns>The created_at column to order by: the driving tag row's, or the event's.</returns>
    private static string AppendFromWhere(StringBuilder sql, NpgsqlParameterCollection parameters, PostgresSchema schema, Filter filter, EventCursor? after)
    {
        sql.Append(" FROM ").Append(schema.Events).Append(" e");
        var driver = filter.Ids is null ? DrivingTag(filter) : -1;   // by ids, a few rows: probe their tags instead
        var time = "e.created_at";
        if (driver >= 0)
        {
            var condition = filter.Tags![driver];
            sql.Append(" JOIN ").Append(schema.Tags).Append(" t ON t.event_position = e.position AND t.name = ")
                .Append(Add(parameters, TagKeys.Name(condition.Name), NpgsqlDbType.Integer))
                .Append(" AND t.value = ").Append(Add(parameters, TagKeys.HashValue(condition.Values[0]), NpgsqlDbType.Bytea));
            time = "t.created_at";
        }
        sql.Append(" WHERE TRUE");
        AppendConditions(sql, parameters, schema, filter, after, time, driver);
        return time;
    }

    /// <summary>The filter's conditions but the tag condition at <paramref name="skipTag"/>, each as " AND ...".</summary>
    private static void AppendConditions(StringBuilder sql, NpgsqlParameterCollection parameters, PostgresSchema schema, Filter filter,
        EventCursor? after, string time, int skipTag)
    {
        var driver = skipTag;
        if (filter.Ids is { } ids) AppendIn(sql.Append(" AND e.id"), parameters, ids);
        if (ReplaceableAddresses.Apply(filter))
        {
            // An address names its kind and author, so it stands for both conditions (see ReplaceableAddresses).
            var addresses = ReplaceableAddresses.Of(filter);
            var keys = new byte[addresses.Length][];
            for (var i = 0; i < addresses.Length; i++) keys[i] = TagKeys.Address(addresses[i]);
            sql.Append(" AND e.address = ANY(").Append(Add(parameters, keys, NpgsqlDbType.Array | NpgsqlDbType.Bytea)).Append(')');
        }
        else
        {
            if (filter.Authors is { } authors) AppendIn(sql.Append(" AND e.pubkey"), parameters, authors);
            if (filter.Kinds is { } kinds)
            {
                var listed = kinds.Length == 1
                    ? " = " + Add(parameters, kinds[0], NpgsqlDbType.Integer)
                    : " = ANY(" + Add(parameters, kinds, NpgsqlDbType.Array | NpgsqlDbType.Integer) + ")";
                // With a tag row beside the event (a driving or merged condition), its kind, from the tags index: an event
                // of another kind is never fetched. A row an older build wrote during a rolling upgrade has none (-1,
                // PostgresSchema.UnknownKind): its event's kind decides.
                if (skipTag >= 0)
                    sql.Append(" AND (t.kind").Append(listed).Append(" OR t.kind = ").Append(PostgresSchema.UnknownKind)
                        .Append(") AND (t.kind <> ").Append(PostgresSchema.UnknownKind).Append(" OR e.kind").Append(listed).Append(')');
                else sql.Append(" AND e.kind").Append(listed);
            }
        }
        if (filter.Since is { } since) sql.Append(" AND ").Append(time).Append(" >= ").Append(Add(parameters, since, NpgsqlDbType.Bigint));
        if (filter.Until is { } until) sql.Append(" AND ").Append(time).Append(" <= ").Append(Add(parameters, until, NpgsqlDbType.Bigint));
        if (after is { } cursor)
        {
            // Keyset paging in NIP-01 order: older, or the same second with a higher id. The first term alone
            // bounds an index range; the second only filters.
            var createdAt = Add(parameters, cursor.CreatedAt, NpgsqlDbType.Bigint);
            sql.Append(" AND ").Append(time).Append(" <= ").Append(createdAt)
                .Append(" AND (").Append(time).Append(" < ").Append(createdAt)
                .Append(" OR e.id > ").Append(Add(parameters, cursor.Id, NpgsqlDbType.Text)).Append(')');
        }
        if (filter.Search is { } search && SearchQuery.Parse(search) is { IsEmpty: false } query)
        {
            sql.Append(" AND EXISTS (SELECT 1 FROM ").Append(schema.Words).Append(" w WHERE w.event_position = e.position AND w.words @@ ")
                .Append(Add(parameters, TsQuery(query), NpgsqlDbType.Text)).Append("::tsquery)");
        }
        if (filter.Tags is { } tags)
        {
            for (var i = 0; i < tags.Length; i++)
            {
                if (i == driver) continue;
                var condition = tags[i];
                sql.Append(" AND EXISTS (SELECT 1 FROM ").Append(schema.Tags)
                    .Append(" x WHERE x.name = ").Append(Add(parameters, TagKeys.Name(condition.Name), NpgsqlDbType.Integer))
                    .Append(" AND x.value");
                AppendValues(sql, parameters, condition);
                sql.Append(" AND x.created_at = e.created_at AND x.event_position = e.position)");
            }
        }
    }

    /// <summary>A tag condition's values as their keys: <c> = $n</c> for one, <c> = ANY($n)</c> for several.</summary>
    private static void AppendValues(StringBuilder sql, NpgsqlParameterCollection parameters, TagFilter condition)
    {
        if (condition.Values.Length == 1)
        {
            sql.Append(" = ").Append(Add(parameters, TagKeys.HashValue(condition.Values[0]), NpgsqlDbType.Bytea));
            return;
        }
        var hashes = new byte[condition.Values.Length][];
        for (var v = 0; v < hashes.Length; v++) hashes[v] = TagKeys.HashValue(condition.Values[v]);
        sql.Append(" = ANY(").Append(Add(parameters, hashes, NpgsqlDbType.Array | NpgsqlDbType.Bytea)).Append(')');
    }

    /// <summary>Tag conditions with more values than this are probed per event rather than merged per value.</summary>
    internal const int MaxMergedValues = 256;

    /// <summary>
    /// The tag condition to merge per value (<see cref="SelectMerged"/>): the one with fewest values when no condition
    /// has a single value, every one has at most <see cref="MaxMergedValues"/>, and the filter names no ids or search.
    /// </summary>
    private static int MergedTag(Filter filter)
    {
        if (filter.Ids is not null || filter.Search is not null || filter.Tags is not { Length: > 0 } tags || DrivingTag(filter) >= 0) return -1;
        var best = -1;
        for (var i = 0; i < tags.Length; i++)
            if (tags[i].Values.Length <= MaxMergedValues && (best < 0 || tags[i].Values.Length < tags[best].Values.Length)) best = i;
        return best;
    }

    /// <summary>
    /// A tag condition with several values, as an ordered merge: for each value, the newest <paramref name="limit"/>
    /// events carrying it that meet every other condition (a backward scan of that value's part of the tags index,
    /// as for one value), then the newest <paramref name="limit"/> of those, each event once. The other plan (every
    /// event newest first, probing its tags) reads until enough match, which is most of a table for rare values.
    /// </summary>
    private static void SelectMerged(NpgsqlCommand command, PostgresSchema schema, Filter filter, int tag, EventCursor? after, int limit)
    {
        if (after is null && filter is { Authors: null, Kinds: null, Tags.Length: 1 })
        {
            SelectMergedRowsFirst(command, schema, filter, limit);
            return;
        }
        var parameters = command.Parameters;
        var condition = filter.Tags![tag];
        var hashes = new byte[condition.Values.Length][];
        for (var v = 0; v < hashes.Length; v++) hashes[v] = TagKeys.HashValue(condition.Values[v]);
        var take = limit.ToString(CultureInfo.InvariantCulture);
        var sql = new StringBuilder("SELECT DISTINCT ON (m.created_at, m.id) m.json FROM unnest(")
            .Append(Add(parameters, hashes, NpgsqlDbType.Array | NpgsqlDbType.Bytea)).Append(") AS v(value) CROSS JOIN LATERAL (SELECT e.json, e.id, t.created_at FROM ")
            .Append(schema.Tags).Append(" t JOIN ").Append(schema.Events).Append(" e ON e.position = t.event_position WHERE t.name = ")
            .Append(Add(parameters, TagKeys.Name(condition.Name), NpgsqlDbType.Integer)).Append(" AND t.value = v.value");
        AppendConditions(sql, parameters, schema, filter, after, "t.created_at", tag);
        sql.Append(" ORDER BY t.created_at DESC, e.id LIMIT ").Append(take).Append(") m ORDER BY m.created_at DESC, m.id LIMIT ").Append(take);
        command.CommandText = sql.ToString();
    }

    /// <summary>
    /// <see cref="SelectMerged"/> for a first page whose every condition is on the tag rows (one tag condition, since, until;
    /// not kinds, which a row an older build wrote does not hold, see <see cref="PostgresSchema.UnknownKind"/>): the merge runs over the tags index alone, and only the events of the page are fetched, where merging whole
    /// events fetched a page of them for every value (fifty values, a thousand events for a page of twenty). Each value
    /// gives its newest rows and every row tied with the last of them (WITH TIES), and the merge the newest of those with
    /// their ties: every event of the page is among them, however many share a second, and the ties are then ordered by id.
    /// </summary>
    private static void SelectMergedRowsFirst(NpgsqlCommand command, PostgresSchema schema, Filter filter, int limit)
    {
        var parameters = command.Parameters;
        var condition = filter.Tags![0];
        var hashes = new byte[condition.Values.Length][];
        for (var v = 0; v < hashes.Length; v++) hashes[v] = TagKeys.HashValue(condition.Values[v]);
        var take = limit.ToString(CultureInfo.InvariantCulture);
        var sql = new StringBuilder("SELECT e.json FROM (SELECT DISTINCT r.created_at, r.event_position FROM unnest(")
            .Append(Add(parameters, hashes, NpgsqlDbType.Array | NpgsqlDbType.Bytea))
            .Append(") AS v(value) CROSS JOIN LATERAL (SELECT t.created_at, t.event_position FROM ").Append(schema.Tags)
            .Append(" t WHERE t.name = ").Append(Add(parameters, TagKeys.Name(condition.Name), NpgsqlDbType.Integer)).Append(" AND t.value = v.value");
        if (filter.Since is { } since) sql.Append(" AND t.created_at >= ").Append(Add(parameters, since, NpgsqlDbType.Bigint));
        if (filter.Until is { } until) sql.Append(" AND t.created_at <= ").Append(Add(parameters, until, NpgsqlDbType.Bigint));
        sql.Append(" ORDER BY t.created_at DESC FETCH FIRST ").Append(take).Append(" ROWS WITH TIES) r ORDER BY r.created_at DESC FETCH FIRST ")
            .Append(take).Append(" ROWS WITH TIES) p JOIN ").Append(schema.Events).Append(" e ON e.position = p.event_position ORDER BY p.created_at DESC, e.id LIMIT ")
            .Append(take);
        command.CommandText = sql.ToString();
    }

    /// <summary>The first tag condition with exactly one value, or -1.</summary>
    private static int DrivingTag(Filter filter)
    {
        if (filter.Tags is not { } tags) return -1;
        for (var i = 0; i < tags.Length; i++)
            if (tags[i].Values.Length == 1) return i;
        return -1;
    }

    private static void AppendIn(StringBuilder sql, NpgsqlParameterCollection parameters, string[] values)
    {
        if (values.Length == 1) sql.Append(" = ").Append(Add(parameters, values[0], NpgsqlDbType.Text));
        else sql.Append(" = ANY(").Append(Add(parameters, values, NpgsqlDbType.Array | NpgsqlDbType.Text)).Append(')');
    }

    private static string Add(NpgsqlParameterCollection parameters, object value, NpgsqlDbType type)
    {
        parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
        return "$" + parameters.Count.ToString(CultureInfo.InvariantCulture);
    }
}
