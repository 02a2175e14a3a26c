using System.Text.Json;
using Sdar.Runtime;

namespace Sdar.Tests.Cli;

/// <summary>
/// The bundled models answer a chat correctly with no decoding flags at all: their folders carry their own defaults
/// (thinking off in the chat template, greedy decoding in generation_config.json), documented in their cards.
/// </summary>
public class BundledModelDefaultsTests
{
    [Theory]
    [InlineData(BundledModels.DefaultName)]
    [InlineData(BundledModels.ParentName)]
    public void A_chat_with_no_flags_gives_the_answer_of_thinking_off_and_greedy(string name)
    {
        string model = BundledModels.Locate(name);
        string[] chat = ["generate", "--model", model, "--chat", "--prompt", "What is 345 + 278?", "--json"];

        var (code, output, error) = CliRunner.Run(chat);
        Assert.True(code == 0, error);
        var (explicitCode, explicitOutput, explicitError) = CliRunner.Run([.. chat, "--enable-thinking", "false", "--temperature", "0"]);
        Assert.True(explicitCode == 0, explicitError);

        var byDefault = JsonDocument.Parse(output).RootElement;
        var asked = JsonDocument.Parse(explicitOutput).RootElement;
        Assert.Equal(asked.GetProperty("token_ids").ToString(), byDefault.GetProperty("token_ids").ToString());
        Assert.EndsWith("#### 623", byDefault.GetProperty("text").GetString()!.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public void Asking_for_thinking_still_overrides_the_template_default()
    {
        string model = BundledModels.Locate();
        string[] render = ["tokenize", "--model", model, "--messages", "", "--json"];
        string messages = Path.Combine(Path.GetTempPath(), $"sdar-defaults-{Guid.NewGuid():N}.json");
        File.WriteAllText(messages, """[{"role": "user", "content": "Hi"}]""");
        try
        {
            render[4] = messages;
            string Text(params string[] extra) => JsonDocument.Parse(CliRunner.Run([.. render, .. extra]).Output).RootElement.GetProperty("text").GetString()!;
            Assert.EndsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n", Text(), StringComparison.Ordinal);
            Assert.EndsWith("<|im_start|>assistant\n", Text("--enable-thinking", "true"), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(messages);
        }
    }
}
