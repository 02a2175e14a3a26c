using System.CommandLine;
using Sdar.Model.Kernels;
using Sdar.Runtime;
using Sdar.Server;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar serve</c>: the OpenAI-compatible HTTP server (<see cref="SdarServer"/>) until Ctrl-C.</summary>
internal static class ServeCommand
{
    public const string ApiKeyVariable = "SDAR_API_KEY";

    public static Command Create()
    {
        var model = CliParsing.ModelOption(required: false);
        model.Description = $"Model folder in HuggingFace layout; default: the bundled models/{BundledModels.DefaultName}.";
        var shape = ShapeOption("Serve a random BF16 model of a real shape built in memory, to measure the server at that size");
        var tokenizer = TokenizerOption();
        var host = new Option<string>("--host") { Description = "Address to listen on; 0.0.0.0 opens the server to the network.", DefaultValueFactory = _ => "127.0.0.1", HelpName = "ADDRESS" };
        var port = new Option<int>("--port") { Description = "TCP port; 0 = any free port (printed).", DefaultValueFactory = _ => 8000, HelpName = "PORT" };
        port.Integer(0, 65535);
        var apiKey = new Option<string?>("--api-key") { Description = $"Require 'Authorization: Bearer KEY' on every /v1 route (default: ${ApiKeyVariable}; none = open).", HelpName = "KEY" };
        var servedName = new Option<string?>("--served-model-name") { Description = "Model id in /v1/models and the responses; default: the model folder's name.", HelpName = "NAME" };
        var maxQueued = new Option<int>("--max-queued") { Description = "Most requests queued or running at once; more are answered 429 with Retry-After.", DefaultValueFactory = _ => 256, HelpName = "N" };
        maxQueued.Integer(1, 1 << 20);
        var maxRunning = new Option<int>("--max-running") { Description = "Most sequences decoded together in one batch; the rest wait for a slot.", DefaultValueFactory = _ => 16, HelpName = "N" };
        maxRunning.Integer(1, 4096);
        var engineFlags = new EngineFlags();

        var command = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health).")
        {
            model, shape, tokenizer, host, port, apiKey, servedName, maxQueued, maxRunning,
        };
        engineFlags.AddTo(command);
        var kernelFlags = new KernelFlags();
        kernelFlags.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var engineOptions = engineFlags.Read(parse) with { MaxRunningSequences = parse.GetValue(maxRunning) };
            string? key = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable);
            var options = new SdarServerOptions
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                ApiKey = string.IsNullOrEmpty(key) ? null : key,
                ServedModelName = parse.GetValue(servedName),
                MaxQueued = parse.GetValue(maxQueued),
            };
            var loaded = OpenModel(parse, model, shape, tokenizer, parse.InvocationConfiguration.Error, kernelFlags.Read(parse));
            SdarServer server;
            try
            {
                server = await SdarServer.StartAsync(loaded, engineOptions, options, cancellation);
            }
            catch
            {
                loaded.Dispose();
                throw;
            }
            // Ctrl-C and SIGTERM (what a container runtime or a load balancer's orchestrator sends) both stop gracefully.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            using var onInterrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Stop);
            using var onTerminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Stop);
            void Stop(System.Runtime.InteropServices.PosixSignalContext signal)
            {
                signal.Cancel = true;
                stop.Cancel();
            }
            await using (server)
            {
                output.WriteLine($"sdar serve: model '{server.ModelName}' listening on {server.Url} (API key {(options.ApiKey is null ? "off" : "on")}); Ctrl-C stops");
                output.Flush();
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    output.WriteLine("sdar serve: stopping");
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary><c>--shape NAME</c>: a random model of a real shape instead of a folder.</summary>
    public static Option<string?> ShapeOption(string purpose)
    {
        var shape = new Option<string?>("--shape") { Description = $"{purpose} (answers are not text): {string.Join(", ", Sdar.Checkpoints.ModelShapes.Names)}.", HelpName = "NAME" };
        shape.OneOfNames(Sdar.Checkpoints.ModelShapes.Names);
        return shape;
    }

    /// <summary><c>--tokenizer DIR</c>: where a --shape model's tokenizer and chat template come from.</summary>
    public static Option<string?> TokenizerOption() => new("--tokenizer")
    {
        Description = $"--shape: the folder whose tokenizer and chat template the random model uses; default: the bundled models/{BundledModels.DefaultName} "
            + "(tests/fixtures/qwen3-tokenizer holds Qwen3's own, which turns every random id into text).",
        HelpName = "DIR",
    };

    /// <summary>The model of <c>--model</c>, of <c>--shape</c> (random weights), or the bundled one.</summary>
    public static LoadedModel OpenModel(ParseResult parse, Option<string> model, Option<string?> shape, Option<string?> tokenizer, TextWriter log, KernelSettings kernels)
    {
        CliParsing.Require(!(parse.Given(model) && parse.Given(shape)), "give at most one of --model DIR or --shape NAME");
        CliParsing.Require(!parse.Given(tokenizer) || parse.Given(shape), "--tokenizer goes with --shape (a model folder has its own tokenizer)");
        if (parse.GetValue(shape) is not { } name) return LoadedModel.Open(parse.GetValue(model) ?? BundledModels.Locate(), kernels: kernels);
        log.WriteLine($"building a random BF16 {name} model in memory...");
        return LoadedModel.WithRandomWeights(name, parse.GetValue(tokenizer) ?? BundledModels.Locate(), kernels: kernels);
    }
}
