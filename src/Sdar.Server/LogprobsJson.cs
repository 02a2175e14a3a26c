using System.Text.Json.Nodes;
using Sdar.Decoding;
using Sdar.Tokenization;

namespace Sdar.Server;

/// <summary>
/// The <c>logprobs</c> object of one choice, in the route's OpenAI format: chat's
/// <c>{"content": [{"token", "logprob", "bytes", "top_logprobs"}], "refusal": null}</c>, or the completions route's
/// <c>{"tokens", "token_logprobs", "top_logprobs", "text_offset"}</c>. One instance per choice, fed its tokens in
/// order (all at once, or a stream's chunks one after the other), so text offsets continue across chunks.
/// </summary>
internal sealed class LogprobsJson(HfTokenizer tokenizer, CompletionKind kind)
{
    private readonly StreamingDecoder _text = tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
    private int _textLength;

    /// <summary>The logprobs object for these tokens (the next ones of the choice); null when none were asked for.</summary>
    public JsonObject? For(IReadOnlyList<TokenLogprob>? logprobs)
    {
        if (logprobs is null) return null;
        return kind == CompletionKind.Chat ? Chat(logprobs) : Completion(logprobs);
    }

    private JsonObject Chat(IReadOnlyList<TokenLogprob> logprobs)
    {
        var content = new JsonArray();
        foreach (var logprob in logprobs)
        {
            var entry = Token(logprob.TokenId, logprob.Logprob);
            var top = new JsonArray();
            foreach (var alternative in logprob.Top) top.Add(Token(alternative.TokenId, alternative.Logprob));
            entry["top_logprobs"] = top;
            content.Add(entry);
        }
        return new JsonObject { ["content"] = content, ["refusal"] = null };
    }

    private JsonObject Token(int id, float logprob) => new()
    {
        ["token"] = tokenizer.Decode([id]),
        ["logprob"] = logprob,
        ["bytes"] = new JsonArray([.. tokenizer.BytesOf(id).Select(b => (JsonNode)(int)b)]),
    };

    private JsonObject Completion(IReadOnlyList<TokenLogprob> logprobs)
    {
        JsonArray tokens = [], values = [], tops = [], offsets = [];
        foreach (var logprob in logprobs)
        {
            tokens.Add(tokenizer.Decode([logprob.TokenId]));
            values.Add(logprob.Logprob);
            // The legacy format keys alternatives by their text; two tokens with the same text keep the likelier.
            var top = new JsonObject();
            foreach (var alternative in logprob.Top)
            {
                string text = tokenizer.Decode([alternative.TokenId]);
                if (!top.ContainsKey(text)) top[text] = alternative.Logprob;
            }
            tops.Add(top);
            // A token's offset is where its text starts in the completion (a token that ends inside a character
            // starts where that character does).
            offsets.Add(_textLength);
            _textLength += _text.Push(logprob.TokenId).Length;
        }
        return new JsonObject { ["tokens"] = tokens, ["token_logprobs"] = values, ["top_logprobs"] = tops, ["text_offset"] = offsets };
    }
}
