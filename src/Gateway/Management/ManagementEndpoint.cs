using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace NostrRelay.Management;

/// <summary>
/// NIP-86 over HTTP: a POST to the relay's URL with <c>Content-Type: application/nostr+json+rpc</c> and a body
/// <c>{"method": ..., "params": [...]}</c>, answered <c>{"result": ...}</c> or <c>{"error": ...}</c>; 401 (with the
/// reason) unless a NIP-98 authorization from an admin comes with it.
/// </summary>
internal sealed partial class ManagementEndpoint(HttpAuthorization authorization, ManagementMethods methods, ILogger<ManagementEndpoint> logger)
{
    public const string ContentType = "application/nostr+json+rpc";
    private const int MaxBodyBytes = 64 * 1024;

    public static bool Accepts(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.ContentType is { } type && type.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase);

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var body = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            if (body.Length + read > MaxBodyBytes)
            {
                await AnswerAsync(context, HttpStatusCode.RequestEntityTooLarge, new JsonObject { ["error"] = $"the body is larger than {MaxBodyBytes} bytes" });
                return;
            }
            body.Write(buffer, 0, read);
        }
        var url = $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}{request.QueryString}";
        var signed = authorization.Check(request.Headers.Authorization.ToString() is { Length: > 0 } header ? header : null,
            request.Method, url, body.GetBuffer().AsSpan(0, (int)body.Length), out var problem);
        if (signed is not null)
        {
            try
            {
                if (!await methods.ClaimAsync(signed.Sig)) problem = "this authorization was already used";
            }
            catch (Exception ex)
            {
                LogFailed(logger, ex, "claim");
                await AnswerAsync(context, HttpStatusCode.ServiceUnavailable, new JsonObject { ["error"] = "error: the relay could not check the authorization; try again" });
                return;
            }
        }
        if (signed is null || problem is not null)
        {
            context.Response.Headers.WWWAuthenticate = "Nostr";
            await AnswerAsync(context, HttpStatusCode.Unauthorized, new JsonObject { ["error"] = "unauthorized: " + problem });
            return;
        }
        var admin = signed.Pubkey;
        string? method;
        JsonArray parameters;
        try
        {
            var call = JsonNode.Parse(body.GetBuffer().AsMemory(0, (int)body.Length).Span) as JsonObject;
            method = call?["method"] is JsonValue name && name.TryGetValue<string>(out var text) ? text : null;
            parameters = call?["params"] as JsonArray ?? [];
        }
        catch (JsonException ex)
        {
            await AnswerAsync(context, HttpStatusCode.BadRequest, new JsonObject { ["error"] = "invalid: the body is not JSON: " + ex.Message });
            return;
        }
        if (method is null)
        {
            await AnswerAsync(context, HttpStatusCode.BadRequest, new JsonObject { ["error"] = "invalid: the body needs a method" });
            return;
        }
        JsonNode? result;
        string? error;
        try
        {
            (result, error) = await methods.CallAsync(method, parameters);
        }
        catch (Exception ex)
        {
            LogFailed(logger, ex, method);
            (result, error) = (null, "error: " + (ex is InvalidOperationException { Message: var reason } && reason.StartsWith("the event is banned", StringComparison.Ordinal)
                ? reason : "the change could not be made; try again"));
        }
        LogCall(logger, admin, method, error ?? "done");
        await AnswerAsync(context, HttpStatusCode.OK, error is null ? new JsonObject { ["result"] = result } : new JsonObject { ["error"] = error });
    }

    private static async Task AnswerAsync(HttpContext context, HttpStatusCode status, JsonObject answer)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(answer.ToJsonString(), context.RequestAborted);
    }

    [LoggerMessage(EventId = 612, Level = LogLevel.Warning, Message = "NIP-86 {Method} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method);

    [LoggerMessage(EventId = 611, Level = LogLevel.Information, Message = "NIP-86: {Admin} called {Method}: {Outcome}")]
    private static partial void LogCall(ILogger logger, string admin, string method, string outcome);
}
