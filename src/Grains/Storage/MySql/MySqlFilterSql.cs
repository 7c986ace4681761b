using System.Globalization;
using System.Text;
using MySqlConnector;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;
using NostrRelay.Storage.Sql;

namespace NostrRelay.Storage.MySql;

/// <summary>
/// Turns a NIP-01 filter into MariaDB SQL, keeping <see cref="Filter.Matches"/> semantics: conditions are AND'ed, the
/// values of one list are OR'ed, since and until are inclusive, and each "#x" condition needs one tag named x whose
/// first value is listed. Callers have already answered <see cref="Filter.CannotMatch"/>.
/// </summary>
/// <remarks>
/// Values are written into the text as literals, never as strings: numbers, and ids, pubkeys and tag hashes as checked
/// hex (<c>X'...'</c>); only a search goes as a parameter. An id or author that is not 64 lowercase hex digits names no
/// stored event and is left out. A tag condition with one value drives the query from the tags key, which holds each
/// value's events in NIP-01 order (created_at desc, id), so LIMIT stops after a page however many events carry the tag;
/// other tag conditions are semi-joins on the tags key.
/// </remarks>
internal static class MySqlFilterSql
{
    /// <summary>Tag conditions with more values than this are not merged per value (<see cref="SelectMerged"/>).</summary>
    private const int MaxMergedValues = 256;

    /// <summary>
    /// <c>SELECT json</c> of the matching events in NIP-01 order, at most <paramref name="limit"/>, starting after
    /// <paramref name="after"/> in that order when it is set.
    /// </summary>
    public static void Select(MySqlCommand command, MySqlSchema schema, Filter filter, EventCursor? after, int limit)
    {
        var take = limit.ToString(CultureInfo.InvariantCulture);
        if (MergedTag(filter) is var merged and >= 0)
        {
            SelectMerged(command, schema, filter, merged, after, take);
            return;
        }
        var sql = new StringBuilder();
        var driver = filter.Ids is null ? DrivingTag(filter) : -1;
        if (driver >= 0)
        {
            sql.Append("SELECT STRAIGHT_JOIN e.json");
            AppendTagDriven(sql, command, schema, filter, driver, filter.Tags![driver].Values[0], after, joinEvents: true);
            sql.Append(" ORDER BY t.created_at DESC, t.id LIMIT ").Append(take);
        }
        else
        {
            sql.Append("SELECT e.json FROM ").Append(schema.Quoted).Append(".events e WHERE TRUE");
            AppendConditions(sql, command, schema, filter, after, "e", skipTag: -1);
            sql.Append(" ORDER BY e.created_at DESC, e.id LIMIT ").Append(take);
        }
        command.CommandText = sql.ToString();
    }

    /// <summary>
    /// NIP-50's candidates: <c>SELECT json</c> of the newest <see cref="SearchRanking.MaxCandidates"/> events whose
    /// words hold every term (a full-text index lookup) that meet the filter's other conditions; the store ranks them.
    /// </summary>
    public static void SearchCandidates(MySqlCommand command, MySqlSchema schema, Filter structural, SearchQuery query)
    {
        var sql = new StringBuilder("SELECT STRAIGHT_JOIN e.json FROM (SELECT event_position FROM ").Append(schema.Quoted)
            .Append(".words WHERE MATCH(words) AGAINST (? IN BOOLEAN MODE) ORDER BY event_position DESC LIMIT ")
            .Append(SearchRanking.MaxCandidates.ToString(CultureInfo.InvariantCulture)).Append(") h JOIN ").Append(schema.Quoted)
            .Append(".events e ON e.position = h.event_position WHERE TRUE");
        command.Parameters.Add(new MySqlParameter { Value = MySqlKeys.SearchMatch(query) });
        AppendConditions(sql, command, schema, structural, after: null, "e", skipTag: -1);
        command.CommandText = sql.ToString();
    }

