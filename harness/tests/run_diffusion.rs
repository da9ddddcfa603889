//! A diffusion suite end to end on the CPU: `flux-tiny` synthesized on first use, every phase
//! timed and stored, the images saved as PNG of the asked size, and diffusion mistakes named.

use serde_json::Value;

mod common;
use common::{bench, numbers, only_run_dir, read_json, read_jsonl, run_suite};

const SUITE: &str = r#"[suite]
name = "images"
repetitions = 2
warmup = 1

[power]
sampler = "none"

[[target]]
name = "flux"
engine = "candle"
model = "synth:flux-tiny"

[[workload]]
name = "small"
kind = "diffusion"
width = 64
height = [32, 48]
steps = 3
seed = 11
save_images = true
"#;

#[test]
fn a_flux_tiny_suite_times_every_phase_and_saves_its_images() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("images.toml");
    std::fs::write(&path, SUITE).unwrap();
    let out = run_suite(tmp.path(), &path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("image p50") && stdout.contains("flux/small/64x48-s3-b1"),
        "{stdout}"
    );

    let dir = only_run_dir(&tmp.path().join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        let m = &r["metrics"];
        let steps = numbers(&r["step_s"]);
        assert_eq!(steps.len(), 3);
        let sum = m["text_encode_s"].as_f64().unwrap()
            + steps.iter().sum::<f64>()
            + m["vae_decode_s"].as_f64().unwrap();
        assert!(
            m["image_s"].as_f64().unwrap() >= sum,
            "image_s covers its phases: {r}"
        );
        assert!((m["denoise_s"].as_f64().unwrap() - steps.iter().sum::<f64>()).abs() < 1e-12);
        let file = dir.join(r["images"][0].as_str().unwrap());
        let reader =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&file).unwrap()))
                .read_info()
                .unwrap();
        let height = if r["case"].as_str().unwrap().contains("64x48") {
            48
        } else {
            32
        };
        assert_eq!((reader.info().width, reader.info().height), (64, height));
    }
    // The same seed made the same image in both repetitions.
    let image = |rep: u64| -> Vec<u8> {
        let r: &Value = records
            .iter()
            .find(|r| r["repetition"] == rep && r["case"] == "flux/small/64x32-s3-b1")
            .unwrap();
        std::fs::read(dir.join(r["images"][0].as_str().unwrap())).unwrap()
    };
    assert_eq!(image(0), image(1));

    let manifest = read_json(&dir.join("manifest.json"));
    assert_eq!(manifest["engines"]["flux"]["model"]["architecture"], "flux");
    // The attention path the transformer used is on record (the CPU keeps plain attention).
    assert_eq!(
        manifest["engines"]["flux"]["kernels"][0],
        serde_json::json!(["transformer attention", "scores in memory, candle softmax"])
    );
    let csv = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(csv.contains(",64,48,3,1,step_s,s,6,"), "{csv}");
}

#[test]
fn diffusion_mistakes_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let check = |text: &str| -> String {
        let path = tmp.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let out = bench().arg("validate").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = check(&SUITE.replace("width = 64", "width = 70"));
    assert!(
        e.contains("70 is not a multiple of 16") && e.contains("workload[0].width"),
        "{e}"
    );
    let e = check(&SUITE.replace("steps = 3", "steps = 0"));
    assert!(e.contains("steps"), "{e}");
    let e = check(&SUITE.replace("steps = 3\n", ""));
    assert!(e.contains("needs `steps`"), "{e}");
    let e = check(&SUITE.replace("synth:flux-tiny", "synth:tiny"));
    assert!(e.contains("no target makes images"), "{e}");
    let e = check(&SUITE.replace("seed = 11", "seed = 11\nprompt_tokens = 8"));
    assert!(e.contains("`prompt_tokens` is for llm workloads"), "{e}");
}

#[test]
fn a_flux_repo_in_the_hugging_face_cache_is_known_to_make_images() {
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp
        .path()
        .join("hub/models--black-forest-labs--FLUX.1-dev/snapshots/0123abc");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::write(
        snapshot.join("model_index.json"),
        "{\"_class_name\": \"FluxPipeline\"}",
    )
    .unwrap();
    let path = tmp.path().join("hub.toml");
    std::fs::write(
        &path,
        SUITE.replace("synth:flux-tiny", "black-forest-labs/FLUX.1-dev"),
    )
    .unwrap();
    let validate = |cache: &std::path::Path| {
        bench()
            .arg("validate")
            .arg(&path)
            .env("HF_HUB_CACHE", cache)
            .output()
            .unwrap()
    };
    let out = validate(&tmp.path().join("hub"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without the snapshot, nothing says the id makes images.
    let out = validate(&tmp.path().join("empty"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no target makes images"));
}
