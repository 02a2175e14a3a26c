using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sdar.Server;

/// <summary>
/// What a chat request asks of tool calling: the tools the chat template lists for the model, whether the answer is
/// parsed for calls, and the text the answer is made to begin with when <c>tool_choice</c> forces a call.
/// </summary>
/// <param name="Tools">The tools as the template takes them (<c>{"type": "function", "function": {...}}</c>); null when none are offered.</param>
/// <param name="AnswerPrefix">
/// <c>tool_choice: "required"</c> or a named function: the answer is started for the model with the opening of a
/// call (Qwen3's <c>&lt;tool_call&gt;</c> format), after the generation prompt, and that opening is part of the answer.
/// </param>
/// <param name="ParallelCalls">False (<c>parallel_tool_calls: false</c>): only the answer's first call is returned.</param>
public sealed record ChatTools(IReadOnlyList<object?>? Tools, string AnswerPrefix, bool ParallelCalls)
{
    public static readonly ChatTools None = new(null, "", true);

    /// <summary>The OpenAI rule for function names (the prefix of a forced call is written with the name as is).</summary>
    private static readonly Regex FunctionName = new("^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant);

    /// <summary>Reads <c>tools</c>, <c>tool_choice</c> and <c>parallel_tool_calls</c> (each may be absent: JSON undefined).</summary>
    public static ChatTools Read(JsonElement tools, JsonElement toolChoice, JsonElement parallelToolCalls)
    {
        var offered = new List<object?>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (IsSet(tools))
        {
            if (tools.ValueKind != JsonValueKind.Array) throw ApiException.WrongType("tools", "an array of tool objects");
            int i = 0;
            foreach (var tool in tools.EnumerateArray()) offered.Add(ReadTool(tool, $"tools[{i++}]", names));
        }

        bool parallel = true;
        if (IsSet(parallelToolCalls))
            parallel = parallelToolCalls.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw ApiException.WrongType("parallel_tool_calls", "a boolean"),
            };

        string choice = "auto", prefix = "";
        if (IsSet(toolChoice))
        {
            if (toolChoice.ValueKind == JsonValueKind.String)
            {
                choice = toolChoice.GetString()!;
                if (choice is not ("none" or "auto" or "required"))
                    throw ApiException.BadRequest($"'tool_choice' must be \"none\", \"auto\", \"required\" or a function object; got \"{choice}\"", "tool_choice");
                if (choice == "required") prefix = "<tool_call>\n";
            }
            else if (toolChoice.ValueKind == JsonValueKind.Object)
            {
                string type = RequiredString(toolChoice, "type", "tool_choice.type");
                if (type != "function") throw ApiException.BadRequest($"'tool_choice.type' must be \"function\"; got \"{type}\"", "tool_choice.type");
                if (!toolChoice.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                    throw ApiException.WrongType("tool_choice.function", "an object with the function's name");
                string name = RequiredString(function, "name", "tool_choice.function.name");
                if (!names.Contains(name))
                    throw ApiException.BadRequest($"'tool_choice.function.name' names '{name}', which is not one of the tools offered", "tool_choice.function.name");
                choice = "function";
                prefix = "<tool_call>\n{\"name\": \"" + name + "\", \"arguments\": ";
            }
            else throw ApiException.WrongType("tool_choice", "\"none\", \"auto\", \"required\" or a function object");
        }
        if (choice is "required" or "function" && offered.Count == 0)
            throw ApiException.BadRequest($"'tool_choice' asks for a tool call but 'tools' offers none", "tool_choice");
        // "none": the tools are left out of the prompt, as vLLM does, so the model neither sees nor calls them.
        if (offered.Count == 0 || choice == "none") return None with { ParallelCalls = parallel };
        return new ChatTools(offered, prefix, parallel);
    }

    private static Dictionary<string, object?> ReadTool(JsonElement tool, string path, HashSet<string> names)
    {
        if (tool.ValueKind != JsonValueKind.Object) throw ApiException.WrongType(path, "a tool object ({\"type\": \"function\", \"function\": {...}})");
        foreach (var field in tool.EnumerateObject())
            if (field.Name is not ("type" or "function"))
                throw new ApiException(400, $"unrecognized field '{path}.{field.Name}'", $"{path}.{field.Name}", "unsupported_parameter");
        string type = RequiredString(tool, "type", $"{path}.type");
        if (type != "function")
            throw new ApiException(400, $"'{path}.type' is \"{type}\"; only function tools are supported", $"{path}.type", "unsupported_parameter");
        if (!tool.TryGetProperty("function", out var function) || function.ValueKind == JsonValueKind.Null)
            throw new ApiException(400, $"'{path}.function' is required", $"{path}.function", "missing_required_parameter");
        if (function.ValueKind != JsonValueKind.Object) throw ApiException.WrongType($"{path}.function", "an object");

        string name = RequiredString(function, "name", $"{path}.function.name");
        if (!FunctionName.IsMatch(name))
            throw ApiException.BadRequest($"'{path}.function.name' must be 1 to 64 letters, digits, underscores or dashes; got \"{name}\"", $"{path}.function.name");
        if (!names.Add(name)) throw ApiException.BadRequest($"'{path}.function.name': another tool is already named '{name}'", $"{path}.function.name");
        var declaration = new Dictionary<string, object?> { ["name"] = name };
        foreach (var field in function.EnumerateObject())
        {
            string param = $"{path}.function.{field.Name}";
            var value = field.Value;
            switch (field.Name)
            {
                case "name":
                    break;
                case "description" when value.ValueKind == JsonValueKind.String:
                    declaration["description"] = value.GetString();
                    break;
                case "description" when value.ValueKind != JsonValueKind.Null:
                    throw ApiException.WrongType(param, "a string");
                case "parameters" when value.ValueKind == JsonValueKind.Object:
                    declaration["parameters"] = value.Clone();
                    break;
                case "parameters" when value.ValueKind != JsonValueKind.Null:
                    throw ApiException.WrongType(param, "a JSON Schema object");
                case "strict" when value.ValueKind == JsonValueKind.True:
                    // Strict mode promises arguments that match the schema, which needs constrained decoding.
                    throw new ApiException(400, $"'{param}': strict mode (arguments guaranteed to match the schema) is not supported; leave it false",
                        param, "unsupported_parameter");
                case "strict" when value.ValueKind is JsonValueKind.False or JsonValueKind.Null:
                    break;
                case "strict":
                    throw ApiException.WrongType(param, "a boolean");
                case "description" or "parameters":
                    break;   // null: not given
                default:
                    throw new ApiException(400, $"unrecognized field '{param}'", param, "unsupported_parameter");
            }
        }
        return new Dictionary<string, object?> { ["type"] = "function", ["function"] = declaration };
    }

    private static string RequiredString(JsonElement owner, string field, string param)
    {
        if (!owner.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            throw new ApiException(400, $"'{param}' is required", param, "missing_required_parameter");
        if (value.ValueKind != JsonValueKind.String) throw ApiException.WrongType(param, "a string");
        return value.GetString()!;
    }

    private static bool IsSet(JsonElement value) => value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);
}
