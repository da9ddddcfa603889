//! The index against run folders written by the real run store.

use std::path::{Path, PathBuf};

use super::*;
use crate::environment::Environment;
use crate::plan::{Case, Plan};
use crate::store::{
    BenchBuild, Manifest, Metrics, PowerRecord, Record, RunStatus, RunStore, Status, StoredRun,
    SuiteRecord, TextMetrics, STORE_FORMAT,
};

fn case(id: &str) -> Case {
    Case {
        id: id.into(),
        ..Case::example("cpu", "ttft", 2)
    }
}

fn environment(fingerprint: &str) -> Environment {
    Environment {
        hostname: "host".into(),
        os: "Linux".into(),
        kernel: "6".into(),
        arch: "x86_64".into(),
        cpu_model: "CPU".into(),
        physical_cores: Some(2),
        logical_cores: 2,
        memory_bytes: 8 << 30,
        gpus: Vec::new(),
        fingerprint: fingerprint.into(),
    }
}

/// A finished run of suite `suite` on machine `fingerprint` started at minute `minute`, with
/// case `a` whose two ttft values are `ttft`.
fn write_run(root: &Path, suite: &str, fingerprint: &str, minute: u32, ttft: f64) -> PathBuf {
    let c = case("cpu/ttft/a");
    let manifest = Manifest {
        pauses: Vec::new(),
        prompt_sets: Default::default(),
        format: STORE_FORMAT,
        run_id: format!("20260101T00{minute:02}00Z-{suite}"),
        status: RunStatus::Running,
        started_at: format!("2026-01-01T00:{minute:02}:00.000Z"),
        finished_at: None,
        resumed_at: Vec::new(),
        bench: BenchBuild {
            version: "0.1.0".into(),
            git_revision: format!("rev{minute}"),
            features: Vec::new(),
        },
        suite: SuiteRecord {
            path: format!("suites/{suite}.toml"),
            source: String::new(),
            parsed: serde_json::json!({ "suite": { "name": suite } }),
        },
        plan: Plan {
            cases: vec![c.clone()],
        },
        environment: environment(fingerprint),
        hardware: None,
        engines: Default::default(),
        power: PowerRecord::default(),
    };
    let mut store = RunStore::create(root, manifest).unwrap();
    for rep in 0..2 {
        store.append(&ok(&c, rep, ttft)).unwrap();
    }
    store
        .update_manifest(|m| {
            m.status = RunStatus::Complete;
            m.finished_at = Some(m.started_at.clone());
        })
        .unwrap();
    store.dir().to_path_buf()
}

fn ok(c: &Case, rep: u32, ttft: f64) -> Record {
    Record {
        status: Status::Ok,
        error: None,
        metrics: Metrics::of_text(TextMetrics {
            ttft_s: Some(ttft),
            ..TextMetrics::default()
        }),
        ..Record::failed(c, rep, String::new(), 0.0, String::new())
    }
}

#[test]
fn a_new_index_holds_every_run_and_series_come_oldest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_run(root, "s", "fp", 2, 2.0);
    write_run(root, "s", "fp", 1, 1.0);
    let history = History::open(root).unwrap();
    let runs = history.runs().unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["20260101T000200Z-s", "20260101T000100Z-s"]);
    let r = &runs[0];
    assert_eq!(
        (
            r.status.as_str(),
            r.suite_name.as_str(),
            r.git_revision.as_str()
        ),
        ("complete", "s", "rev2")
    );
    assert_eq!((r.cases, r.memory_bytes), (1, 8 << 30));
    assert_eq!(r.dir, root.canonicalize().unwrap().join(&r.run_id));
    let series = history.series("cpu/ttft/a", "ttft_s").unwrap();
    let medians: Vec<f64> = series.iter().map(|p| p.summary.median).collect();
    assert_eq!(medians, [1.0, 2.0]);
    assert_eq!((series[0].summary.n, series[0].unit.as_str()), (2, "s"));
    assert!(history.series("cpu/ttft/a", "nope").unwrap().is_empty());
    assert_eq!(history.cases().unwrap(), ["cpu/ttft/a"]);
    let metrics = history.metrics("cpu/ttft/a").unwrap();
    assert_eq!(metrics.len(), 1);
    assert_eq!((metrics[0].metric.as_str(), metrics[0].runs), ("ttft_s", 2));
}

