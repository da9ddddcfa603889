//! `bench run` with power sampled from a Prometheus exporter on 127.0.0.1 (a real HTTP
//! endpoint serving a RAPL-style energy counter that grows at a known rate): every measurement
//! gets energy figures that match the rate; an exporter that dies mid-run is reported and no
//! measurement is lost.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod common;
use common::{bench, only_run_dir, read_json, read_jsonl, run_suite};

/// Watts the fake exporter's counter grows at.
const WATTS: f64 = 10.0;

/// The fake exporter, counting WATTS × seconds.
fn exporter(answers: usize) -> (String, Arc<AtomicUsize>) {
    common::exporter::rapl_exporter(answers, |t| WATTS * t)
}

fn suite(dir: &Path, url: &str, baseline_s: u32) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/tiny.toml"),
    )
    .unwrap()
    .replace(
        "sampler = \"none\"",
        &format!(
            "sampler = \"prometheus\"\nurl = \"{url}\"\nmetrics = [\"node_rapl_package_joules_total\"]\ninterval_ms = 20\nidle_baseline_s = {baseline_s}"
        ),
    );
    let path = dir.join("suite.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(tmp: &Path, suite: &Path) -> (std::process::Output, PathBuf) {
    let out = run_suite(tmp, suite, &[]);
    (out, only_run_dir(&tmp.join("results")))
}

#[test]
fn measurements_carry_energy_at_the_rate_the_exporter_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, _) = exporter(usize::MAX);
    let (out, dir) = run(tmp.path(), &suite(tmp.path(), &url, 1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("power p50") && stdout.contains("J/out tok"),
        "{stdout}"
    );

    let manifest = read_json(&dir.join("manifest.json"));
    let power = &manifest["power"];
    assert_eq!(power["used"], "prometheus", "{power}");
    assert_eq!(power["interval_ms"], 20);
    let idle = power["baseline"]["watts"]["package-0"].as_f64().unwrap();
    assert!((idle - WATTS).abs() < 1.0, "idle baseline {idle} W");

    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 6);
    for r in &records {
        let m = &r["metrics"];
        let energy = &r["energy"];
        assert_eq!(energy["headline"], "package-0", "{r}");
        let rail = &energy["rails"]["package-0"];
        assert_eq!(rail["scope"], "package");
        assert_eq!(rail["method"], "counter");
        let e2e = m["e2e_s"].as_f64().unwrap();
        let joules = m["energy_j"].as_f64().unwrap();
        // The counter grows at WATTS; scrape latency on loopback blurs short phases a little.
        let avg = m["avg_power_w"].as_f64().unwrap();
        assert!((avg - WATTS).abs() < 0.3 * WATTS, "{avg} W: {r}");
        assert!((joules - avg * e2e).abs() < 1e-6 * joules.max(1.0), "{r}");
        let prefill = rail["phases"]["prefill"]["joules"].as_f64().unwrap();
        let decode = rail["phases"]["decode"]["joules"].as_f64().unwrap();
        assert!(prefill > 0.0 && decode > 0.0);
        assert!(
            prefill + decode <= joules * (1.0 + 1e-9),
            "phases within the total: {r}"
        );
        let prompt = r["prompt_tokens"].as_f64().unwrap();
        let output = r["output_tokens"].as_f64().unwrap();
        assert!((m["j_per_prompt_token"].as_f64().unwrap() - prefill / prompt).abs() < 1e-12);
        let per_out = m["j_per_output_token"].as_f64().unwrap();
        assert!((per_out - decode / (output - 1.0)).abs() < 1e-12);
        assert!((m["output_tokens_per_j"].as_f64().unwrap() * per_out - 1.0).abs() < 1e-9);
        let active = m["active_energy_j"].as_f64().unwrap();
        assert!(
            active.abs() < 0.3 * joules,
            "idle = busy here, so active ≈ 0: {r}"
        );
        assert!(energy["flags"].is_null(), "no thermal data, no flags: {r}");
    }

    let samples = read_jsonl(&dir.join("power.jsonl"));
    assert!(samples.len() > 20, "{} samples", samples.len());
    let times: Vec<f64> = samples.iter().map(|s| s["t_s"].as_f64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[1] > w[0]),
        "one increasing clock"
    );
    let first_measurement = records[0]["t_start_s"].as_f64().unwrap();
    assert!(times[0] < first_measurement && first_measurement < *times.last().unwrap());
}

#[test]
fn an_exporter_that_dies_mid_run_is_reported_and_no_measurement_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, served) = exporter(10);
    let (out, dir) = run(tmp.path(), &suite(tmp.path(), &url, 0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(served.load(Ordering::SeqCst) > 10);
    assert!(stderr.contains("power sampling stopped"), "{stderr}");

    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 6);
    assert!(records.iter().all(|r| r["status"] == "ok"));
    let manifest = read_json(&dir.join("manifest.json"));
    assert_eq!(manifest["status"], "complete");
    let failures = manifest["power"]["failures"].as_array().unwrap();
    assert!(
        failures[0].as_str().unwrap().contains("stopped answering"),
        "{failures:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("sampling failed during the run"),
        "{stdout}"
    );
}

#[test]
fn a_named_sampler_that_cannot_run_here_stops_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    // Nothing listens on this port once the listener is dropped.
    let url = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/metrics", l.local_addr().unwrap())
    };
    let results = tmp.path().join("results");
    let out = bench()
        .args(["run", "--results"])
        .arg(&results)
        .arg(suite(tmp.path(), &url, 0))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("prometheus") && stderr.contains("sampler = \"auto\""),
        "{stderr}"
    );
    assert!(!results.exists() || std::fs::read_dir(&results).unwrap().next().is_none());
}
