//! The `mflux` engine against a stand-in `mflux-generate` (tests/fixtures/mflux, written from
//! mflux's source formats): the flags bench passes, every step timed from tqdm's updates as they
//! arrive, the process and mflux's own time kept side by side, the image saved, and a failed
//! run recorded with mflux's last words.

use std::path::Path;

mod common;
use common::{numbers, only_run_dir, read_json, read_jsonl, run_suite};

fn suite(dir: &Path, prompt: &str) -> std::path::PathBuf {
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mflux/mflux-generate");
    let text = format!(
        r#"[suite]
name = "mflux"
repetitions = 2
warmup = 0

[power]
sampler = "none"

[[target]]
name = "mlx"
engine = "mflux"
model = "schnell"
command = "{}"
quantize = 8

[[workload]]
name = "img"
kind = "diffusion"
width = 64
height = 32
steps = 4
seed = 42
prompt = "{prompt}"
save_images = true
"#,
        fake.display()
    );
    let path = dir.join("mflux.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn mflux_runs_are_timed_step_by_step_beside_mfluxs_own_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let args = tmp.path().join("args.jsonl");
    // bench's own temporary folder, to see that it leaves nothing there.
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let out = run_suite(
        tmp.path(),
        &suite(tmp.path(), "a lighthouse"),
        &[
            ("MFLUX_FAKE_ARGS", Some(args.to_str().unwrap())),
            ("TMPDIR", Some(scratch.to_str().unwrap())),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(&scratch).unwrap().collect();
    assert!(left.is_empty(), "left in the temporary folder: {left:?}");

    let calls = read_jsonl(&args);
    let first: Vec<&str> = calls[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for pair in [
        ["--model", "schnell"],
        ["--quantize", "8"],
        ["--steps", "4"],
        ["--seed", "42"],
        ["--width", "64"],
    ] {
        assert!(first.windows(2).any(|w| w == pair), "{pair:?} in {first:?}");
    }
    assert!(first.contains(&"--metadata"));

    let dir = only_run_dir(&tmp.path().join("results"));
    assert_eq!(
        read_json(&dir.join("manifest.json"))["engines"]["mlx"]["engine"],
        "mflux"
    );
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        let m = &r["metrics"];
        let steps = numbers(&r["step_s"]);
        assert_eq!(steps.len(), 4, "every step between two updates: {r}");
        let image_s = m["image_s"].as_f64().unwrap();
        assert!(image_s >= steps.iter().sum::<f64>(), "{r}");
        assert!(
            m["process_s"].as_f64().unwrap() > image_s,
            "the process includes the load: {r}"
        );
        assert!(
            m["tool_image_s"].as_f64().is_some(),
            "mflux's own time: {r}"
        );
        assert_eq!(r["reported"]["quantize"], 8);
        assert_eq!(m["peak_memory_bytes"], 1.25e9);
        assert!(
            m.get("text_encode_s").is_none(),
            "mflux does not show it apart: {r}"
        );
        let png = dir.join(r["images"][0].as_str().unwrap());
        let reader = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()))
            .read_info()
            .unwrap();
        assert_eq!((reader.info().width, reader.info().height), (64, 32));
    }
}

#[test]
fn a_failed_mflux_run_is_recorded_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_suite(tmp.path(), &suite(tmp.path(), "fail"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("out of memory"), "{stderr}");
    let dir = only_run_dir(&tmp.path().join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert!(records.iter().all(|r| r["status"] == "error"));
}
