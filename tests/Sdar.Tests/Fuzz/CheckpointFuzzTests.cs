using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Sdar.Checkpoints;
using Sdar.Config;
using Sdar.Decoding;
using Sdar.Model;
using Sdar.Tests.Checkpoints;
using Xunit.Abstractions;

namespace Sdar.Tests.Fuzz;

/// <summary>
/// Seeded mutation of the files of a real checkpoint folder: its safetensors weights, config.json,
/// generation_config.json and a model.safetensors.index.json. Every mutant must open (and then run a short
/// generation) or fail with the project's own error; never another exception, a hang or unbounded memory.
/// Seeds are fixed; a failure names the file kind, the seed and the mutant index, so it can be replayed.
/// <c>SDAR_FUZZ_SCALE=10</c> runs ten times as many mutants (about 3 minutes; every one passes as of this writing).
/// </summary>
public sealed partial class CheckpointFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20261202;
    private static readonly TimeSpan MutantTimeLimit = TimeSpan.FromSeconds(10);
    private const long MutantAllocationLimit = 512L << 20;
    /// <summary>
    /// How much the process may grow while one mutant loads and generates: a mutant that maps or allocates without
    /// bound trips it. Growth, not the size: the other tests running beside hold 4-8 GB at their peaks, which made an
    /// absolute limit of 6 GB fail now and then with no mutant to blame.
    /// </summary>
    private const long MutantGrowthLimit = 2L << 30;

    [Fact]
    public void Mutated_safetensors_files_load_or_fail_with_a_checkpoint_error() =>
        Fuzz("safetensors", mutants: 2500, SmallModel(), WeightFiles.SingleFileName, MutateSafetensors);

    [Fact]
    public void Mutated_config_json_files_load_or_fail_with_a_checkpoint_error() =>
        Fuzz("config.json", mutants: 2000, FixtureFolder(), ConfigLoader.ConfigFileName, MutateJson);

    [Fact]
    public void Mutated_generation_config_json_files_load_or_fail_with_a_checkpoint_error() =>
        Fuzz("generation_config.json", mutants: 1000, FixtureFolder(), ConfigLoader.GenerationConfigFileName, MutateJson);

    [Fact]
    public void Mutated_shard_indexes_load_or_fail_with_a_checkpoint_error() =>
        Fuzz("model.safetensors.index.json", mutants: 1500, ShardedFolder(), WeightFiles.IndexFileName, MutateJson);

    /// <summary>
    /// Writes mutants of <paramref name="fileName"/> into a copy of <paramref name="baseFolder"/> and opens each.
    /// </summary>
    private void Fuzz(string kind, int mutants, TempDir baseFolder, string fileName, Func<Random, byte[], byte[]> mutate)
    {
        using var folder = baseFolder;
        string path = folder.File(fileName);
        byte[] original = File.ReadAllBytes(path);
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        int scale = int.TryParse(Environment.GetEnvironmentVariable("SDAR_FUZZ_SCALE"), out int s) && s > 0 ? s : 1;
        mutants *= scale;
        for (int index = 0; index < mutants; index++)
        {
            // One seed per mutant, so any failure replays on its own.
            var random = new Random(MutantSeed(kind, index));
            byte[] mutant = mutate(random, original);
            File.WriteAllBytes(path, mutant);
            string outcome = RunMutant(folder.Path, $"{kind} mutant {index} (seed {MutantSeed(kind, index)}, {mutant.Length} bytes)");
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        File.WriteAllBytes(path, original);
        foreach (var example in Examples) output.WriteLine($"example of {example.Key}: {example.Value}");
        output.WriteLine($"{kind}: {mutants} mutants in {clock.Elapsed.TotalSeconds:F1} s: " +
            string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value}")));
        Assert.True(outcomes.GetValueOrDefault("loaded") > 0 || kind == "safetensors", $"{kind}: no mutant loaded; the mutations are too coarse");
        Assert.True(outcomes.Keys.Any(k => k != "loaded"), $"{kind}: every mutant loaded; the mutations do nothing");
    }

    /// <summary>A seed stable across runs and processes (string.GetHashCode is randomised per process).</summary>
    private static int MutantSeed(string kind, int index) =>
        unchecked(kind.Aggregate(Seed, (hash, c) => hash * 31 + c) * 1_000_003 + index);

    /// <summary>Opens the folder and, when it loads, generates a few tokens. Returns "loaded" or the error's first words.</summary>
    private static string RunMutant(string folder, string name)
    {
        var run = Task.Run(() =>
        {
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread(), heldBefore = Environment.WorkingSet;
            string outcome = OpenAndGenerate(folder, name);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            Assert.True(allocated < MutantAllocationLimit, $"{name}: allocated {allocated} bytes");
            long grown = Environment.WorkingSet - heldBefore;
            Assert.True(grown < MutantGrowthLimit, $"{name}: the process grew by {grown} bytes, to {Environment.WorkingSet}");
            return outcome;
        });
        if (!run.Wait(MutantTimeLimit)) Assert.Fail($"{name}: did not finish within {MutantTimeLimit.TotalSeconds} s (a hang?)");
        return run.Result;
    }

    private static string OpenAndGenerate(string folder, string name)
    {
        Checkpoint checkpoint;
        try
        {
            checkpoint = Checkpoint.Open(folder);
        }
        catch (SdarException e)
        {
            Assert.False(e.Message.Contains('\n'), $"{name}: a multi-line message: {e.Message}");
            string category = Category(e.Message);
            if (category == "refused (other)") Examples.TryAdd(category, e.Message);
            return category;
        }
        catch (Exception e)
        {
            Assert.Fail($"{name}: Checkpoint.Open threw {e.GetType().Name}, not a SdarException: {e}");
            throw;
        }
        using (checkpoint)
        {
            try
            {
                Generator.For(new FastModel(checkpoint.Weights), checkpoint.GenerationConfig.EosTokenIds)
                    .Generate([1, 2, 3, 4, 5], new GenerationOptions { MaxNewTokens = 4, Temperature = 0 });
                return "loaded";
            }
            catch (SdarException e)
            {
                return "loaded, then " + Category(e.Message);
            }
            catch (ArgumentException e)
            {
                // The request does not fit the mutated model (a context shorter than the prompt, a mask id the
                // prompt holds): the library's request error, which names the option or the prompt position.
                Assert.True(e.Message.Contains("max_", StringComparison.Ordinal) || e.Message.StartsWith("prompt 0: ", StringComparison.Ordinal),
                    $"{name}: generation threw {e}");
                return "loaded, request refused";
            }
            catch (Exception e)
            {
                Assert.Fail($"{name}: generation threw {e.GetType().Name}, not a SdarException: {e}");
                throw;
            }
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Examples = new();

    /// <summary>A few words saying which check refused a mutant, for the summary.</summary>
    private static string Category(string message)
    {
        string[] markers =
        [
            "not valid UTF-8", "surrogate", "appears twice", "not valid JSON", "must be", "must lie", "missing", "header length",
            "truncated", "data_offsets", "shape", "dtype", "overlap", "not supported", "does not exist", "expected", "non-finite",
            "exceed", "parameters", "is required", "does not contain", "does not list",
        ];
        return markers.FirstOrDefault(m => message.Contains(m, StringComparison.Ordinal)) is { } marker
            ? $"refused ({marker})"
            : "refused (other)";
    }

    // ---- Base folders -------------------------------------------------------------------------------------------

    private static TempDir FixtureFolder()
    {
        var dir = new TempDir();
        CheckpointFolderFixtures.CopyTiny(dir.Path, "config.json", "generation_config.json", "model.safetensors");
        return dir;
    }

    /// <summary>A 2-layer model with tiny tensors (a few KB), so thousands of weight-file mutants stay fast.</summary>
    private static TempDir SmallModel()
    {
        var dir = new TempDir();
        var config = ModelShapes.Tiny() with { HiddenSize = 16, IntermediateSize = 24, NumAttentionHeads = 2, NumKeyValueHeads = 1, HeadDim = 8, VocabSize = 32, MaskTokenId = 31, EosTokenId = 30, EosTokenIds = [30], PadTokenId = 30 };
        CheckpointWriter.Save(dir.Path, RandomModel.Create(config, DType.BF16, seed: 3), new GenerationConfig { EosTokenIds = [30] });
        return dir;
    }

    /// <summary>The fixture's weights split over two shards with an index, as HF writes large checkpoints.</summary>
    private static TempDir ShardedFolder()
    {
        var dir = new TempDir();
        CheckpointFolderFixtures.CopyTiny(dir.Path, "config.json", "generation_config.json");
        using var checkpoint = Checkpoint.Open(TestFiles.Fixture("tiny-sdar"));
        var tensors = ModelLayout.NamedTensors(checkpoint.Weights);
        var first = tensors.Where(t => t.Key.StartsWith("model.layers.0.", StringComparison.Ordinal) || t.Key.StartsWith("model.embed", StringComparison.Ordinal))
            .ToDictionary(t => t.Key, t => t.Value);
        var second = tensors.Where(t => !first.ContainsKey(t.Key)).ToDictionary(t => t.Key, t => t.Value);
        const string shard1 = "model-00001-of-00002.safetensors", shard2 = "model-00002-of-00002.safetensors";
        SafetensorsWriter.Write(dir.File(shard1), first, SafetensorsWriter.PyTorchMetadata);
        SafetensorsWriter.Write(dir.File(shard2), second, SafetensorsWriter.PyTorchMetadata);
        var map = first.Keys.Select(k => (k, shard1)).Concat(second.Keys.Select(k => (k, shard2))).OrderBy(e => e.k, StringComparer.Ordinal);
        var index = new StringBuilder("{\n  \"metadata\": {\n    \"total_size\": ")
            .Append(tensors.Values.Sum(t => t.ByteLength)).Append("\n  },\n  \"weight_map\": {\n")
            .AppendJoin(",\n", map.Select(e => $"    \"{e.k}\": \"{e.Item2}\""))
            .Append("\n  }\n}\n");
        File.WriteAllText(dir.File(WeightFiles.IndexFileName), index.ToString());
        return dir;
    }

    // ---- Mutations ----------------------------------------------------------------------------------------------

    private static readonly string[] HostileNumbers =
        ["2147483647", "2147483648", "-2147483648", "4294967296", "9223372036854775807", "1e308", "-1e308", "1e999", "-1", "0", "0.5", "-0", "1.0", "3"];

    private static readonly string[] WrongValues =
        ["null", "true", "false", "\"x\"", "\"\"", "[]", "{}", "[1, 2]", "[\"a\"]", "{\"a\": 1}", "\"\\ud800\"", "\"\\udfff\\ud800\"",
         new string('[', 80) + new string(']', 80)];

    private static readonly byte[] HostileBytes = [0x00, 0xFF, 0xFE, 0xC0, 0xC3, 0xE2, 0xED, 0xF4, 0x80, (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)','];

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|true|false|null")]
    private static partial Regex JsonToken();

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"\\s*:\\s*(?:\"(?:[^\"\\\\]|\\\\.)*\"|-?[\\d.eE+-]+|true|false|null)")]
    private static partial Regex JsonMember();

    /// <summary>A JSON file: half structure-aware (values, keys, duplicates, types), half raw bytes.</summary>
    private static byte[] MutateJson(Random random, byte[] original)
    {
        if (random.Next(2) == 0) return MutateBytes(random, original, 0, original.Length);
        string text = Encoding.UTF8.GetString(original);
        for (int edits = 1 + (random.Next(4) == 0 ? random.Next(3) : 0); edits > 0; edits--) text = MutateJsonText(random, text);
        return Encoding.UTF8.GetBytes(text);
    }

    private static string MutateJsonText(Random random, string text)
    {
        var tokens = JsonToken().Matches(text);
        var members = JsonMember().Matches(text);
        if (tokens.Count == 0) return text + "x";
        var token = tokens[random.Next(tokens.Count)];
        string Replace(Match m, string with) => text[..m.Index] + with + text[(m.Index + m.Length)..];
        switch (random.Next(7))
        {
            case 0: return Replace(token, HostileNumbers[random.Next(HostileNumbers.Length)]);
            case 1: return Replace(token, WrongValues[random.Next(WrongValues.Length)]);
            case 2 when token.Value.StartsWith('"') && token.Length >= 2:
            {
                // A lone surrogate, or a surrogate pair split the wrong way round, inside a key or string.
                string escape = new[] { "\\ud800", "\\udc00", "\\udbff\\u0041", "\\u0000", "\\uD83D" }[random.Next(5)];
                int at = token.Index + 1 + random.Next(token.Length - 1);
                return text[..at] + escape + text[at..];
            }
            case 3 when members.Count > 0:
            {
                var member = members[random.Next(members.Count)];
                return text[..member.Index] + member.Value + ", " + text[member.Index..];   // a duplicate key
            }
            case 4 when members.Count > 0:
            {
                var member = members[random.Next(members.Count)];
                return text[..member.Index] + text[(member.Index + member.Length)..];       // a deleted member (maybe a dangling comma)
            }
            case 5: return Replace(token, "\"" + new string('a', random.Next(1, 5000)) + "\"");
            default:
            {
                // An integer nudged by one, which keeps the file well-formed but the sizes inconsistent.
                return long.TryParse(token.Value, out long n) ? Replace(token, (n + (random.Next(2) == 0 ? 1 : -1)).ToString()) : Replace(token, "1");
            }
        }
    }

    /// <summary>A safetensors file: header-aware (JSON edits with a fixed-up or stale length, the length field), or raw bytes.</summary>
    private static byte[] MutateSafetensors(Random random, byte[] original)
    {
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(original);
        int headerEnd = (int)(8 + headerLength);
        switch (random.Next(4))
        {
            case 0:
            {
                var header = MutateJson(random, original[8..headerEnd]);
                bool fixLength = random.Next(4) != 0;
                var result = new byte[8 + header.Length + (original.Length - headerEnd)];
                BinaryPrimitives.WriteUInt64LittleEndian(result, fixLength ? (ulong)header.Length : (ulong)headerLength);
                header.CopyTo(result, 8);
                original.AsSpan(headerEnd).CopyTo(result.AsSpan(8 + header.Length));
                return result;
            }
            case 1:
            {
                var result = (byte[])original.Clone();
                ulong length = random.Next(6) switch
                {
                    0 => 0,
                    1 => (ulong)(headerLength + random.Next(-8, 9)),
                    2 => ulong.MaxValue,
                    3 => (ulong)original.Length,
                    4 => (ulong)random.NextInt64(),
                    _ => (ulong)(original.Length - 8),
                };
                BinaryPrimitives.WriteUInt64LittleEndian(result, length);
                return result;
            }
            case 2: return MutateBytes(random, original, 0, headerEnd);          // bytes of the header
            default: return MutateBytes(random, original, 0, original.Length);   // anywhere, data included
        }
    }

    /// <summary>Flips, overwrites, inserts, deletes or truncates bytes in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    private static byte[] MutateBytes(Random random, byte[] original, int from, int to)
    {
        var bytes = original.ToList();
        int At() => from + random.Next(Math.Max(1, Math.Min(to, bytes.Count) - from));
        switch (random.Next(6))
        {
            case 0:
                for (int flips = random.Next(1, 9); flips > 0; flips--) { int at = At(); bytes[at] ^= (byte)(1 << random.Next(8)); }
                break;
            case 1:
                for (int writes = random.Next(1, 5); writes > 0; writes--) bytes[At()] = HostileBytes[random.Next(HostileBytes.Length)];
                break;
            case 2:
            {
                int at = At();
                bytes.InsertRange(at, Enumerable.Range(0, random.Next(1, 16)).Select(_ => HostileBytes[random.Next(HostileBytes.Length)]));
                break;
            }
            case 3:
            {
                int at = At();
                bytes.RemoveRange(at, Math.Min(random.Next(1, 64), bytes.Count - at));
                break;
            }
            case 4:
                bytes = bytes.Take(At()).ToList();   // truncated
                break;
            default:
            {
                // Splice: a copy of one range inserted elsewhere (duplicated keys, repeated tensor entries).
                int start = At(), length = Math.Min(random.Next(1, 128), bytes.Count - start);
                var piece = bytes.GetRange(start, length);
                bytes.InsertRange(At(), piece);
                break;
            }
        }
        return [.. bytes];
    }
}