    /// <summary><c>SELECT id, pubkey, kind, created_at</c> of every match, in no order; from the tags key alone when a tag condition drives.</summary>
    public static void Keys(MySqlCommand command, MySqlSchema schema, Filter filter) => Unordered(command, schema, filter, "{0}.id, {0}.pubkey, {0}.kind, {0}.created_at");

    public static void Count(MySqlCommand command, MySqlSchema schema, Filter filter) => Unordered(command, schema, filter, "COUNT(*)");

    private static void Unordered(MySqlCommand command, MySqlSchema schema, Filter filter, string columns)
    {
        var sql = new StringBuilder();
        var driver = filter.Ids is null ? DrivingTag(filter) : -1;
        if (driver >= 0)
        {
            sql.Append("SELECT ").Append(string.Format(CultureInfo.InvariantCulture, columns, "t"));
            AppendTagDriven(sql, command, schema, filter, driver, filter.Tags![driver].Values[0], after: null, joinEvents: false);
        }
        else
        {
            sql.Append("SELECT ").Append(string.Format(CultureInfo.InvariantCulture, columns, "e")).Append(" FROM ").Append(schema.Quoted).Append(".events e WHERE TRUE");
            AppendConditions(sql, command, schema, filter, after: null, "e", skipTag: -1);
        }
        command.CommandText = sql.ToString();
    }

    /// <summary>
    /// " FROM tags t [JOIN events e] WHERE" the tag condition at <paramref name="tag"/> has <paramref name="value"/>, and
    /// every other condition, all on the tag row (it holds the event's created_at, id, kind and pubkey), so its key orders
    /// the rows and no event is read to decide; <paramref name="joinEvents"/> reads the events returned.
    /// </summary>
    private static void AppendTagDriven(StringBuilder sql, MySqlCommand command, MySqlSchema schema, Filter filter, int tag, string value, EventCursor? after, bool joinEvents)
    {
        sql.Append(" FROM ").Append(schema.Quoted).Append(".tags t");
        if (joinEvents) sql.Append(" JOIN ").Append(schema.Quoted).Append(".events e ON e.position = t.event_position");
        sql.Append(" WHERE t.name = ").Append(TagKeys.Name(filter.Tags![tag].Name).ToString(CultureInfo.InvariantCulture)).Append(" AND t.value = ");
        AppendHash(sql, value);
        AppendConditions(sql, command, schema, filter, after, "t", tag);
    }

