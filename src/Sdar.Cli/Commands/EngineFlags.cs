using System.CommandLine;
using Sdar.Decoding;
using Sdar.Model;

namespace Sdar.Cli.Commands;

/// <summary>The engine flags shared by <c>eval</c> and <c>bench engine</c> (and the coming server), read into <see cref="EngineOptions"/>.</summary>
internal sealed class EngineFlags
{
    private readonly Option<int?> _kvCacheMb, _kvCacheTokens, _maxTokensPerForward, _pageSize;
    private readonly Option<KvStorage> _kvStorage;
    private readonly Option<string?> _prefixCache;

    public EngineFlags()
    {
        _kvCacheMb = new Option<int?>("--kv-cache-mb") { Description = "KV cache budget in MiB, shared by all running requests (default: half the available memory; pages are allocated as used).", HelpName = "MIB" };
        _kvCacheMb.Integer(1, 16 << 20);
        _kvCacheTokens = new Option<int?>("--kv-cache-tokens") { Description = "KV cache budget in positions instead of MiB.", HelpName = "N" };
        _kvCacheTokens.Integer(1, int.MaxValue / 2);
        _kvStorage = new Option<KvStorage>("--kv-storage") { Description = "KV cache storage: F32 (exact) or BF16 (half the memory).", DefaultValueFactory = _ => KvStorage.F32, HelpName = "TYPE" };
        _kvStorage.OneOf();
        _maxTokensPerForward = new Option<int?>("--max-tokens-per-forward") { Description = "Most new tokens in one forward, all requests together; longer prompts are prefilled in chunks (default 8192).", HelpName = "N" };
        _maxTokensPerForward.Integer(1, CliParsing.MaxTokens);
        _pageSize = new Option<int?>("--kv-page-size") { Description = "Positions per KV page (default 64); the prefix cache shares pages of requests whose block length divides it.", HelpName = "N" };
        _pageSize.Integer(1, 4096);
        _prefixCache = CliParsing.BooleanOption("--prefix-cache", "Share the KV of full prompt pages between requests with the same beginning (default true).", defaultValue: true);
    }

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { _kvCacheMb, _kvCacheTokens, _kvStorage, _maxTokensPerForward, _pageSize, _prefixCache })
            command.Add(option);
    }

    public EngineOptions Read(ParseResult parse)
    {
        CliParsing.Require(!(parse.Given(_kvCacheMb) && parse.Given(_kvCacheTokens)), "give at most one of --kv-cache-mb and --kv-cache-tokens");
        var defaults = new EngineOptions();
        return defaults with
        {
            KvCacheBytes = parse.GetValue(_kvCacheMb) is int mb ? (long)mb << 20 : null,
            KvCacheTokens = parse.GetValue(_kvCacheTokens),
            KvStorage = parse.GetValue(_kvStorage),
            MaxTokensPerForward = parse.GetValue(_maxTokensPerForward) ?? defaults.MaxTokensPerForward,
            PageSize = parse.GetValue(_pageSize) ?? defaults.PageSize,
            PrefixCaching = parse.GetBoolean(_prefixCache) ?? true,
        };
    }
}
