//! The figures of load cases on hand-computed patterns (Qwen3-0.6B in bf16: 1,192,099,840
//! weight bytes, 114,688 KV bytes per position): a batch reads the weights once per step, a
//! server that serves one request at a time reads them once per token, and what cannot be
//! known is said instead of guessed.

use bench_workloads::load::{Arrival, LoadPattern, Stop};

use super::aggregate::{decode_steps, Decode};
use super::*;
use crate::calibration::Calibration;
use crate::plan::{Case, Plan};
use crate::store::{Metrics, PatternSlot, Record, Status, TextMetrics};

const QWEN3_0_6B: &str = r#"{"model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072,
  "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
  "vocab_size": 151936, "tie_word_embeddings": true, "torch_dtype": "bfloat16"}"#;

const WEIGHTS: f64 = 1_192_099_840.0;
const KV: f64 = 114_688.0;

fn decode(start: f64, gaps: &[f64]) -> Decode {
    let mut t = start;
    let arrivals: Vec<f64> = gaps
        .iter()
        .map(|g| {
            t += g;
            t
        })
        .collect();
    Decode {
        start_s: start,
        end_s: t,
        tokens: gaps.len() as f64,
        arrivals: Some(arrivals),
    }
}

#[test]
fn a_batch_is_one_step_per_token_time_and_one_request_at_a_time_is_one_per_token() {
    // Four sequences decoding in lockstep: 8 steps, not 32.
    let batch: Vec<Decode> = (0..4).map(|_| decode(1.0, &[0.125; 8])).collect();
    assert_eq!(decode_steps(&batch), (8.0, 1.0));
    // The same four served one after another: every token is its own step.
    let serial: Vec<Decode> = (0..4)
        .map(|i| decode(1.0 + f64::from(i), &[0.125; 8]))
        .collect();
    assert_eq!(decode_steps(&serial), (32.0, 4.0));
    // Staggered by half a decode: the union is 1.5 s, and the steps are counted on the request
    // covering each piece: 8 from the first, then the second's 4 after the first ended.
    let staggered = [decode(1.0, &[0.125; 8]), decode(1.5, &[0.125; 8])];
    assert_eq!(decode_steps(&staggered), (12.0, 1.5));
    // Without arrival times (several tokens per chunk), a piece's steps come from its
    // request's mean rate: 8 tokens over 1 s, then half of the second's 8.
    let coarse: Vec<Decode> = staggered
        .iter()
        .map(|d| Decode {
            arrivals: None,
            ..d.clone()
        })
        .collect();
    assert_eq!(decode_steps(&coarse), (12.0, 1.5));
}

fn calibration(gflops: f64, gb_per_s: f64) -> Calibration {
    let env = crate::environment::Environment::probe();
    serde_json::from_value(serde_json::json!({
        "fingerprint": "fp",
        "environment": env,
        "measured_at": "2026-12-06T00:00:00Z",
        "matmul": [{"device": "cpu", "dtype": "bf16", "n": 1024, "gflops": gflops}],
        "memory_read": {"bytes": 1, "threads": 1, "trials": 1, "gb_per_s": gb_per_s},
    }))
    .expect("a calibration")
}

/// A closed-loop case on a server computing on this machine's CPU, and `engine`'s view of it.
fn load_case(concurrency: u32) -> Case {
    let mut case = Case::example("srv", "busy", 1);
    case.id = format!("srv/busy/p100-g9-c{concurrency}");
    case.text_mut().params.prompt_tokens = 100;
    case.text_mut().params.gen_tokens = 9;
    case.text_mut().params.concurrency = concurrency;
    case.text_mut().load = Some(LoadPattern {
        arrival: Arrival::Closed,
        concurrency: Some(concurrency),
        stop: Stop::Requests(concurrency),
        warmup_requests: 0,
    });
    case
}

