using Sdar.Data;

namespace Sdar.Tests.Data;

public class ChatTemplatesTests
{
    [Fact]
    public void The_embedded_qwen3_template_equals_the_fixture()
    {
        string fixture = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "chat-template", "qwen3.jinja"));
        Assert.Equal(fixture, ChatTemplates.Qwen3);
    }
}
