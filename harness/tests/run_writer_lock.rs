//! One writer per run folder: a second `bench run --resume` of a run that is still being
//! written is refused before it writes anything, naming the process that holds the run; the
//! readers (`report`, `compare`, `gate`, `history`) read the run as it stands; a run whose
//! writer was killed is resumed at once (the OS dropped the lock).

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{bench, only_run_dir, read_jsonl, repetition_keys};

/// A run of the tiny preset long enough to be caught mid-way.
fn long_suite(tmp: &Path) -> PathBuf {
    let suite = tmp.join("long.toml");
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/tiny.toml");
    std::fs::write(
        &suite,
        std::fs::read_to_string(tiny)
            .unwrap()
            .replace("repetitions = 3", "repetitions = 60")
            .replace("gen_tokens = [8]", "gen_tokens = [64]"),
    )
    .unwrap();
    suite
}

/// Kills the writer if the test fails before it does.
struct Writer(Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines stored so far in the one run folder under `results`.
fn stored(results: &Path) -> usize {
    std::fs::read_dir(results)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| std::fs::read_to_string(e.path().join("measurements.jsonl")).ok())
        .map(|t| t.lines().count())
        .sum()
}

/// `bench run --resume DIR`.
fn resume(models: &Path, dir: &Path) -> Output {
    bench()
        .args(["run", "--quiet", "--model-cache"])
        .arg(models)
        .arg("--resume")
        .arg(dir)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_second_writer_is_refused_readers_read_and_a_killed_writer_frees_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let models = tmp.path().join("models");
    let mut writer = Writer(
        bench()
            .args(["run", "--quiet", "--results"])
            .arg(&results)
            .arg("--model-cache")
            .arg(&models)
            .arg(long_suite(tmp.path()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    // Enough of the first case for the gate to have data (5 repetitions a side by default).
    while stored(&results) < 10 {
        assert!(
            writer.0.try_wait().unwrap().is_none(),
            "the run ended before the test could reach it"
        );
        assert!(Instant::now() < deadline, "no measurements appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    let dir = only_run_dir(&results);

    // A second writer: refused with exit 2, naming the folder, the pid and the host, and
    // nothing of the run is touched.
    let before = std::fs::read(dir.join("measurements.jsonl")).unwrap();
    let second = resume(&models, &dir);
    let said = text(&second);
    assert_eq!(second.status.code(), Some(2), "{said}");
    assert!(said.contains(&dir.display().to_string()), "{said}");
    assert!(
        said.contains(&format!("pid {} on host ", writer.0.id())),
        "{said}"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(
        manifest["resumed_at"].as_array().unwrap().is_empty(),
        "the refused writer changed the manifest"
    );
    let after = std::fs::read(dir.join("measurements.jsonl")).unwrap();
    assert!(
        after.starts_with(&before),
        "the refused writer changed the measurements"
    );

    // Readers read the run as it stands while it is written.
    let readers: [(&str, Vec<std::ffi::OsString>); 4] = [
        (
            "report",
            vec![
                "report".into(),
                dir.clone().into(),
                "--out".into(),
                tmp.path().join("site").into(),
            ],
        ),
        (
            "compare",
            vec!["compare".into(), dir.clone().into(), dir.clone().into()],
        ),
        (
            "gate",
            vec![
                "gate".into(),
                dir.clone().into(),
                "--baseline".into(),
                dir.clone().into(),
                "--markdown".into(),
                tmp.path().join("gate.md").into(),
                "--junit".into(),
                tmp.path().join("gate.xml").into(),
            ],
        ),
        (
            "history",
            vec!["history".into(), "--results".into(), results.clone().into()],
        ),
    ];
    for (name, args) in readers {
        let out = bench().args(&args).output().unwrap();
        let said = text(&out);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "bench {name} on a run being written: {said}"
        );
        assert!(!said.contains("error:"), "bench {name}: {said}");
    }
    assert!(tmp.path().join("site/index.html").is_file());

    // The writer dies without a chance to clean up: the lock goes with it.
    writer.0.kill().unwrap();
    writer.0.wait().unwrap();
    let resumed = resume(&models, &dir);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(
        repetition_keys(&records).len(),
        120,
        "2 cases x 60 repetitions"
    );
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("writer.lock")).unwrap()).unwrap();
    assert_ne!(
        lock["pid"].as_u64(),
        Some(u64::from(writer.0.id())),
        "the lock file names the last writer"
    );
}

#[test]
fn a_history_index_that_cannot_be_opened_never_fails_a_stored_run() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    // A folder where the index file should be: SQLite cannot open it.
    std::fs::create_dir_all(results.join("history.sqlite")).unwrap();
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/tiny.toml");
    let out = common::run_suite(tmp.path(), &tiny, &[]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let warnings = said.matches("not in the history index").count();
    assert_eq!(warnings, 1, "one warning: {said}");
    assert!(said.contains("bench history --reindex"), "{said}");
    let runs: Vec<PathBuf> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(read_jsonl(&runs[0].join("measurements.jsonl")).len(), 6);
}
