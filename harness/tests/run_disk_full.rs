//! A disk that fills up while a run writes: the results folder is a small tmpfs, and once the
//! run has stored a few measurements the test fills the rest of it. bench stops with an error
//! naming the file and "no space left", exits 1, keeps every complete line, and
//! `bench run --resume` finishes the run once there is room again.
//!
//! Mounting needs root (CI runs as root) on Linux; elsewhere the test says it is skipped.

mod common;

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::BTreeSet;
    use std::ffi::CString;
    use std::io::Write;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use super::common::spawned::{lines_in, run_dir, Running};
    use super::common::{bench, read_json};

    /// A tmpfs mounted for the test, unmounted when dropped.
    struct Tmpfs(PathBuf);

    impl Tmpfs {
        /// Mount a tmpfs of `size` (as `mount -o size=` takes it) on the new folder `path`.
        fn mount(path: &Path, size: &str) -> Self {
            std::fs::create_dir_all(path).unwrap();
            let target = CString::new(path.as_os_str().as_bytes()).unwrap();
            let (fs, options) = (c"tmpfs", CString::new(format!("size={size}")).unwrap());
            // SAFETY: every pointer is a NUL-terminated string that outlives the call.
            let rc = unsafe {
                libc::mount(
                    fs.as_ptr(),
                    target.as_ptr(),
                    fs.as_ptr(),
                    0,
                    options.as_ptr().cast(),
                )
            };
            assert_eq!(
                rc,
                0,
                "cannot mount a tmpfs on {} as root: {}",
                path.display(),
                std::io::Error::last_os_error()
            );
            Self(path.to_path_buf())
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            if let Ok(target) = CString::new(self.0.as_os_str().as_bytes()) {
                // SAFETY: a NUL-terminated path; MNT_DETACH so that a test that failed with a
                // file still open does not leave the mount behind.
                unsafe {
                    libc::umount2(target.as_ptr(), libc::MNT_DETACH);
                }
            }
        }
    }

    /// Fill the file system of `path` to the last byte it accepts.
    fn fill(path: &Path) {
        let mut file = std::fs::File::create(path).unwrap();
        for size in [1 << 20, 4096, 1] {
            let chunk = vec![b'x'; size];
            while file.write_all(&chunk).is_ok() {}
        }
    }

    pub fn run() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root to mount a tmpfs");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        // Above the 16 MiB bench wants free when a run starts; models are cached elsewhere.
        let disk = Tmpfs::mount(&tmp.path().join("disk"), "20m");
        let results = disk.0.join("results");
        let models = tmp.path().join("models");
        let suite = tmp.path().join("full.toml");
        // Hundreds of quick measurements: the run is still writing when the disk fills.
        std::fs::write(
            &suite,
            "[suite]\nname = \"full\"\nrepetitions = 200\nwarmup = 0\n[power]\nsampler = \"none\"\n\
             [[target]]\nname = \"cpu\"\nengine = \"candle\"\nmodel = \"synth:tiny\"\n\
             [[workload]]\nname = \"w\"\nkind = \"llm\"\nprompt_tokens = 8\ngen_tokens = 2\n",
        )
        .unwrap();
        let mut bench = Running::start(
            tmp.path(),
            "run",
            [
                "run".as_ref(),
                "--results".as_ref(),
                results.as_os_str(),
                "--model-cache".as_ref(),
                models.as_os_str(),
                suite.as_os_str(),
            ],
        );
        bench.wait_for(Duration::from_secs(300), "stored measurements", || {
            run_dir(&results).is_some_and(|d| lines_in(&d.join("measurements.jsonl")) >= 3)
        });
        let filler = disk.0.join("filler");
        fill(&filler);
        let (status, _) = bench.wait(Instant::now(), Duration::from_secs(120));
        let stderr = bench.stderr_text();
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("measurements.jsonl: no space left"),
            "the error names the file: {stderr}"
        );
        assert!(stderr.contains("bench run --resume"), "{stderr}");

        // Every complete line is kept; a line cut by the full disk may follow the last one.
        let dir = run_dir(&results).unwrap();
        let path = dir.join("measurements.jsonl");
        let text = std::fs::read(&path).unwrap();
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let kept: Vec<serde_json::Value> = std::str::from_utf8(&text[..whole])
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        eprintln!(
            "the disk filled after {} measurements; {} bytes of a cut line follow",
            kept.len(),
            text.len() - whole
        );
        assert!(
            (3..200).contains(&kept.len()),
            "stopped mid-run: {}",
            kept.len()
        );

        // Room again: the run finishes where it stopped.
        std::fs::remove_file(&filler).unwrap();
        let out = bench_resume(&dir, &models);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest = read_json(&dir.join("manifest.json"));
        assert_eq!(manifest["status"], "complete");
        let records: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 200, "no repetition twice, none missing");
        let reps: BTreeSet<u64> = records
            .iter()
            .map(|r| r["repetition"].as_u64().unwrap())
            .collect();
        assert_eq!(reps, (0..200).collect());
        assert!(records.iter().all(|r| r["status"] == "ok"));
        // The first records are the ones kept, byte for byte.
        assert_eq!(records[..kept.len()], kept[..]);
    }

    fn bench_resume(dir: &Path, models: &Path) -> std::process::Output {
        bench()
            .args(["run", "--quiet", "--resume"])
            .arg(dir)
            .arg("--model-cache")
            .arg(models)
            .output()
            .unwrap()
    }
}

#[test]
fn a_disk_that_fills_mid_run_stops_it_with_a_clear_error_and_resume_finishes_it() {
    #[cfg(target_os = "linux")]
    linux::run();
    #[cfg(not(target_os = "linux"))]
    eprintln!("skipped: mounts a Linux tmpfs");
}
