//! The arithmetic on hand-computed cases (Qwen3-0.6B's shapes, as in
//! `bench_workloads::cost`'s tests), the choice of ceiling, and the flag above 100 %.

use bench_workloads::cost::LlmShape;

use super::*;
use crate::calibration::Calibration;
use crate::plan::{Case, Plan};
use crate::store::{Metrics, Record, Status, TextMetrics};

const QWEN3_0_6B: &str = r#"{"model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072,
  "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
  "vocab_size": 151936, "tie_word_embeddings": true, "torch_dtype": "bfloat16"}"#;

fn work(dtype: &str) -> work::LlmWork {
    work::LlmWork::new(LlmShape::parse(QWEN3_0_6B).expect("config"), dtype).expect("work")
}

#[test]
fn prefill_flops_count_the_lm_head_once() {
    // Linears 1,803,886,264,320 + causal attention 481,271,218,176 + one LM head position
    // 2·155,582,464 = 311,164,928 → 2,285,468,647,424.
    assert_eq!(work("bf16").prefill_flops(2048), 2_285_468_647_424.0);
}

#[test]
fn decode_bytes_at_a_mean_context() {
    // bf16 at 4096 positions: weights 1,192,099,840 + KV 114,688·4096 = 1,661,861,888.
    assert_eq!(work("bf16").decode_bytes(4096.0), 1_661_861_888.0);
    // A 4000-token prompt and 192 generated: mean context 4000 + 96 = 4096.
    assert_eq!(work::mean_decode_context(4000, 192), 4096.0);
    // f32 doubles both parts. A server's `as served` falls back to torch_dtype (bf16).
    assert_eq!(work("f32").decode_bytes(4096.0), 2.0 * 1_661_861_888.0);
    assert_eq!(work("as served").dtype, "bf16");
}

fn calibration(gflops: f64, gb_per_s: f64) -> Calibration {
    let env = crate::environment::Environment::probe();
    serde_json::from_value(serde_json::json!({
        "fingerprint": "fp",
        "environment": env,
        "measured_at": "2026-12-06T00:00:00Z",
        "matmul": [
            {"device": "cpu", "dtype": "bf16", "n": 1024, "gflops": gflops / 2.0},
            {"device": "cpu", "dtype": "bf16", "n": 2048, "gflops": gflops},
        ],
        "memory_read": {"bytes": 1, "threads": 1, "trials": 1, "gb_per_s": gb_per_s},
    }))
    .expect("a calibration")
}

/// A case of Qwen3-0.6B on the CPU in bf16 with a 4000-token prompt, 192 generated, and the
/// given medians; the model folder written to `dir`.
fn summary_and_sources(
    dir: &std::path::Path,
    ttft: f64,
    decode_tps: f64,
    cal: Option<Calibration>,
) -> (crate::summary::CaseSummary, Sources) {
    std::fs::write(dir.join("config.json"), QWEN3_0_6B).expect("write config");
    let mut case = Case::example("cpu", "w", 1);
    case.text_mut().params.prompt_tokens = 4000;
    case.text_mut().params.gen_tokens = 192;
    let record = Record {
        metrics: Metrics::of_text(TextMetrics {
            ttft_s: Some(ttft),
            decode_tps: Some(decode_tps),
            ..TextMetrics::default()
        }),
        status: Status::Ok,
        error: None,
        ..Record::failed(&case, 0, String::new(), 0.0, String::new())
    };
    let plan = Plan {
        cases: vec![case.clone()],
    };
    let summary = crate::summary::summarize(&plan, &[record], &[]).remove(0);
    let engine = EngineView {
        device: "cpu".into(),
        dtype: "bf16".into(),
        model: Some(work::ModelView {
            dir: Some(dir.to_path_buf()),
            spec: None,
        }),
        ..EngineView::default()
    };
    let sources = Sources {
        engines: [("cpu".to_string(), engine)].into_iter().collect(),
        rows: Vec::new(),
        calibration: cal.map(|c| ("fp.json".to_string(), c)),
    };
    (summary, sources)
}

