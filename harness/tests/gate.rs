//! `bench gate`, `bench compare` and `bench baseline` end to end: one real run of the tiny
//! preset, and copies of it changed the way a regression, another machine or another suite
//! would change it.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod common;
use common::{bench, only_run_dir, read_json, read_jsonl, run_suite};

const SLOW_CASE: &str = "cpu/short/p16-g8-c1";

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/tiny-six.toml")
}

/// Copy run `from` to `to`, renamed `id`, changing its manifest and its records on the way.
fn copy_run(
    from: &Path,
    to: &Path,
    id: &str,
    manifest: impl Fn(&mut Value),
    record: impl Fn(&mut Value),
) {
    std::fs::create_dir_all(to).unwrap();
    let mut m = read_json(&from.join("manifest.json"));
    m["run_id"] = id.into();
    manifest(&mut m);
    std::fs::write(to.join("manifest.json"), m.to_string()).unwrap();
    let mut lines = String::new();
    for mut r in read_jsonl(&from.join("measurements.jsonl")) {
        record(&mut r);
        lines.push_str(&r.to_string());
        lines.push('\n');
    }
    std::fs::write(to.join("measurements.jsonl"), lines).unwrap();
}

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn gate(current: &Path, baseline: &Path, extra: &[&str]) -> Output {
    bench()
        .arg("gate")
        .arg(current)
        .arg("--baseline")
        .arg(baseline)
        .args(extra)
        .output()
        .unwrap()
}

struct Runs {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    base: PathBuf,
}

