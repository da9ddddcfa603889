//! `bench calibrate --json` end to end, at small sizes: it measures, prints what it measured,
//! and stores the same figures under the machine's fingerprint.

use std::process::Command;

use serde_json::Value;

#[test]
fn calibrate_stores_positive_figures_under_the_fingerprint() {
    let results = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args([
            "calibrate",
            "--json",
            "--sizes",
            "64,128",
            "--budget-ms",
            "20",
        ])
        .args(["--read-mib", "8", "--read-trials", "2", "--results"])
        .arg(results.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fingerprint = printed["fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint.len(), 16);
    assert_eq!(printed["environment"]["fingerprint"], fingerprint);

    let path = results
        .path()
        .join("calibration")
        .join(format!("{fingerprint}.json"));
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(stored, printed);

    let matmul = stored["matmul"].as_array().unwrap();
    for dtype in ["f32", "bf16"] {
        for n in [64, 128] {
            let rate = matmul
                .iter()
                .find(|r| r["device"] == "cpu" && r["dtype"] == dtype && r["n"] == n)
                .unwrap_or_else(|| panic!("no cpu {dtype} {n} in {matmul:?}"));
            assert!(rate["gflops"].as_f64().unwrap() > 0.0);
        }
    }
    assert_eq!(stored["memory_read"]["bytes"], 8 << 20);
    assert!(stored["memory_read"]["gb_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn calibrate_refuses_empty_sizes() {
    let results = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["calibrate", "--sizes", "0", "--results"])
        .arg(results.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sizes"));
}