#[test]
fn a_cpu_case_against_its_calibration() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Prefill of 4000: linears 2·28·15,728,640·4000 = 3,523,215,360,000, attention
    // 4·(4000·4001/2)·2048·28 = 1,835,466,752,000, LM head 311,164,928: 5,358,993,276,928
    // FLOPs. In 10 s against 1000 GFLOP/s: 0.5358993276928.
    let (s, sources) =
        summary_and_sources(dir.path(), 10.0, 20.0, Some(calibration(1000.0, 100.0)));
    let r = of_case(&s, Measured::default(), &sources);
    let prefill = r.prefill_mfu.as_ref().expect("prefill MFU");
    assert!((prefill.value() - 0.535_899_327_692_8).abs() < 1e-12);
    assert_eq!(prefill.ceiling.source, "calibration:fp.json");
    assert_eq!(prefill.ceiling.of, "bf16");
    // Decode: 1,661,861,888 bytes a token (mean context 4096) × 20 tok/s / 100 GB/s.
    let decode = r.decode_mbu.as_ref().expect("decode MBU");
    assert!((decode.value() - 0.332_372_377_6).abs() < 1e-12);
    assert!(!prefill.above_ceiling() && !decode.above_ceiling());
    assert_eq!(r.sources(), "calibration:fp.json");
    assert!(r.missing.is_empty());
}

/// The figures of a case whose calibration was doctored so its prefill runs at 150 % of the
/// compute ceiling. The terminal's `roofline:` line is tested on it.
pub(crate) fn doctored_to_150_percent() -> CaseRoofline {
    let dir = tempfile::tempdir().expect("tempdir");
    // 5,358,993,276,928 FLOPs in 10 s = 535.9 GFLOP/s; against 357.27 GFLOP/s that is 150 %.
    let peak = 5_358_993_276_928.0 / 10.0 / 1.5 / 1e9;
    let (s, sources) = summary_and_sources(dir.path(), 10.0, 20.0, Some(calibration(peak, 100.0)));
    of_case(&s, Measured::default(), &sources)
}

#[test]
fn a_doctored_case_at_150_percent_is_flagged() {
    let r = doctored_to_150_percent();
    let prefill = r.prefill_mfu.as_ref().expect("prefill MFU");
    assert!((prefill.value() - 1.5).abs() < 1e-9);
    assert!(prefill.above_ceiling());
}

/// The figures of a case without a calibration or table row: no ceiling. The terminal's
/// `roofline:` line is tested on it.
pub(crate) fn without_a_ceiling() -> CaseRoofline {
    let dir = tempfile::tempdir().expect("tempdir");
    let (s, sources) = summary_and_sources(dir.path(), 10.0, 20.0, None);
    of_case(&s, Measured::default(), &sources)
}

#[test]
fn without_a_ceiling_there_is_no_figure_and_the_reason() {
    let r = without_a_ceiling();
    assert!(r.prefill_mfu.is_none() && r.decode_mbu.is_none());
    assert_eq!(r.missing, [NO_CEILING]);
}

#[test]
fn a_gpu_uses_its_table_row_for_bf16_and_the_calibration_for_f32() {
    let table = crate::hardware::Table::builtin().expect("table");
    let row = table
        .rows
        .iter()
        .find(|r| {
            r.vendor == crate::hardware::table::Vendor::Nvidia
                && r.matrix.value.is_some()
                && r.bandwidth.value.is_some()
        })
        .expect("an NVIDIA row with figures")
        .clone();
    let mut cal = calibration(1000.0, 100.0);
    cal.matmul[0].device = "cuda:0".into();
    cal.matmul[0].dtype = "f32".into();
    let sources = Sources {
        rows: vec![row.clone()],
        calibration: Some(("fp.json".into(), cal)),
        ..Sources::default()
    };
    let bf16 = sources.compute("cuda:0", "bf16").expect("bf16 peak");
    assert_eq!(bf16.source, format!("table:{}", row.id));
    assert_eq!(bf16.value, row.matrix.value.unwrap_or_default() * 1e12);
    let f32 = sources.compute("cuda:0", "f32").expect("f32 peak");
    assert_eq!(
        (f32.source.as_str(), f32.value),
        ("calibration:fp.json", 500.0e9)
    );
    let memory = sources.memory("cuda:0").expect("bandwidth");
    assert_eq!(memory.value, row.bandwidth.value.unwrap_or_default() * 1e9);
    // The CPU of a GPU machine has no bandwidth row: the calibration's read rate.
    assert_eq!(sources.memory("cpu").map(|c| c.value), Some(100.0e9));
}

