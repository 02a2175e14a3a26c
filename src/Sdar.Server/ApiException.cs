using System.Text.Json.Nodes;

namespace Sdar.Server;

/// <summary>
/// A request the server refuses, as the OpenAI API reports it: an HTTP status and
/// <c>{"error": {"message", "type", "param", "code"}}</c>, with <see cref="Param"/> naming the request field at fault.
/// </summary>
public sealed class ApiException(int status, string message, string? param = null, string? code = null, string type = ApiException.InvalidRequest)
    : Exception(message)
{
    public const string InvalidRequest = "invalid_request_error";

    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    public string Type { get; } = type;

    /// <summary>Seconds a client should wait before retrying (429), sent as <c>Retry-After</c>.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException BadRequest(string message, string? param, string code = "invalid_value") => new(400, message, param, code);

    public static ApiException WrongType(string param, string expected) =>
        new(400, $"'{param}' must be {expected}", param, "invalid_type");

    public JsonObject ToJson() => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = Message,
            ["type"] = Type,
            ["param"] = Param,
            ["code"] = Code,
        },
    };
}
