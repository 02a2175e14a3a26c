using System.CommandLine;
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
            model, host, port, apiKey, servedName, maxQueued, maxRunning,
        };
        engineFlags.AddTo(command);
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
            var loaded = LoadedModel.Open(parse.GetValue(model) ?? BundledModels.Locate());
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
}
