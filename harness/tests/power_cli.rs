//! `bench power import` on the real Apple captures and on damaged ones: samples out, damage
//! named with its byte offset or line, the samples before it kept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apple")
        .join(name)
}

fn import(format: &str, file: &Path) -> (Output, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["power", "import", "--format", format])
        .arg(file)
        .output()
        .unwrap();
    let samples = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, samples)
}

#[test]
fn the_real_captures_import() {
    let cases = [
        (
            "powermetrics-plist",
            "plist_full_m1_MacBookPro17-1_graelo-pumas.xml",
            1,
        ),
        (
            "powermetrics-plist",
            "plist_gpu_power_multiple_samples_m4pro_Mac16-8_matiasinsaurralde-powermetrics.xml",
            5,
        ),
        (
            "powermetrics-text",
            "text_m4max_Mac16-6_BinSquare-powermetrics-go.log",
            1,
        ),
    ];
    for (format, name, count) in cases {
        let (out, samples) = import(format, &fixture(name));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(samples.len(), count, "{name}");
        assert!(samples.iter().all(|s| s["source"] == "powermetrics"));
    }
    // The M1 sample: 89 mJ of CPU energy over 2.019178750 s.
    let (_, m1) = import(
        "powermetrics-plist",
        &fixture("plist_full_m1_MacBookPro17-1_graelo-pumas.xml"),
    );
    let cpu = m1[0]["rails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rail"] == "cpu")
        .unwrap();
    assert!(
        (cpu["watts"].as_f64().unwrap() - 0.089 / 2.019_178_75).abs() < 1e-4,
        "{cpu}"
    );
}

#[test]
fn damage_keeps_what_came_before_and_says_where() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = std::fs::read(fixture(
        "plist_gpu_power_multiple_samples_m4pro_Mac16-8_matiasinsaurralde-powermetrics.xml",
    ))
    .unwrap();
    let cut = tmp.path().join("cut.plist");
    std::fs::write(&cut, &whole[..whole.len() - 200]).unwrap();
    let (out, samples) = import("powermetrics-plist", &cut);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(samples.len(), 4, "{stderr}");
    assert!(
        stderr.contains("byte ") && stderr.contains("4 samples before it were kept"),
        "{stderr}"
    );

    let garbage = tmp.path().join("garbage.jsonl");
    std::fs::write(
        &garbage,
        "{\"timestamp\": \"2025-02-24T20:38:15.4+00:00\", \"cpu_power\": 1.5}\nnot json at all\n",
    )
    .unwrap();
    let (out, samples) = import("macmon", &garbage);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(samples.len(), 1);
    assert!(stderr.contains("line 2"), "{stderr}");

    let binary = tmp.path().join("binary.log");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let (out, samples) = import("powermetrics-text", &binary);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(samples.is_empty());
    assert!(
        stderr.contains("byte 0") && stderr.contains("not UTF-8"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_format_lists_the_known_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["power", "import", "--format", "csv", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("powermetrics-plist") && stderr.contains("macmon"),
        "{stderr}"
    );
}
