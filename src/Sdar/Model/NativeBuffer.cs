using System.Runtime.InteropServices;

namespace Sdar.Model;

/// <summary>Unmanaged memory freed when the last tensor referring to it is collected.</summary>
internal sealed unsafe class NativeBuffer
{
    private readonly long _bytes;
    public byte* Pointer { get; }

    public NativeBuffer(long bytes)
    {
        _bytes = Math.Max(bytes, 1);
        Pointer = (byte*)NativeMemory.AlignedAlloc((nuint)_bytes, 64);
        GC.AddMemoryPressure(_bytes);
    }

    ~NativeBuffer()
    {
        NativeMemory.AlignedFree(Pointer);
        GC.RemoveMemoryPressure(_bytes);
    }
}
