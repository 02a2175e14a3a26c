using System.CommandLine;
using System.Text.Json;
using Sdar.Runtime;
using Sdar.Templates;
using Sdar.Tokenization;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar tokenize</c>: the exact text that goes into the model and its token ids.</summary>
internal static class TokenizeCommand
{
    private static readonly JsonSerializerOptions JsonOutput = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var model = CliParsing.ModelOption();
        var text = new Option<string?>("--text") { Description = "Raw text to tokenize.", HelpName = "TEXT" };
        var messages = new Option<FileInfo?>("--messages") { Description = "A JSON file with an array of chat messages ({\"role\", \"content\"}), rendered with the model's chat template.", HelpName = "FILE.json" };
        var addGenerationPrompt = CliParsing.BooleanOption("--add-generation-prompt", "With --messages: append the assistant prompt (true|false, default true).", defaultValue: true);
        var thinking = CliParsing.BooleanOption("--enable-thinking", "With --messages: the template's enable_thinking (true|false); undefined when not given.");
        var json = new Option<bool>("--json") { Description = "Print {\"text\": ..., \"ids\": [...], \"decoded\": ...}." };

        var command = new Command("tokenize", "Show the text that goes into the model (after the chat template for --messages) and its token ids.")
        {
            model, text, messages, addGenerationPrompt, thinking, json,
        };
        command.SetAction(parse =>
        {
            bool hasText = parse.Given(text), hasMessages = parse.Given(messages);
            CliParsing.Require(hasText != hasMessages, "give exactly one of --text TEXT or --messages FILE.json");
            CliParsing.Require(!(hasText && (parse.Given(addGenerationPrompt) || parse.Given(thinking))),
                "--add-generation-prompt and --enable-thinking apply to --messages only");
            var output = parse.InvocationConfiguration.Output;
            string directory = parse.GetValue(model)!;
            string input;
            HfTokenizer tokenizer;
            if (parse.GetValue(messages) is { } file)
            {
                if (!file.Exists) throw new FileNotFoundException($"--messages: {file.FullName}: file not found");
                IReadOnlyList<IReadOnlyDictionary<string, object?>> conversation;
                try
                {
                    conversation = ChatMessages.FromJson(File.ReadAllText(file.FullName));
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"--messages: {file.FullName}: {e.Message}", e);
                }
                // The tokenizer and its chat template are all that is needed: a folder without weights works.
                var folder = ModelTokenizer.Open(directory);
                tokenizer = folder.Tokenizer;
                input = folder.RenderChat(conversation, parse.GetBoolean(addGenerationPrompt) ?? true, parse.GetBoolean(thinking));
            }
            else
            {
                // Only the tokenizer is needed for raw text: no config or weights are read, so a tokenizer-only folder works.
                tokenizer = ModelTokenizer.Open(directory).Tokenizer;
                input = parse.GetValue(text)!;
            }
            var ids = tokenizer.Encode(input);
            string decoded = tokenizer.Decode(ids);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new { text = input, ids, decoded }, JsonOutput));
            }
            else
            {
                output.WriteLine(input);
                output.WriteLine($"ids ({ids.Count}): {string.Join(",", ids)}");
            }
            return 0;
        });
        return command;
    }
}
