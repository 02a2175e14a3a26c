using System.Runtime.InteropServices;

namespace Sdar.Tests.Checkpoints;

/// <summary>Copies of the tiny fixture checkpoint laid out as tests need them: plain, or as a HuggingFace hub cache.</summary>
internal static class CheckpointFolderFixtures
{
    public static readonly string[] FixtureFiles =
        ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"];

    /// <summary>A plain copy of the tiny-sdar checkpoint in <paramref name="dir"/>.</summary>
    public static string CopyTiny(string dir, params string[] files)
    {
        Directory.CreateDirectory(dir);
        foreach (string name in files.Length > 0 ? files : FixtureFiles)
            File.Copy(Path.Combine(TestFiles.Fixture("tiny-sdar"), name), Path.Combine(dir, name), overwrite: true);
        return dir;
    }

    /// <summary>
    /// <paramref name="root"/>/models--Org--Tiny exactly as huggingface_hub writes it: blobs named by hash,
    /// snapshots/&lt;rev&gt;/name -> ../../blobs/&lt;hash&gt; (relative links), refs/main holding &lt;rev&gt;.
    /// Returns the repository folder.
    /// </summary>
    public static string HubCache(string root, string revision = "0123456789abcdef0123456789abcdef01234567",
        bool writeRef = true, params string[] files)
    {
        string repository = Path.Combine(root, "models--Org--Tiny");
        string blobs = Path.Combine(repository, "blobs"), snapshot = Path.Combine(repository, "snapshots", revision);
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(snapshot);
        foreach (string name in files.Length > 0 ? files : FixtureFiles)
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(TestFiles.Fixture("tiny-sdar"), name));
            string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            File.WriteAllBytes(Path.Combine(blobs, hash), bytes);
            File.CreateSymbolicLink(Path.Combine(snapshot, name), Path.Combine("..", "..", "blobs", hash));
        }
        if (writeRef)
        {
            Directory.CreateDirectory(Path.Combine(repository, "refs"));
            File.WriteAllText(Path.Combine(repository, "refs", "main"), revision);   // no newline, as the hub writes it
        }
        return repository;
    }

    public static string Snapshot(string repository, string revision = "0123456789abcdef0123456789abcdef01234567") =>
        Path.Combine(repository, "snapshots", revision);

    /// <summary>Makes a FIFO (named pipe); false where the platform has none.</summary>
    public static bool TryMakeFifo(string path) => !OperatingSystem.IsWindows() && MkFifo(path, 0x1B6 /* 0666 */) == 0;

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
