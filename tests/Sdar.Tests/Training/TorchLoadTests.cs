using Sdar.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sdar.Tests.Training;

/// <summary>TorchSharp's native library loads on this machine without any manual step (DESIGN section 6).</summary>
public class TorchLoadTests
{
    [Fact]
    public void A_matrix_product_runs_in_libtorch()
    {
        Assert.False(string.IsNullOrEmpty(TorchRuntime.LibTorchVersion));
        using var a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
    }
}
