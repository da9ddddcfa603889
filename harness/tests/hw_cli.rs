//! `bench hw` end to end on this machine: it runs, its JSON has the detected facts, and a
//! machine with no table row (such as a CI box without an Apple chip or a listed NVIDIA GPU) is
//! told so rather than given a near row.

use std::process::Command;

use serde_json::Value;

#[test]
fn bench_hw_json_describes_this_machine_and_says_when_no_row_fits() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["hw", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["table"], "harness/data/hardware.toml");
    assert!(v["environment"]["cpu_model"].is_string());
    let matches = v["hardware"]["matches"].as_array().unwrap();
    assert!(
        !matches.is_empty(),
        "the chip or CPU is always matched against the table"
    );
    let chip = &matches[0];
    let rows = v["rows"].as_array().unwrap();
    if cfg!(target_os = "macos") {
        // An Apple chip may or may not have a row; either way the outcome says which.
        assert!(chip["outcome"].is_string());
    } else {
        // The table's rows are Apple chips and NVIDIA GPUs: a Linux CPU has none.
        assert_eq!(chip["outcome"], "no_row", "{chip}");
        assert_eq!(chip["device"], v["hardware"]["facts"]["chip"]);
        let gpu_rows = matches.iter().filter(|m| m["outcome"] == "row").count();
        assert_eq!(rows.len(), gpu_rows);
    }
}

#[test]
fn bench_hw_text_names_the_missing_row() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("hw")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("harness/data/hardware.toml"), "{text}");
    if !cfg!(target_os = "macos") {
        assert!(text.contains("no row in the table for"), "{text}");
    }
}