/// A finished request of the pattern run at 9.0 s: sent at `t`, first token 1 s later, then 8
/// tokens 0.125 s apart.
fn request(case: &Case, index: u32, t: f64) -> Record {
    Record {
        status: Status::Ok,
        error: None,
        prompt_tokens: 100,
        output_tokens: 9,
        itl_s: vec![0.125; 8],
        metrics: Metrics::of_text(TextMetrics {
            ttft_s: Some(1.0),
            e2e_s: Some(2.0),
            decode_tps: Some(8.0),
            ..TextMetrics::default()
        }),
        pattern_slot: Some(PatternSlot {
            run_t_s: 9.0,
            index,
            scheduled_s: 0.0,
            queue_s: 0.0,
            lag_s: 0.0,
        }),
        ..Record::failed(case, 0, String::new(), t, String::new())
    }
}

fn sources(dir: &std::path::Path, config: &str, roofline_device: Option<&str>) -> Sources {
    std::fs::write(dir.join("config.json"), config).expect("write config");
    let engine = EngineView {
        engine: "openai".into(),
        roofline_device: roofline_device.map(str::to_string),
        device: "server at http://127.0.0.1:8080".into(),
        dtype: "as served".into(),
        model: Some(work::ModelView {
            dir: Some(dir.to_path_buf()),
            spec: None,
        }),
        gguf: None,
    };
    Sources {
        engines: [("srv".to_string(), engine)].into_iter().collect(),
        rows: Vec::new(),
        calibration: Some(("fp.json".into(), calibration(1000.0, 100.0))),
    }
}

fn figures(case: &Case, requests: &[Record], sources: &Sources) -> CaseRoofline {
    let pattern = *case.load().expect("a load case");
    let run = PatternRun::summarize(case, pattern, 0, String::new(), 9.0, 0, requests);
    let pattern_runs = [run];
    let plan = Plan {
        cases: vec![case.clone()],
    };
    let summary = crate::summary::summarize(&plan, requests, &pattern_runs).remove(0);
    let measured = Measured {
        records: requests,
        pattern_runs: &pattern_runs,
    };
    of_case(&summary, measured, sources)
}

/// The figures of four requests in flight at once (`load_case(4)` on a CPU calibrated at
/// 100 GB/s). The terminal's `roofline:` line is tested on it.
pub(crate) fn four_in_flight() -> CaseRoofline {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = sources(dir.path(), QWEN3_0_6B, Some("cpu"));
    let case = load_case(4);
    let requests: Vec<Record> = (0..4).map(|i| request(&case, i, 10.0)).collect();
    figures(&case, &requests, &sources)
}

#[test]
fn four_in_flight_read_the_weights_once_per_step() {
    let r = four_in_flight();
    // 8 steps in 1 s: weights 8 × 1,192,099,840 + each sequence's 8 tokens at a mean context
    // of 100 + 9/2: 4 × 8 × 114,688 × 104.5 = 383,516,672 → 9,920,315,392 B/s of 100 GB/s.
    let mbu = r
        .aggregate_decode_mbu
        .as_ref()
        .expect("aggregate decode MBU");
    assert_eq!(mbu.achieved, 8.0 * WEIGHTS + 32.0 * KV * 104.5);
    assert!((mbu.value() - 0.099_203_153_92).abs() < 1e-12);
    assert_eq!(mbu.ceiling.source, "calibration:fp.json");
    // FLOPs do not share: four requests' prefill and decode over the pattern's 2 s.
    let cost = work::LlmWork::new(
        bench_workloads::cost::LlmShape::parse(QWEN3_0_6B).expect("config"),
        "as served",
    )
    .expect("work");
    // Linear in the context: token j attends to 100 + j − 1 positions, j = 2..=9.
    let per_token = |ctx: f64| super::aggregate::linear_decode_flops(&cost, ctx);
    let each: f64 = (101..=108).map(|c| cost.decode_flops(c)).sum();
    assert!((8.0 * per_token(104.5) / each - 1.0).abs() < 1e-12);
    let one = cost.prefill_flops(100) + 8.0 * per_token(104.5);
    let mfu = r.aggregate_mfu.as_ref().expect("aggregate MFU");
    assert!((mfu.achieved / (4.0 * one / 2.0) - 1.0).abs() < 1e-12);
    assert!(r.prefill_mfu.is_none() && r.decode_mbu.is_none());
    let point = r.aggregate_decode_point.expect("a point");
    assert!((point.flops_per_s - 32.0 * per_token(104.5)).abs() / point.flops_per_s < 1e-12);
    assert!(r.missing.is_empty(), "{:?}", r.missing);
}

