//! `cooldown_s` through `bench run`: every case but the first is preceded by the idle the
//! suite asked for, and the manifest keeps each pause.

mod common;
use common::{only_run_dir, read_json, run_suite};

#[test]
fn each_case_after_the_first_gets_its_cooldown_and_the_manifest_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("cool.toml");
    std::fs::write(
        &suite,
        r#"[suite]
name = "cool"
repetitions = 1
warmup = 0
cooldown_s = 0.3

[power]
sampler = "none"

[[target]]
name = "cpu"
engine = "candle"
model = "synth:tiny"

[[workload]]
name = "short"
kind = "llm"
prompt_tokens = [16, 32]
gen_tokens = 2
"#,
    )
    .unwrap();
    let out = run_suite(tmp.path(), &suite, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = read_json(&only_run_dir(&tmp.path().join("results")).join("manifest.json"));
    let pauses = manifest["pauses"].as_array().expect("pauses kept");
    assert_eq!(pauses.len(), 2, "{pauses:?}");
    assert_eq!(pauses[0]["case"], "cpu/short/p16-g2-c1");
    assert_eq!(pauses[0]["cooldown_s"], 0.0, "the first case does not wait");
    assert!(
        pauses[1]["cooldown_s"].as_f64().unwrap() >= 0.3,
        "{pauses:?}"
    );
    assert!(pauses[1].get("thermal_wait_s").is_none(), "not asked for");
}
