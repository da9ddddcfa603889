//! Roofline figures end to end: `bench calibrate` at small sizes, then the tiny suite stored
//! in the same results folder shows prefill MFU and decode MBU in `summary.csv` and a
//! `roofline:` line per case under the table, with any figure above 100 % flagged there.
//!
//! Whether the figures stay at or under 100 % depends on the machine and the build (a debug
//! build's read kernel and a tiny model that sits in cache), so the test asserts the flag
//! agrees with the figures rather than where they land; the quickstart's figures in a release
//! build are the check of the ceilings themselves.

use std::path::Path;
use std::process::Command;

mod common;
use common::bench;

#[test]
fn tiny_suite_after_calibrate_has_mfu_and_mbu_and_flags_any_above_the_ceiling() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let calibrate = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["calibrate", "--sizes", "128,256", "--budget-ms", "50"])
        .args(["--read-mib", "64", "--read-trials", "3", "--results"])
        .arg(&results)
        .output()
        .unwrap();
    assert!(
        calibrate.status.success(),
        "{}",
        String::from_utf8_lossy(&calibrate.stderr)
    );
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/tiny.toml");
    let out = bench()
        .args(["run", "--results"])
        .arg(&results)
        .arg("--model-cache")
        .arg(tmp.path().join("models"))
        .arg(&suite)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("roofline:"))
        .collect();
    assert_eq!(lines.len(), 2, "one line per case:\n{stdout}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("prefill MFU") && l.contains("decode MBU")),
        "{stdout}"
    );

    // The run folder is the one that is not `calibration`.
    let run = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir() && !p.ends_with("calibration"))
        .unwrap();
    let mut csv = csv::Reader::from_path(run.join("summary.csv")).unwrap();
    let headers = csv.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (prefill, decode, ceiling) = (
        column("prefill_mfu"),
        column("decode_mbu"),
        column("ceiling"),
    );
    let mut rows = 0;
    let mut above = false;
    for row in csv.records() {
        let row = row.unwrap();
        for i in [prefill, decode] {
            let v: f64 = row[i].parse().unwrap();
            assert!(v.is_finite() && v > 0.0, "{} = {v} in {row:?}", &headers[i]);
            above |= v > 1.0;
        }
        assert!(row[ceiling].starts_with("calibration:"), "{row:?}");
        rows += 1;
    }
    assert!(rows > 0);
    assert_eq!(
        stdout.contains("above its ceiling"),
        above,
        "a figure above 100 % is flagged, and only then:\n{stdout}"
    );

    // `bench compare` in every format carries the figures of the cases both runs share.
    let compare = |format: &str| {
        let out = bench()
            .args(["compare", "--format", format])
            .arg(&run)
            .arg(&run)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let markdown = compare("md");
    assert!(markdown.contains("**Roofline**"), "{markdown}");
    assert_eq!(
        markdown
            .lines()
            .filter(|l| l.contains("| prefill MFU |"))
            .count(),
        2,
        "{markdown}"
    );
    let json: serde_json::Value = serde_json::from_str(&compare("json")).unwrap();
    let figures = json["roofline"].as_array().expect("a roofline list");
    assert_eq!(
        figures.len(),
        4,
        "two cases, prefill MFU and decode MBU each"
    );
    assert!(figures.iter().all(|f| f["base"] == f["current"]));
    assert!(compare("junit").contains("roofline: "));

    // The run's Markdown report has the roofline table too.
    let md = bench()
        .args(["report", "--format", "md"])
        .arg(&run)
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains(": Roofline"), "{md}");
}
