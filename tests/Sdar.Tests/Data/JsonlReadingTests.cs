using Sdar.Data;

namespace Sdar.Tests.Data;

/// <summary>JSONL data files are read strictly: bad bytes, bad strings and runaway lines are named by file and line.</summary>
public sealed class JsonlReadingTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"sdar-jsonl-{Guid.NewGuid():N}.jsonl");

    public void Dispose() => File.Delete(_file);

    private InvalidDataException ReadFails(byte[] content)
    {
        File.WriteAllBytes(_file, content);
        return Assert.Throws<InvalidDataException>(() => Jsonl.ReadGsm8k(_file));
    }

    private static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Invalid_utf8_is_named_by_its_line()
    {
        byte[] good = Utf8("{\"question\": \"q\", \"answer\": \"#### 1\"}\n");
        var e = ReadFails([.. good, .. good, 0x7B, 0xFF, 0x7D, (byte)'\n']);
        Assert.Equal($"{_file} line 3: not valid UTF-8 (the file must be UTF-8 text)", e.Message);
    }

    [Fact]
    public void A_lone_surrogate_escape_is_named_by_its_line()
    {
        var e = ReadFails(Utf8("{\"question\": \"\\ud800\", \"answer\": \"#### 1\"}\n"));
        Assert.StartsWith($"{_file} line 1: a string is not valid Unicode", e.Message);
    }

    [Fact]
    public void A_line_without_end_is_refused_before_it_fills_memory()
    {
        using (var stream = File.Create(_file))
        {
            var chunk = new byte[1 << 20];
            Array.Fill(chunk, (byte)'a');
            for (int i = 0; i <= Jsonl.MaxLineBytes >> 20; i++) stream.Write(chunk);
        }
        var e = Assert.Throws<InvalidDataException>(() => Jsonl.ReadGsm8k(_file));
        Assert.Contains("line 1: longer than 64 MiB", e.Message);
    }

    [Fact]
    public void Crlf_line_ends_blank_lines_and_a_missing_final_newline_are_fine()
    {
        File.WriteAllBytes(_file, Utf8("\r\n  \n{\"question\": \"é?\", \"answer\": \"#### 1\"}\r\n{\"question\": \"b\", \"answer\": \"#### 2\"}"));
        var examples = Jsonl.ReadGsm8k(_file);
        Assert.Equal([new GsmExample("é?", "#### 1"), new GsmExample("b", "#### 2")], examples);
    }
}
