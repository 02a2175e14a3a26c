using System.Text.Json;
using Sdar.Templates;

namespace Sdar.Training.Data;

using Conversation = IReadOnlyList<IReadOnlyDictionary<string, object?>>;

/// <summary>
/// SFT samples from JSONL: <c>{"messages": [{"role", "content"}, ...]}</c> lines (or GSM8K-style
/// <c>{"question", "answer"}</c> lines, taken as one user turn and one assistant turn), rendered with the model's
/// chat template. Only the assistant's tokens are labels (DESIGN section 3).
/// </summary>
public sealed class ChatCorpus
{
    private readonly Func<string, int[]> _encode;
    private readonly Func<Conversation, bool, string> _render;

    /// <param name="encode">The tokenizer (no BOS/EOS added).</param>
    /// <param name="render">Renders a conversation; the flag is <c>add_generation_prompt</c>.</param>
    public ChatCorpus(Func<string, int[]> encode, Func<Conversation, bool, string> render)
    {
        _encode = encode;
        _render = render;
    }

    /// <summary>A corpus rendering with <paramref name="template"/> as transformers' apply_chat_template does.</summary>
    public static ChatCorpus WithTemplate(Func<string, int[]> encode, ChatTemplate template, string bosToken = "", string eosToken = "") =>
        new(encode, (messages, generationPrompt) => template.RenderChat(messages, generationPrompt, null, bosToken, eosToken));

    /// <summary>Reads and renders every conversation of <paramref name="paths"/>.</summary>
    public List<TrainingSample> Load(IEnumerable<string> paths)
    {
        var samples = new List<TrainingSample>();
        foreach (string path in paths)
        {
            string full = Path.GetFullPath(path);
            var conversations = JsonlFile.Read(full, (obj, line) => ReadConversation(obj, full, line));
            var built = new TrainingSample[conversations.Count];
            Parallel.For(0, conversations.Count, i =>
            {
                try
                {
                    built[i] = Build(conversations[i].Messages);
                }
                catch (Exception e) when (e is ArgumentException or TemplateException)
                {
                    throw new DataFileException(full, conversations[i].Line, e.Message);
                }
            });
            samples.AddRange(built);
        }
        return samples;
    }

    private static (Conversation Messages, int Line) ReadConversation(JsonElement obj, string path, int line)
    {
        if (obj.TryGetProperty("messages", out var messages))
        {
            Conversation conversation;
            try
            {
                conversation = ChatMessages.FromJson(messages.GetRawText());
            }
            catch (ArgumentException e)
            {
                throw new DataFileException(path, line, e.Message);
            }
            if (!conversation.Any(m => m["role"] as string == "assistant"))
                throw new DataFileException(path, line, "\"messages\" has no assistant message to learn from");
            return (conversation, line);
        }
        string? question = JsonlFile.OptionalString(obj, "question", path, line);
        string? answer = JsonlFile.OptionalString(obj, "answer", path, line);
        if (question is not null && answer is not null)
            return ([ChatMessages.Message("user", question), ChatMessages.Message("assistant", answer)], line);
        throw new DataFileException(path, line, "expected a \"messages\" array, or \"question\" and \"answer\" strings");
    }

    /// <summary>
    /// Tokens and labels of one conversation. Each assistant turn's text is what rendering the conversation up to
    /// and including that turn adds to rendering the conversation before it with the generation prompt. When a
    /// template rewrites earlier turns (Qwen3 drops their thinking), only the last assistant turn is learned.
    /// </summary>
    public TrainingSample Build(Conversation messages)
    {
        var segments = LabelSegments(messages) ?? LastTurnSegments(messages);
        var tokens = new List<int>();
        var labels = new List<bool>();
        foreach (var (text, isLabel) in segments)
        {
            if (text.Length == 0) continue;
            int[] ids = _encode(text);
            tokens.AddRange(ids);
            labels.AddRange(Enumerable.Repeat(isLabel, ids.Length));
        }
        if (!labels.Contains(true)) throw new ArgumentException("the assistant's reply renders to no tokens");
        return new TrainingSample([.. tokens], [.. labels]);
    }

    private List<(string Text, bool IsLabel)>? LabelSegments(Conversation messages)
    {
        var segments = new List<(string, bool)>();
        string done = "";
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i]["role"] as string != "assistant") continue;
            string prompt = _render(messages.Take(i).ToList(), true);
            string full = _render(messages.Take(i + 1).ToList(), false);
            if (!prompt.StartsWith(done, StringComparison.Ordinal) || !full.StartsWith(prompt, StringComparison.Ordinal)) return null;
            segments.Add((prompt[done.Length..], false));
            segments.Add((full[prompt.Length..], true));
            done = full;
        }
        string all = _render(messages, false);
        if (!all.StartsWith(done, StringComparison.Ordinal)) return null;
        segments.Add((all[done.Length..], false));
        return segments;
    }

    private List<(string Text, bool IsLabel)> LastTurnSegments(Conversation messages)
    {
        int last = messages.Count - 1;
        while (last >= 0 && messages[last]["role"] as string != "assistant") last--;
        string prompt = _render(messages.Take(last).ToList(), true);
        string full = _render(messages.Take(last + 1).ToList(), false);
        if (!full.StartsWith(prompt, StringComparison.Ordinal))
            throw new ArgumentException("the chat template does not render the conversation before the last assistant turn as a prefix of the whole; cannot tell the assistant's tokens apart");
        string all = _render(messages, false);
        return [(prompt, false), (full[prompt.Length..], true), (all.StartsWith(full, StringComparison.Ordinal) ? all[full.Length..] : "", false)];
    }
}
