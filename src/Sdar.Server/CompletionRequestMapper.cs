using System.Globalization;
using System.Text.Json;
using Sdar.Config;
using Sdar.Decoding;
using Sdar.Templates;

namespace Sdar.Server;

/// <summary>
/// Reads an OpenAI chat or text completion body into a <see cref="CompletionRequest"/>: types are checked field by
/// field (errors name the field as <c>param</c>), missing sampling knobs take the model's generation_config.json
/// defaults, as <c>sdar generate</c> does, and fields that would change the answer but are not implemented yet are
/// refused rather than ignored. Value ranges are left to <see cref="GenerationOptions.Resolve"/>, the one place
/// that knows them.
/// </summary>
public static class CompletionRequestMapper
{
    /// <summary>Most choices one request may ask for (each is a sequence in the engine).</summary>
    public const int MaxChoices = 16;

    /// <summary>Default answer length when neither the request nor generation_config.json gives one.</summary>
    public const int DefaultMaxTokens = 256;

    /// <summary>Fields that change the answer and that the server does not implement yet.</summary>
    private static readonly HashSet<string> Unsupported = new(StringComparer.Ordinal)
    {
        "functions", "function_call", "response_format",
        "audio", "modalities", "prediction", "web_search_options", "echo", "suffix", "best_of", "reasoning_effort",
    };

    /// <summary>Fields accepted that do not change the answer.</summary>
    private static readonly HashSet<string> Harmless = new(StringComparer.Ordinal)
    {
        "user", "metadata", "store", "service_tier",
    };

    private static readonly HashSet<string> Common = new(StringComparer.Ordinal)
    {
        "model", "stream", "stream_options", "n", "max_tokens", "temperature", "top_p", "seed", "stop",
        "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
        "block_length", "denoising_steps", "remasking_strategy", "confidence_threshold", "eb_threshold",
        "top_k", "min_p", "repetition_penalty",
    };