#[test]
fn one_request_at_a_time_matches_the_single_stream_figure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = sources(dir.path(), QWEN3_0_6B, Some("cpu"));
    let case = load_case(1);
    let requests: Vec<Record> = (0..3)
        .map(|i| request(&case, i, 10.0 + 2.0 * f64::from(i)))
        .collect();
    let r = figures(&case, &requests, &sources);
    // decode_bytes(104.5) × 8 tok/s: the single-stream definition.
    let mbu = r
        .aggregate_decode_mbu
        .as_ref()
        .expect("aggregate decode MBU");
    assert_eq!(mbu.achieved, (WEIGHTS + KV * 104.5) * 8.0);
}

/// The figures of four requests in flight against a bandwidth doctored to 6.6 GB/s, below
/// what the batch read: 150 % of the ceiling. The terminal's `roofline:` line is tested on it.
pub(crate) fn four_in_flight_above_the_ceiling() -> CaseRoofline {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = load_case(4);
    let requests: Vec<Record> = (0..4).map(|i| request(&case, i, 10.0)).collect();
    let mut doctored = sources(dir.path(), QWEN3_0_6B, Some("cpu"));
    let read = 8.0 * WEIGHTS + 32.0 * KV * 104.5;
    doctored.calibration = Some(("fp.json".into(), calibration(1000.0, read / 1.5 / 1e9)));
    figures(&case, &requests, &doctored)
}

#[test]
fn above_the_ceiling_is_flagged_and_what_cannot_be_known_is_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = load_case(4);
    let requests: Vec<Record> = (0..4).map(|i| request(&case, i, 10.0)).collect();
    let r = four_in_flight_above_the_ceiling();
    assert!(r
        .aggregate_decode_mbu
        .as_ref()
        .expect("MBU")
        .above_ceiling());

    // A server whose device was not named has no ceiling, and says how to give it one.
    let unnamed = sources(dir.path(), QWEN3_0_6B, None);
    let r = figures(&case, &requests, &unnamed);
    assert!(r.figures().next().is_none());
    assert_eq!(r.missing, [NO_SERVER_DEVICE]);

    // A mixture of experts: the FLOPs are known, the experts a batched step reads are not.
    let moe = r#"{"model_type": "qwen3_moe", "hidden_size": 1024, "intermediate_size": 3072,
      "num_hidden_layers": 4, "num_attention_heads": 16, "num_key_value_heads": 8,
      "head_dim": 128, "vocab_size": 1000, "num_experts": 8, "num_experts_per_tok": 2,
      "moe_intermediate_size": 256, "torch_dtype": "bfloat16"}"#;
    let r = figures(&case, &requests, &sources(dir.path(), moe, Some("cpu")));
    assert!(r.aggregate_mfu.is_some() && r.aggregate_decode_mbu.is_none());
    assert!(
        r.missing[0].contains("mixture of experts"),
        "{:?}",
        r.missing
    );
}

#[test]
fn a_cached_prefix_is_not_counted_as_prefill_work() {
    let cost = work::LlmWork::new(
        bench_workloads::cost::LlmShape::parse(QWEN3_0_6B).expect("config"),
        "bf16",
    )
    .expect("work");
    let lm_head = 2.0 * 1024.0 * 151_936.0;
    // 60 of 100 positions cached: the 40 new ones and the last position's LM head.
    let after = cost.prefill_flops_after(100, 60);
    assert_eq!(
        after,
        cost.prefill_flops(100) - cost.prefill_flops(60) + lm_head
    );
    assert_eq!(cost.prefill_flops_after(100, 0), cost.prefill_flops(100));
    // A prompt cached whole still computes its last position.
    assert_eq!(
        cost.prefill_flops_after(100, 100),
        cost.prefill_flops_after(100, 99)
    );
}
