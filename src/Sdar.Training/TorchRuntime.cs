using TorchSharp;

namespace Sdar.Training;

/// <summary>Process-wide TorchSharp settings for training on this CPU.</summary>
public static class TorchRuntime
{
    /// <summary>The libtorch version TorchSharp loaded (loading the native library on first use).</summary>
    public static string LibTorchVersion => torch.__version__;
}