    /// <summary>The filter's conditions but the tag condition at <paramref name="skipTag"/>, each as " AND ...".</summary>
    /// <param name="keyTable">The alias whose columns the conditions read: the event row <c>e</c>, or the driving tag row <c>t</c>, which holds them too.</param>
    private static void AppendConditions(StringBuilder sql, MySqlCommand command, MySqlSchema schema, Filter filter, EventCursor? after, string keyTable, int skipTag)
    {
        var position = keyTable == "t" ? "t.event_position" : "e.position";
        if (filter.Ids is { } ids) AppendHexIn(sql, keyTable + ".id", ids);
        if (keyTable == "e" && ReplaceableAddresses.Apply(filter))
        {
            // An address names its kind and author, so it stands for both conditions (see ReplaceableAddresses).
            var addresses = ReplaceableAddresses.Of(filter);
            sql.Append(" AND e.address IN (");
            for (var i = 0; i < addresses.Length; i++) AppendHash(sql.Append(i == 0 ? "" : ","), addresses[i]);
            sql.Append(')');
        }
        else
        {
            if (filter.Authors is { } authors) AppendHexIn(sql, keyTable + ".pubkey", authors);
            if (filter.Kinds is { } kinds)
            {
                sql.Append(" AND ").Append(keyTable).Append(".kind IN (");
                for (var i = 0; i < kinds.Length; i++) sql.Append(i == 0 ? "" : ",").Append(kinds[i].ToString(CultureInfo.InvariantCulture));
                sql.Append(')');
            }
        }
        if (filter.Since is { } since) sql.Append(" AND ").Append(keyTable).Append(".created_at >= ").Append(since.ToString(CultureInfo.InvariantCulture));
        if (filter.Until is { } until) sql.Append(" AND ").Append(keyTable).Append(".created_at <= ").Append(until.ToString(CultureInfo.InvariantCulture));
        if (after is { } cursor)
        {
            // Keyset paging in NIP-01 order: older, or the same second with a higher id. The first term alone bounds an
            // index range; the second only filters. A cursor id is always a stored event's.
            var createdAt = cursor.CreatedAt.ToString(CultureInfo.InvariantCulture);
            sql.Append(" AND ").Append(keyTable).Append(".created_at <= ").Append(createdAt)
                .Append(" AND (").Append(keyTable).Append(".created_at < ").Append(createdAt).Append(" OR ").Append(keyTable).Append(".id > ");
            AppendHex(sql, cursor.Id);
            sql.Append(')');
        }
        if (filter.Search is { } search && SearchQuery.Parse(search) is { IsEmpty: false } query)
        {
            sql.Append(" AND ").Append(position).Append(" IN (SELECT w.event_position FROM ").Append(schema.Quoted).Append(".words w WHERE MATCH(w.words) AGAINST (? IN BOOLEAN MODE))");
            command.Parameters.Add(new MySqlParameter { Value = MySqlKeys.SearchMatch(query) });
        }
        if (filter.Tags is { } tags)
        {
            for (var i = 0; i < tags.Length; i++)
            {
                if (i == skipTag) continue;
                var condition = tags[i];
                sql.Append(" AND ").Append(position).Append(" IN (SELECT x.event_position FROM ").Append(schema.Quoted).Append(".tags x WHERE x.name = ")
                    .Append(TagKeys.Name(condition.Name).ToString(CultureInfo.InvariantCulture)).Append(" AND x.value IN (");
                for (var v = 0; v < condition.Values.Length; v++) AppendHash(sql.Append(v == 0 ? "" : ","), condition.Values[v]);
                sql.Append("))");
            }
        }
    }

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
    /// A tag condition with several values, as an ordered merge: for each value, the newest <paramref name="take"/>
    /// events carrying it that meet every other condition (a range of that value's part of the tags key, in order,
    /// deciding on the tag rows alone),
    /// then the newest of all of those, each event once. Reading every event newest first and probing its tags would
    /// read most of a table for rare values.
    /// </summary>
    private static void SelectMerged(MySqlCommand command, MySqlSchema schema, Filter filter, int tag, EventCursor? after, string take)
    {
        var values = filter.Tags![tag].Values;
        var sql = new StringBuilder("SELECT STRAIGHT_JOIN e.json FROM (SELECT DISTINCT m.created_at, m.id, m.event_position FROM (");
        for (var v = 0; v < values.Length; v++)
        {
            if (v > 0) sql.Append(" UNION ALL ");
            AppendTagDriven(sql.Append("(SELECT t.created_at, t.id, t.event_position"), command, schema, filter, tag, values[v], after, joinEvents: false);
            sql.Append(" ORDER BY t.created_at DESC, t.id LIMIT ").Append(take).Append(')');
        }
        sql.Append(") m ORDER BY m.created_at DESC, m.id LIMIT ").Append(take).Append(") p JOIN ").Append(schema.Quoted)
            .Append(".events e ON e.position = p.event_position ORDER BY p.created_at DESC, p.id");
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

    /// <summary>" AND column IN (...)" of the values that are ids; FALSE when none is.</summary>
    private static void AppendHexIn(StringBuilder sql, string column, string[] values)
    {
        sql.Append(" AND ").Append(column).Append(" IN (");
        var any = false;
        foreach (var value in values)
        {
            if (!NostrRelay.Protocol.Hex.IsLowerHex(value, 64)) continue;
            if (any) sql.Append(',');
            AppendHex(sql, value);
            any = true;
        }
        if (!any) sql.Append("NULL");
        sql.Append(')');
    }

    private static void AppendHash(StringBuilder sql, string value) => AppendHex(sql, Convert.ToHexStringLower(TagKeys.HashValue(value)));

    private static void AppendHex(StringBuilder sql, string lowerHex) => sql.Append("X'").Append(lowerHex).Append('\'');
}