#[test]
fn sync_indexes_new_and_changed_runs_drops_gone_ones_and_skips_damaged_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let first = write_run(root, "s", "fp", 1, 1.0);
    let mut history = History::open(root).unwrap();
    let nothing_new = history.sync().unwrap();
    assert_eq!((nothing_new.indexed, nothing_new.unchanged), (0, 1));

    let second = write_run(root, "s", "fp", 2, 2.0);
    let damaged = root.join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    std::fs::write(damaged.join(crate::store::MANIFEST), "{ not json").unwrap();
    std::fs::create_dir(root.join("not-a-run")).unwrap();
    let report = history.sync().unwrap();
    assert_eq!(
        report,
        SyncReport {
            indexed: 1,
            unchanged: 1,
            removed: 0,
            skipped: 1
        }
    );

    // A resumed session adds a measurement: the run's rows follow.
    let (mut store, _) = RunStore::open(&second).unwrap();
    store.append(&ok(&case("cpu/ttft/a"), 1, 20.0)).unwrap();
    assert_eq!(history.sync().unwrap().indexed, 1);
    let series = history.series("cpu/ttft/a", "ttft_s").unwrap();
    assert_eq!(series[1].summary.n, 3);

    std::fs::remove_dir_all(&first).unwrap();
    assert_eq!(history.sync().unwrap().removed, 1);
    assert_eq!(history.runs().unwrap().len(), 1);

    let rebuilt = history.rebuild().unwrap();
    assert_eq!((rebuilt.indexed, rebuilt.skipped), (1, 1));
}

#[test]
fn indexing_twice_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_run(tmp.path(), "s", "fp", 1, 1.0);
    let mut history = History::open(tmp.path()).unwrap();
    let run = StoredRun::read(&dir).unwrap();
    history.index(&run).unwrap();
    history.index(&run).unwrap();
    assert_eq!(history.runs().unwrap().len(), 1);
    assert_eq!(history.series("cpu/ttft/a", "ttft_s").unwrap().len(), 1);
}

#[test]
fn the_baseline_is_the_newest_complete_run_of_the_suite_on_the_machine() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_run(root, "s", "fp", 1, 1.0);
    write_run(root, "s", "fp", 2, 1.0);
    write_run(root, "s", "other", 3, 1.0);
    write_run(root, "t", "fp", 4, 1.0);
    let killed = write_run(root, "s", "fp", 5, 1.0);
    let (mut store, _) = RunStore::open(&killed).unwrap();
    store
        .update_manifest(|m| m.status = RunStatus::Running)
        .unwrap();
    let current = write_run(root, "s", "fp", 6, 1.0);
    let history = History::open(root).unwrap();
    let id = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let baseline = history.latest_baseline("s", "fp", &id(&current)).unwrap();
    assert_eq!(baseline.unwrap().run_id, "20260101T000200Z-s");
    assert!(history.latest_baseline("u", "fp", "x").unwrap().is_none());
}

#[test]
fn another_schema_version_or_a_damaged_file_is_rebuilt_from_the_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_run(root, "s", "fp", 1, 1.0);
    drop(History::open(root).unwrap());
    let path = root.join(HISTORY_DB);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("DELETE FROM runs; PRAGMA user_version = 999;")
            .unwrap();
    }
    assert_eq!(History::open(root).unwrap().runs().unwrap().len(), 1);

    std::fs::write(&path, vec![7u8; 4096]).unwrap();
    assert_eq!(History::open(root).unwrap().runs().unwrap().len(), 1);
}

#[test]
fn a_run_in_another_folder_is_kept_by_its_full_path() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    let dir = write_run(&elsewhere, "s", "fp", 1, 1.0);
    let mut history = History::open(&tmp.path().join("results")).unwrap();
    history.index(&StoredRun::read(&dir).unwrap()).unwrap();
    assert_eq!(history.sync().unwrap().removed, 0);
    assert_eq!(history.runs().unwrap()[0].dir, dir.canonicalize().unwrap());
}

#[test]
fn runs_that_end_at_the_same_moment_are_all_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dirs: Vec<PathBuf> = (0..8)
        .map(|minute| write_run(root, "s", "fp", minute, f64::from(minute)))
        .collect();
    // Each run ends in its own process in real life: its own connection, a fresh open (which
    // may build the tables and sync every folder) and one transaction, all at once, while
    // another bench syncs.
    std::thread::scope(|scope| {
        for dir in &dirs {
            scope.spawn(move || {
                let run = StoredRun::read(dir).unwrap();
                let mut history = History::open(root).unwrap();
                history.index(&run).unwrap();
            });
        }
        scope.spawn(|| {
            History::open(root).unwrap().sync().unwrap();
        });
    });
    let history = History::open(root).unwrap();
    assert_eq!(history.runs().unwrap().len(), dirs.len());
}

#[test]
fn recreate_repairs_an_index_damaged_past_its_header() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_run(root, "s", "fp", 1, 1.0);
    write_run(root, "s", "fp", 2, 2.0);
    drop(History::open(root).unwrap());
    // Keep SQLite's header (so it opens and reads its version) and garble the pages after it.
    let path = root.join(HISTORY_DB);
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes.iter_mut().skip(200) {
        *b = 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let (history, report) = History::recreate(root).unwrap();
    assert_eq!(report.indexed, 2);
    assert_eq!(history.runs().unwrap().len(), 2);
}