    public static CompletionRequest Map(JsonElement body, CompletionKind kind, GenerationConfig defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        if (body.ValueKind != JsonValueKind.Object)
            throw ApiException.BadRequest("the request body must be a JSON object", null, "invalid_type");
        var fields = new Fields(body);
        foreach (var property in body.EnumerateObject())
        {
            string name = property.Name;
            if (property.Value.ValueKind == JsonValueKind.Null) continue;   // OpenAI clients send null for "not set"
            if (Unsupported.Contains(name) && !IsOff(name, property.Value))
                throw new ApiException(400, name is "functions" or "function_call"
                    ? $"the deprecated '{name}' is not supported; send 'tools' and 'tool_choice' instead"
                    : $"'{name}' is not supported by this server yet", name, "unsupported_parameter");
            bool known = Common.Contains(name) || Harmless.Contains(name) || Unsupported.Contains(name)
                || (kind == CompletionKind.Chat
                    ? name is "messages" or "max_completion_tokens" or "chat_template_kwargs" or "tools" or "tool_choice" or "parallel_tool_calls" or "top_logprobs"
                    : name is "prompt");
            if (!known) throw new ApiException(400, $"unrecognized request field '{name}'", name, "unsupported_parameter");
        }

        var request = kind == CompletionKind.Chat ? ReadChat(fields) : ReadPrompt(fields);
        int? maxCompletion = kind == CompletionKind.Chat ? fields.Int("max_completion_tokens") : null;
        int? maxTokens = fields.Int("max_tokens");
        string maxParam = maxCompletion is not null ? "max_completion_tokens" : "max_tokens";
        int n = fields.Int("n") ?? 1;
        if (n < 1 || n > MaxChoices)
            throw ApiException.BadRequest($"'n' must be between 1 and {MaxChoices}; got {n}", "n");

        var options = new GenerationOptions
        {
            MaxNewTokens = maxCompletion ?? maxTokens ?? defaults.MaxNewTokens ?? DefaultMaxTokens,
            Temperature = fields.Number("temperature") ?? (defaults.DoSample == false ? 0 : defaults.Temperature ?? 1.0),
            TopP = fields.Number("top_p") ?? defaults.TopP ?? 1.0,
            TopK = fields.Int("top_k") ?? defaults.TopK ?? 0,
            MinP = fields.Number("min_p") ?? 0,
            Seed = fields.Long("seed"),
            StopStrings = ReadStop(fields),
            PresencePenalty = fields.Number("presence_penalty") ?? 0,
            FrequencyPenalty = fields.Number("frequency_penalty") ?? 0,
            RepetitionPenalty = fields.Number("repetition_penalty") ?? 1.0,
            LogitBias = ReadLogitBias(fields),
            BlockLength = fields.Int("block_length"),
            DenoisingSteps = fields.Int("denoising_steps"),
            Strategy = fields.String("remasking_strategy") ?? GenerationOptions.DefaultStrategy,
            ConfidenceThreshold = fields.Number("confidence_threshold") ?? 0.9,
            EbThreshold = fields.Number("eb_threshold") ?? 0.35,
            Logprobs = ReadLogprobs(fields, kind),
        };
        bool stream = fields.Bool("stream") ?? false;
        bool includeUsage = false;
        if (fields.Object("stream_options") is JsonElement streamOptions)
        {
            foreach (var option in streamOptions.EnumerateObject())
            {
                if (option.Name != "include_usage")
                    throw new ApiException(400, $"unrecognized field 'stream_options.{option.Name}'", $"stream_options.{option.Name}", "unsupported_parameter");
                includeUsage = option.Value.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False or JsonValueKind.Null => false,
                    _ => throw ApiException.WrongType("stream_options.include_usage", "a boolean"),
                };
            }
        }
        return request with
        {
            Model = fields.String("model"),
            Options = options,
            N = n,
            Stream = stream,
            IncludeUsage = includeUsage,
            MaxTokensParam = maxParam,
        };
    }

    /// <summary>The request field that a library option error is about (max_new_tokens is the API's max_tokens).</summary>
    public static string ParamOf(GenerationOptionException error, CompletionRequest request) => error.Field switch
    {
        "max_new_tokens" => request.MaxTokensParam,
        "top_logprobs" when request.Kind == CompletionKind.Text => "logprobs",
        "model" => "model",
        var field => field,
    };

    /// <summary>An unsupported field set to its "off" value (echo: false, best_of: 1, response_format text) changes nothing.</summary>
    private static bool IsOff(string name, JsonElement value) => name switch
    {
        "echo" => value.ValueKind == JsonValueKind.False,
        "best_of" => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int bestOf) && bestOf == 1,
        "response_format" => value.ValueKind == JsonValueKind.Object && value.TryGetProperty("type", out var type)
            && type.ValueKind == JsonValueKind.String && type.GetString() == "text",
        "functions" => value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0,
        "modalities" => value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(m => m.ValueKind == JsonValueKind.String && m.GetString() == "text"),
        _ => false,
    };

    private static CompletionRequest ReadChat(Fields fields)
    {
        if (!fields.Has("messages")) throw new ApiException(400, "'messages' is required", "messages", "missing_required_parameter");
        var raw = fields.Element("messages");
        if (raw.ValueKind != JsonValueKind.Array) throw ApiException.WrongType("messages", "an array of message objects");
        if (raw.GetArrayLength() == 0) throw ApiException.BadRequest("'messages' must hold at least one message", "messages");
        IReadOnlyList<IReadOnlyDictionary<string, object?>> parsed;
        try
        {
            parsed = ChatMessages.FromJson(raw.GetRawText());
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message.Split(" (Parameter", 2)[0], "messages", "invalid_type");
        }
        var messages = new List<IReadOnlyDictionary<string, object?>>();
        for (int i = 0; i < parsed.Count; i++) messages.Add(Flatten(parsed[i], i));

        bool? enableThinking = null;
        if (fields.Object("chat_template_kwargs") is JsonElement kwargs)
        {
            foreach (var kw in kwargs.EnumerateObject())
            {
                string param = $"chat_template_kwargs.{kw.Name}";
                if (kw.Name != "enable_thinking") throw new ApiException(400, $"'{param}' is not supported (only enable_thinking is)", param, "unsupported_parameter");
                enableThinking = kw.Value.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Null => null,
                    _ => throw ApiException.WrongType(param, "a boolean"),
                };
            }
        }
        var tools = ChatTools.Read(fields.Raw("tools"), fields.Raw("tool_choice"), fields.Raw("parallel_tool_calls"));
        return new CompletionRequest { Kind = CompletionKind.Chat, Messages = messages, EnableThinking = enableThinking, Tools = tools, Options = new() };
    }

    /// <summary>
    /// One message as the template sees it: text parts joined into one string; a tool result's <c>content</c> as
    /// text; an assistant's <c>tool_calls</c> with their <c>arguments</c> (JSON text on the wire) parsed, so that the
    /// template writes them back as the model wrote them. Fields the template would not render are refused.
    /// </summary>
    private static Dictionary<string, object?> Flatten(IReadOnlyDictionary<string, object?> message, int index)
    {
        string path = $"messages[{index}]";
        string role = (string)message["role"]!;
        if (role == "function")
            throw new ApiException(400, $"{path}.role 'function' is the deprecated form of tool results; send role 'tool' with tool_call_id",
                $"{path}.role", "unsupported_parameter");
        if (role is not ("system" or "developer" or "user" or "assistant" or "tool"))
            throw new ApiException(400, $"{path}.role '{role}' is not supported (expected system, developer, user, assistant or tool)",
                $"{path}.role", "invalid_value");
        foreach (string field in message.Keys)
        {
            bool allowed = field is "role" or "content" or "name"
                || (role == "assistant" && field is "tool_calls" or "reasoning_content" or "refusal")
                || (role == "tool" && field == "tool_call_id");
            if (!allowed) throw new ApiException(400, $"{path}.{field} is not supported on a {role} message", $"{path}.{field}", "unsupported_parameter");
        }
        var flat = new Dictionary<string, object?>(message) { ["role"] = role == "developer" ? "system" : role };
        flat.Remove("refusal");
        if (message.GetValueOrDefault("tool_call_id") is not null and not string) throw ApiException.WrongType($"{path}.tool_call_id", "a string");
        if (message.GetValueOrDefault("reasoning_content") is not null and not string) throw ApiException.WrongType($"{path}.reasoning_content", "a string");
        if (message.GetValueOrDefault("refusal") is not null and not string) throw ApiException.WrongType($"{path}.refusal", "a string");

        bool hasCalls = false;
        if (message.GetValueOrDefault("tool_calls") is { } calls)
        {
            flat["tool_calls"] = ToolCalls(calls, $"{path}.tool_calls");
            hasCalls = ((List<object?>)flat["tool_calls"]!).Count > 0;
        }
        if (message.TryGetValue("content", out object? content) && content is List<object?> parts)
        {
            var text = new System.Text.StringBuilder();
            for (int p = 0; p < parts.Count; p++)
            {
                if (parts[p] is not Dictionary<string, object?> part || !part.TryGetValue("type", out object? type) || type is not string)
                    throw ApiException.WrongType($"{path}.content[{p}]", "a content part object with a type");
                if ((string)type != "text" || part.GetValueOrDefault("text") is not string partText)
                    throw new ApiException(400, $"{path}.content[{p}]: only text parts are supported; got '{type}'", $"{path}.content[{p}].type", "unsupported_parameter");
                text.Append(partText);
            }
            flat["content"] = text.ToString();
        }
        else if (content is null && hasCalls)
        {
            flat["content"] = "";   // an assistant turn that only calls tools
        }
        else if (content is null)
        {
            throw new ApiException(400, $"{path}.content is required", $"{path}.content", "missing_required_parameter");
        }
        return flat;
    }

    /// <summary>An assistant message's tool calls: <c>[{"id", "type": "function", "function": {"name", "arguments"}}]</c>.</summary>
    private static List<object?> ToolCalls(object calls, string path)
    {
        if (calls is not List<object?> list) throw ApiException.WrongType(path, "an array of tool calls");
        var result = new List<object?>(list.Count);
        for (int c = 0; c < list.Count; c++)
        {
            string at = $"{path}[{c}]";
            if (list[c] is not Dictionary<string, object?> call) throw ApiException.WrongType(at, "a tool call object");
            foreach (string field in call.Keys)
                if (field is not ("id" or "type" or "function"))
                    throw new ApiException(400, $"unrecognized field '{at}.{field}'", $"{at}.{field}", "unsupported_parameter");
            if (call.GetValueOrDefault("type") is { } type && (type is not string || (string)type != "function"))
                throw ApiException.BadRequest($"'{at}.type' must be \"function\"", $"{at}.type");
            if (call.GetValueOrDefault("id") is not null and not string) throw ApiException.WrongType($"{at}.id", "a string");
            if (call.GetValueOrDefault("function") is not Dictionary<string, object?> function)
                throw new ApiException(400, $"'{at}.function' is required (an object with name and arguments)", $"{at}.function", "missing_required_parameter");
            if (function.GetValueOrDefault("name") is not string name || name.Length == 0)
                throw new ApiException(400, $"'{at}.function.name' is required (a string)", $"{at}.function.name", "missing_required_parameter");
            foreach (string field in function.Keys)
                if (field is not ("name" or "arguments"))
                    throw new ApiException(400, $"unrecognized field '{at}.function.{field}'", $"{at}.function.{field}", "unsupported_parameter");
            object? arguments = function.GetValueOrDefault("arguments") switch
            {
                null => JsonDocument.Parse("{}").RootElement.Clone(),
                string json => ParseArguments(json, $"{at}.function.arguments"),
                Dictionary<string, object?> parsed => parsed,   // some clients send the object itself
                _ => throw ApiException.WrongType($"{at}.function.arguments", "a string holding a JSON object"),
            };
            var entry = new Dictionary<string, object?>
            {
                ["type"] = "function",
                ["function"] = new Dictionary<string, object?> { ["name"] = name, ["arguments"] = arguments },
            };
            if (call.GetValueOrDefault("id") is string callId) entry["id"] = callId;
            result.Add(entry);
        }
        return result;
    }

    private static JsonElement ParseArguments(string json, string param)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{param}' must hold a JSON object; got {document.RootElement.ValueKind}", param);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"'{param}' is not valid JSON: {e.Message}", param);
        }
    }

    /// <summary>Most alternatives per token the legacy completions route allows (OpenAI's limit there).</summary>
    public const int MaxCompletionLogprobs = 5;

    /// <summary>
    /// How many alternatives each token's logprob comes with, or null for none: chat has <c>logprobs: true</c> and
    /// <c>top_logprobs</c> (0..20), completions <c>logprobs: N</c> (0..5), as OpenAI has them.
    /// </summary>
    private static int? ReadLogprobs(Fields fields, CompletionKind kind)
    {
        if (kind == CompletionKind.Text)
        {
            int? count = fields.Int("logprobs");
            if (count is < 0 or > MaxCompletionLogprobs)
                throw ApiException.BadRequest($"'logprobs' must be between 0 and {MaxCompletionLogprobs}; got {count}", "logprobs");
            return count;
        }
        bool on = fields.Bool("logprobs") ?? false;
        int? top = fields.Int("top_logprobs");
        if (top is < 0 or > TokenLogprobs.MaxAlternatives)
            throw ApiException.BadRequest($"'top_logprobs' must be between 0 and {TokenLogprobs.MaxAlternatives}; got {top}", "top_logprobs");
        if (top is not null && !on) throw ApiException.BadRequest("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        return on ? top ?? 0 : null;
    }

    private static CompletionRequest ReadPrompt(Fields fields)
    {
        if (!fields.Has("prompt")) throw new ApiException(400, "'prompt' is required", "prompt", "missing_required_parameter");
        var prompt = fields.Element("prompt");
        var request = new CompletionRequest { Kind = CompletionKind.Text, Options = new() };
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return request with { PromptText = prompt.GetString() };
            case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String:
                return request with { PromptText = prompt[0].GetString() };
            case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number):
                var ids = new int[prompt.GetArrayLength()];
                int i = 0;
                foreach (var id in prompt.EnumerateArray())
                {
                    if (!id.TryGetInt32(out ids[i]) || ids[i] < 0) throw ApiException.BadRequest($"'prompt[{i}]' must be a token id (an integer >= 0)", "prompt");
                    i++;
                }
                return request with { PromptIds = ids };
            case JsonValueKind.Array when prompt.GetArrayLength() > 1 && prompt.EnumerateArray().All(e => e.ValueKind is JsonValueKind.String or JsonValueKind.Array):
                throw new ApiException(400, "several prompts in one request are not supported yet; send one request per prompt", "prompt", "unsupported_parameter");
            default:
                throw ApiException.WrongType("prompt", "a string or an array of token ids");
        }
    }

    private static string[] ReadStop(Fields fields)
    {
        if (!fields.Has("stop")) return [];
        var stop = fields.Element("stop");
        if (stop.ValueKind == JsonValueKind.String) return [stop.GetString()!];
        if (stop.ValueKind == JsonValueKind.Array && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
            return stop.EnumerateArray().Select(s => s.GetString()!).ToArray();
        throw ApiException.WrongType("stop", "a string or an array of strings");
    }

    private static Dictionary<int, double> ReadLogitBias(Fields fields)
    {
        var bias = new Dictionary<int, double>();
        if (fields.Object("logit_bias") is not JsonElement map) return bias;
        foreach (var entry in map.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                throw ApiException.BadRequest($"'logit_bias' keys must be token ids; got '{entry.Name}'", "logit_bias", "invalid_type");
            if (entry.Value.ValueKind != JsonValueKind.Number) throw ApiException.WrongType("logit_bias", "an object of token ids to numbers");
            bias[id] = entry.Value.GetDouble();
        }
        return bias;
    }

    /// <summary>Typed access to the body's fields; a JSON null is "not given"; a wrong type is a 400 naming the field.</summary>
    private readonly struct Fields(JsonElement body)
    {
        public bool Has(string name) => body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

        public JsonElement Element(string name) => body.GetProperty(name);

        /// <summary>The field's value, or an undefined element when the body has no such field.</summary>
        public JsonElement Raw(string name) => body.TryGetProperty(name, out var value) ? value : default;

        public int? Int(string name)
        {
            if (!Has(name)) return null;
            var value = body.GetProperty(name);
            if (value.ValueKind != JsonValueKind.Number || !IsInteger(value)) throw ApiException.WrongType(name, "an integer");
            double number = value.GetDouble();
            if (number < int.MinValue || number > int.MaxValue) throw ApiException.BadRequest($"'{name}' is out of range; got {value.GetRawText()}", name);
            return (int)number;
        }

        public long? Long(string name)
        {
            if (!Has(name)) return null;
            var value = body.GetProperty(name);
            if (value.ValueKind != JsonValueKind.Number || !IsInteger(value)) throw ApiException.WrongType(name, "an integer");
            if (value.TryGetInt64(out long result)) return result;
            throw ApiException.BadRequest($"'{name}' is out of range; got {value.GetRawText()}", name);
        }

        public double? Number(string name)
        {
            if (!Has(name)) return null;
            var value = body.GetProperty(name);
            if (value.ValueKind != JsonValueKind.Number) throw ApiException.WrongType(name, "a number");
            return value.GetDouble();
        }

        public string? String(string name)
        {
            if (!Has(name)) return null;
            var value = body.GetProperty(name);
            if (value.ValueKind != JsonValueKind.String) throw ApiException.WrongType(name, "a string");
            return value.GetString();
        }

        public bool? Bool(string name)
        {
            if (!Has(name)) return null;
            var value = body.GetProperty(name);
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw ApiException.WrongType(name, "a boolean"),
            };
        }

        public JsonElement? Object(string name)
        {
            if (!Has(name)) return null;
            var value = body.GetProperty(name);
            if (value.ValueKind != JsonValueKind.Object) throw ApiException.WrongType(name, "an object");
            return value;
        }

        /// <summary>1 and 1.0 are integers (JSON has one number type); 1.5 is not.</summary>
        private static bool IsInteger(JsonElement value) => value.TryGetInt64(out _) || (value.TryGetDouble(out double d) && Math.Floor(d) == d && Math.Abs(d) < 1e18);
    }
}