#[test]
fn a_gpu_without_a_table_row_uses_its_calibrated_read_rate() {
    let mut cal = calibration(1000.0, 100.0);
    cal.gpu_memory_read = serde_json::from_value(serde_json::json!([
        {"device": "cuda:0", "bytes": 1, "passes": 10, "trials": 5, "gb_per_s": 2800.0}
    ]))
    .expect("a GPU read rate");
    let sources = Sources {
        calibration: Some(("fp.json".into(), cal)),
        ..Sources::default()
    };
    let memory = sources.memory("cuda:0").expect("the calibrated bandwidth");
    assert_eq!(
        (memory.source.as_str(), memory.value),
        ("calibration:fp.json", 2800.0e9)
    );
    // A GPU the calibration did not measure has no ceiling rather than the CPU's.
    assert!(sources.memory("cuda:1").is_none());
}

#[test]
fn a_synthesized_model_read_elsewhere_is_costed_from_its_preset() {
    // The run's model folder was on the GPU machine; the report is built on another.
    let engine = EngineView {
        device: "cuda:0".into(),
        dtype: "bf16".into(),
        model: Some(work::ModelView {
            dir: Some("/nowhere/qwen3-8b-bf16-seed0-v1".into()),
            spec: Some("synth:qwen3-8b".into()),
        }),
        ..EngineView::default()
    };
    let work = work::LlmWork::of(&engine).expect("costed from the preset");
    let here = tempfile::tempdir().expect("tempdir");
    let folder = EngineView {
        model: Some(work::ModelView {
            dir: Some(here.path().to_path_buf()),
            spec: None,
        }),
        ..engine.clone()
    };
    std::fs::write(
        here.path().join("config.json"),
        bench_workloads::synth::preset_config_json("qwen3-8b").expect("preset"),
    )
    .expect("write");
    assert_eq!(work, work::LlmWork::of(&folder).expect("from the folder"));
    let no_spec = EngineView {
        model: Some(work::ModelView {
            dir: Some("/nowhere".into()),
            spec: None,
        }),
        ..engine
    };
    assert!(work::LlmWork::of(&no_spec).is_err());
}

#[test]
fn a_gguf_model_reads_its_tensors_at_their_own_types_and_an_f16_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("config.json"), QWEN3_0_6B).expect("write config");
    let gguf: bench_workloads::cost::GgufWeights = serde_json::from_value(serde_json::json!({
        "file": "/models/qwen3-0.6b-Q4_K_M.gguf", "tensors": 311, "weights": 1, "bytes": 1,
        "decode_bytes": 484_220_928u64, "by_type": {}
    }))
    .expect("gguf weights");
    let engine: EngineView = serde_json::from_value(serde_json::json!({
        "engine": "openai", "device": "server at http://127.0.0.1:8080", "dtype": "as served",
        "roofline_device": "cpu", "model": {"dir": dir.path()}, "gguf": gguf,
    }))
    .expect("an engine as the manifest keeps it");
    let work = work::LlmWork::of(&engine).expect("costed");
    // The GGUF's own bytes, and K and V in f16: 2 × 28 × 8 × 128 × 2 = 114,688 per position
    // (the config's torch_dtype would give the same here; an f32 config would not).
    assert_eq!(work.decode_bytes(0.0), 484_220_928.0);
    assert_eq!(work.decode_bytes(10.0), 484_220_928.0 + 1_146_880.0);
    assert_eq!(engine.ceiling_device(), Some("cpu"));
}
