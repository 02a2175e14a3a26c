using Sdar.Model;

namespace Sdar.Tests;

public class SkeletonTests
{
    [Fact]
    public void Dtype_sizes_match_safetensors()
    {
        Assert.Equal(2, DType.BF16.SizeInBytes());
        Assert.Equal(4, DType.F32.SizeInBytes());
    }
}
