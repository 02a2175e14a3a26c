using System.Diagnostics;
using Sdar.Checkpoints;
using Sdar.Data;
using Sdar.IO;
using Sdar.Tests.Checkpoints;
using Sdar.Training;

namespace Sdar.Tests.IO;

/// <summary>Process ids for leftovers of a killed writer.</summary>
internal static class OutputTestProcesses
{
    /// <summary>The id of a process that has exited (a real one, so the id is not one a live process holds now).</summary>
    public static int DeadPid()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}

/// <summary>Outputs: leftovers of killed writes are removed, outputs are locked while written, bad paths fail first.</summary>
public class OutputTests
{
    public class Leftovers
    {
        [Fact]
        public void An_atomic_file_write_removes_the_temporary_a_killed_writer_left_and_keeps_a_live_ones()
        {
            using var dir = new TempDir();
            string target = dir.File("predictions.jsonl");
            string stale = dir.File($".predictions.jsonl.tmp-{OutputTestProcesses.DeadPid()}-{Guid.NewGuid():N}");
            string legacy = dir.File($".predictions.jsonl.{Guid.NewGuid():N}.tmp");
            string live = dir.File($".predictions.jsonl.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
            string other = dir.File($".other.jsonl.tmp-{OutputTestProcesses.DeadPid()}-{Guid.NewGuid():N}");
            foreach (var path in new[] { stale, legacy, live, other }) File.WriteAllText(path, "half");

            AtomicFile.WriteText(target, "done\n");

            Assert.Equal("done\n", File.ReadAllText(target));
            Assert.False(File.Exists(stale));
            Assert.False(File.Exists(legacy));
            Assert.True(File.Exists(live), "a temporary of a running writer is not touched");
            Assert.True(File.Exists(other), "only leftovers of the same output are removed");
        }

        [Fact]
        public void A_folder_write_removes_the_temporary_folder_of_a_killed_final_model_write()
        {
            using var dir = new TempDir();
            string stale = dir.File($".model.tmp-{OutputTestProcesses.DeadPid()}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(stale);
            File.WriteAllText(Path.Combine(stale, "model.safetensors"), "half");

            AtomicDirectory.Write(dir.File("model"), t => File.WriteAllText(Path.Combine(t, "config.json"), "{}"));

            Assert.Equal(["model"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
        }

        [Fact]
        public void Data_generate_removes_the_temporaries_a_killed_run_left_in_the_dataset_folder()
        {
            using var dir = new TempDir();
            string data = dir.File("data");
            Directory.CreateDirectory(data);
            string stale = Path.Combine(data, $".train.jsonl.tmp-{OutputTestProcesses.DeadPid()}-{Guid.NewGuid():N}");
            File.WriteAllText(stale, "{\"question\": \"half");

            SyntheticDataset.Write(data, new DatasetOptions { Train = 5, Validation = 2, Test = 2 });

            Assert.False(File.Exists(stale));
            Assert.DoesNotContain(Directory.GetFileSystemEntries(dir.Path), p => Path.GetFileName(p).StartsWith('.'));
        }
    }

    public class Locks
    {
        [Fact]
        public void A_second_writer_of_a_locked_output_fails_at_once_naming_it_and_the_holder()
        {
            using var dir = new TempDir();
            string output = dir.File("out");
            using (OutputLock.Acquire(output, "--out"))
            {
                var clock = Stopwatch.StartNew();
                var error = Assert.Throws<OutputPathException>(() => OutputLock.Acquire(output, "--out"));
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2));
                Assert.Contains("--out " + output, error.Message);
                Assert.Contains($"process {Environment.ProcessId}", error.Message);
            }
            // Released: the lock file is gone and the output can be claimed again.
            Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
            using (OutputLock.Acquire(output, "--out"))
            {
            }
        }

        [Fact]
        public void Data_generate_into_a_folder_another_run_is_writing_fails_before_writing()
        {
            using var dir = new TempDir();
            using var held = OutputLock.Acquire(dir.File("data"), "--out");
            var error = Assert.Throws<OutputPathException>(() =>
                SyntheticDataset.Write(dir.File("data"), new DatasetOptions { Train = 5, Validation = 2, Test = 2 }));
            Assert.Contains("is writing it", error.Message);
            Assert.False(Directory.Exists(dir.File("data")));
        }
    }

    public class EarlyChecks
    {
        [Fact]
        public void A_folder_under_a_file_is_an_error_naming_the_flag_and_the_file()
        {
            using var dir = new TempDir();
            File.WriteAllText(dir.File("plain"), "x");
            var error = Assert.Throws<OutputPathException>(() => OutputPaths.CheckFolder(dir.File("plain/out"), "--out"));
            Assert.Contains("--out", error.Message);
            Assert.Contains(dir.File("plain") + " is a file", error.Message);
        }

        [Fact]
        public void An_existing_file_where_a_folder_is_needed_and_the_reverse_are_errors()
        {
            using var dir = new TempDir();
            File.WriteAllText(dir.File("plain"), "x");
            Assert.Contains("is a file; a folder is needed",
                Assert.Throws<OutputPathException>(() => OutputPaths.CheckFolder(dir.File("plain"), "--out")).Message);
            Assert.Contains("is a folder; a file name is needed",
                Assert.Throws<OutputPathException>(() => OutputPaths.CheckFile(dir.Path, "--predictions")).Message);
        }

        [Fact]
        public void A_read_only_folder_is_reported_by_the_probe()
        {
            // /proc refuses new entries even to root, so this holds however the tests run.
            var error = Assert.Throws<OutputPathException>(() => OutputPaths.CheckFile("/proc/sdar-predictions.jsonl", "--predictions"));
            Assert.Contains("cannot write in /proc", error.Message);
        }

        [Fact]
        public void A_writable_path_passes_and_leaves_nothing_behind_but_its_parent()
        {
            using var dir = new TempDir();
            OutputPaths.CheckFile(dir.File("new/deeper/predictions.jsonl"), "--predictions");
            Assert.True(Directory.Exists(dir.File("new/deeper")));
            Assert.Empty(Directory.GetFileSystemEntries(dir.File("new/deeper")));
        }
    }
}