fn one_run() -> Runs {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_suite(tmp.path(), &suite(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let base = only_run_dir(&tmp.path().join("results"));
    Runs {
        root: tmp.path().to_path_buf(),
        base,
        _tmp: tmp,
    }
}

#[test]
fn gate_fails_a_regression_passes_noise_and_refuses_other_hardware() {
    let runs = one_run();
    let gate_file = runs.root.join("gate.toml");
    std::fs::write(
        &gate_file,
        "[defaults]\nmax_change_pct = 5\n\n[metrics.ttft_s]\n[metrics.decode_tps]\n",
    )
    .unwrap();
    let config = ["--config", gate_file.to_str().unwrap()];

    // The same run as its own baseline: nothing moved.
    let out = gate(&runs.base, &runs.base, &config);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("gate passed"));

    // Time to first token 3x slower in one case: far beyond the noise of any host.
    let slow = runs.root.join("slow");
    copy_run(
        &runs.base,
        &slow,
        "slow",
        |_| {},
        |r| {
            if r["case"] == SLOW_CASE {
                let ttft = r["metrics"]["ttft_s"].as_f64().unwrap();
                r["metrics"]["ttft_s"] = (ttft * 3.0).into();
            }
        },
    );
    let out = gate(&slow, &runs.base, &config);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let junit = std::fs::read_to_string(slow.join("gate-junit.xml")).unwrap();
    assert!(junit.contains("tests=\"4\" failures=\"1\""), "{junit}");
    assert!(
        junit.contains(&format!(
            "<testcase classname=\"{SLOW_CASE}\" name=\"ttft_s\" time=\"0\">\n      <failure type=\"regression\""
        )),
        "{junit}"
    );
    let markdown = std::fs::read_to_string(slow.join("gate.md")).unwrap();
    assert!(
        markdown.starts_with("## ❌ bench gate failed: 1 metric regressed"),
        "{markdown}"
    );
    assert!(markdown.contains("+200.0 %"), "{markdown}");

    // The Markdown also goes to the GitHub step summary when there is one.
    let summary = runs.root.join("step-summary.md");
    let out = bench()
        .arg("gate")
        .arg(&slow)
        .arg("--baseline")
        .arg(&runs.base)
        .args(config)
        .args(["--format", "json"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), markdown);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["regressed"], 1);

    // The same numbers measured on another chip: refused, with the difference named.
    let other = runs.root.join("other-chip");
    copy_run(
        &runs.base,
        &other,
        "other",
        |m| {
            m["environment"]["cpu_model"] = "Apple M4 Max".into();
        },
        |_| {},
    );
    let out = gate(&other, &runs.base, &config);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("vs Apple M4 Max"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    let mut forced = config.to_vec();
    forced.push("--force");
    let out = gate(&other, &runs.base, &forced);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A baseline file gives the same verdicts as the folder.
    let file = runs.root.join("baselines/tiny.json");
    let out = bench()
        .arg("baseline")
        .arg(&runs.base)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let out = gate(&slow, &file, &config);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn compare_gives_direction_aware_verdicts_and_bad_input_exits_2() {
    let runs = one_run();
    let faster = runs.root.join("faster");
    // Decode 3x faster everywhere: an improvement for a higher-is-better metric.
    copy_run(
        &runs.base,
        &faster,
        "faster",
        |_| {},
        |r| {
            if let Some(v) = r["metrics"]["decode_tps"].as_f64() {
                r["metrics"]["decode_tps"] = (v * 3.0).into();
            }
        },
    );
    let out = bench()
        .arg("compare")
        .arg(&runs.base)
        .arg(&faster)
        .args([
            "--format",
            "json",
            "--metric",
            "decode_tps",
            "--metric",
            "ttft_s",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = json["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let metrics = case["metrics"].as_array().unwrap();
        let verdict =
            |name: &str| metrics.iter().find(|m| m["metric"] == name).unwrap()["verdict"].clone();
        assert_eq!(verdict("decode_tps"), "improved", "{case}");
        assert_eq!(verdict("ttft_s"), "within_noise", "{case}");
        let decode = metrics
            .iter()
            .find(|m| m["metric"] == "decode_tps")
            .unwrap();
        assert!(
            (decode["ratio"].as_f64().unwrap() - 3.0).abs() < 1e-9,
            "{decode}"
        );
    }

    // Markdown and the terminal table carry the same verdicts.
    let md = bench()
        .arg("compare")
        .arg(&runs.base)
        .arg(&faster)
        .args(["--format", "md"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("| decode_tps |") && md.contains("🟢 improved"),
        "{md}"
    );

    // No case in common: the cases of another suite.
    let renamed = runs.root.join("renamed");
    copy_run(
        &runs.base,
        &renamed,
        "renamed",
        |m| {
            for case in m["plan"]["cases"].as_array_mut().unwrap() {
                let id = case["id"].as_str().unwrap().replace("short", "long");
                case["id"] = id.into();
            }
        },
        |r| {
            let id = r["case"].as_str().unwrap().replace("short", "long");
            r["case"] = id.into();
        },
    );
    let out = bench()
        .arg("compare")
        .arg(&runs.base)
        .arg(&renamed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("have no case in common"), "{stderr}");
    assert!(
        stderr.contains("cpu/long/p16-g8-c1: only in the current run"),
        "{stderr}"
    );

    // A baseline file that is not a run.
    let junk = runs.root.join("junk.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    let out = gate(&runs.base, &junk, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a bench baseline"));

    // A gate file naming a metric bench does not have.
    let bad = runs.root.join("bad-gate.toml");
    std::fs::write(&bad, "[metrics.ttft_s]\n[metrics.tokens_per_joule]\n").unwrap();
    let out = gate(&runs.base, &runs.base, &["--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad-gate.toml:2:10"), "{stderr}");
    assert!(
        stderr.contains("unknown metric `tokens_per_joule`"),
        "{stderr}"
    );

    // Too few repetitions for every gated metric: the gate cannot decide.
    let strict = runs.root.join("strict.toml");
    std::fs::write(
        &strict,
        "[defaults]\nmin_repetitions = 20\n[metrics.ttft_s]\n",
    )
    .unwrap();
    let out = gate(
        &runs.base,
        &runs.base,
        &["--config", strict.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing could be gated"));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let runs = one_run();
    let mut child = bench()
        .arg("compare")
        .arg(&runs.base)
        .arg(&runs.base)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before bench writes (as `bench compare … | head -0` would).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
