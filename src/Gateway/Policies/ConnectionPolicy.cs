using Microsoft.AspNetCore.Http;

namespace NostrRelay.Policies;

/// <summary>
/// Decides on a WebSocket request before the upgrade, from its address and headers. A rejection answers HTTP 403
/// (429 for <c>rate-limited:</c>) with the message as the body.
/// </summary>
public delegate PolicyResult ConnectionPolicy(HttpContext context);
