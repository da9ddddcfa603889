//! Roofline figures of a run's cases: how much of the device's ceiling each case used.
//!
//! - **prefill MFU**: prefill FLOPs of the case's prompt (causal attention, from the model's
//!   `config.json`) / median `ttft_s` / peak FLOP/s of the compute dtype.
//! - **decode MBU**: bytes read per decoded token at the mean context over the decode ×
//!   median `decode_tps` / memory bandwidth.
//! - **step MFU** (diffusion): median `step_flops_per_s` (FLOPs per step / step time) / peak.
//! - Load cases ([`aggregate`]): **aggregate decode MBU**, the bytes a batched decode reads
//!   (weights once per step, each sequence's KV) per second some request was decoding, and
//!   **aggregate MFU**, every model FLOP of the pattern's requests per second of the pattern.
//!
//! The ceilings ([`ceiling`]) come from the matched hardware-table row on a GPU, else from
//! `bench calibrate`'s stored figures for this machine; the work ([`work`]) from
//! `bench_workloads::cost`. A figure above 1 is a measurement or table error, never a success:
//! [`Fraction::above_ceiling`] says so wherever it is shown. Definitions: docs/metrics.md.

pub mod aggregate;
pub mod ceiling;
pub mod changes;
pub mod work;

use serde::Serialize;

use crate::store::{PatternRun, Record};
use crate::summary::CaseSummary;

pub use ceiling::{Ceiling, Sources};
pub use changes::{changes, RooflineChange};
pub use work::EngineView;

/// What to say when a fraction is above its ceiling.
pub const ABOVE_CEILING: &str = "above its ceiling: check the table row or calibrate again";

/// What to say when no ceiling was found.
pub const NO_CEILING: &str = "no ceiling: run `bench calibrate`";

/// What to say when a server's device was not named.
pub const NO_SERVER_DEVICE: &str =
    "no ceiling: bench cannot tell where a server computes (name it with `server_device` on the target)";

/// One achieved rate held against its ceiling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fraction {
    /// Achieved rate: FLOP/s for MFU, bytes/s for MBU.
    pub achieved: f64,
    /// The ceiling it is held against, same unit.
    pub ceiling: Ceiling,
}

impl Fraction {
    /// `achieved / ceiling` (1 = the ceiling).
    pub fn value(&self) -> f64 {
        self.achieved / self.ceiling.value
    }

    /// Above 1: the ceiling is wrong or the measurement is; never a success.
    pub fn above_ceiling(&self) -> bool {
        self.value() > 1.0
    }
}

/// Where a figure sits on the roofline plot: the work's arithmetic intensity and the FLOP
/// rate achieved (a decode's bytes per second times its intensity).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RooflinePoint {
    /// FLOPs per byte read from memory: the prompt's FLOPs over the weights and the prompt's
    /// KV cache (prefill), or one token's FLOPs over the bytes it reads (decode).
    pub intensity: f64,
    /// Achieved FLOP/s.
    pub flops_per_s: f64,
}

/// The roofline figures of one case.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CaseRoofline {
    /// The case id.
    pub case: String,
    /// Prefill MFU, where the case has a TTFT, a cost model and a compute ceiling.
    pub prefill_mfu: Option<Fraction>,
    /// Decode MBU, where the case has a decode rate, a cost model and a bandwidth ceiling.
    pub decode_mbu: Option<Fraction>,
    /// Diffusion step MFU, where the case has a step FLOP rate and a compute ceiling.
    pub step_mfu: Option<Fraction>,
    /// Why a figure is missing (`no cost model: …`, [`NO_CEILING`]), when one is.
    pub missing: Vec<String>,
    /// The prefill on the roofline plot, where the case has a prefill MFU.
    pub prefill_point: Option<RooflinePoint>,
    /// The decode on the roofline plot, where the case has a decode MBU.
    pub decode_point: Option<RooflinePoint>,
    /// Load cases: the bytes a batched decode read per second some request was decoding,
    /// against the bandwidth.
    pub aggregate_decode_mbu: Option<Fraction>,
    /// Load cases: every model FLOP of the pattern's finished requests per second of the
    /// pattern, against the compute peak.
    pub aggregate_mfu: Option<Fraction>,
    /// The batched decode on the roofline plot, where the case has an aggregate decode MBU.
    pub aggregate_decode_point: Option<RooflinePoint>,
}

impl CaseRoofline {
    /// The figures present, with their names.
    pub fn figures(&self) -> impl Iterator<Item = (&'static str, &Fraction)> {
        [
            ("prefill MFU", self.prefill_mfu.as_ref()),
            ("decode MBU", self.decode_mbu.as_ref()),
            ("step MFU", self.step_mfu.as_ref()),
            ("aggregate decode MBU", self.aggregate_decode_mbu.as_ref()),
            ("aggregate MFU", self.aggregate_mfu.as_ref()),
        ]
        .into_iter()
        .filter_map(|(name, f)| Some((name, f?)))
    }

    /// The distinct ceiling sources used, `;`-joined (`table:h100-sxm`, `calibration:<file>`).
    pub fn sources(&self) -> String {
        let mut out: Vec<&str> = Vec::new();
        for (_, f) in self.figures() {
            if !out.contains(&f.ceiling.source.as_str()) {
                out.push(&f.ceiling.source);
            }
        }
        out.join(";")
    }
}

/// FLOP/s (or bytes/s) of `work` done in `seconds`; none unless both are positive and finite.
pub fn rate(work: f64, seconds: f64) -> Option<f64> {
    (work.is_finite() && seconds.is_finite() && work > 0.0 && seconds > 0.0).then(|| work / seconds)
}

/// What a run stored that the figures of its load cases are read from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured<'a> {
    /// `measurements.jsonl`.
    pub records: &'a [Record],
    /// `loads.jsonl`.
    pub pattern_runs: &'a [PatternRun],
}

/// The roofline figures of a stored run's cases: against the calibration stored in the results
/// folder that holds the run where it can be read, and the hardware table in any case (a
/// baseline file has no folder: the table alone). None without the table.
pub fn of_stored_run(
    run: &crate::store::StoredRun,
    summaries: &[CaseSummary],
) -> Vec<CaseRoofline> {
    let Ok(table) = crate::hardware::Table::builtin() else {
        return Vec::new();
    };
    let root = run.dir.parent().unwrap_or(std::path::Path::new("."));
    let sources = Sources::load(root, &run.manifest, &table)
        .unwrap_or_else(|_| Sources::of(&run.manifest, &table, None));
    let measured = Measured {
        records: &run.records,
        pattern_runs: &run.loads,
    };
    of_run(summaries, measured, &sources)
}

/// The roofline figures of every case of a run, in `summaries` order.
pub fn of_run(
    summaries: &[CaseSummary],
    measured: Measured,
    sources: &Sources,
) -> Vec<CaseRoofline> {
    summaries
        .iter()
        .map(|s| of_case(s, measured, sources))
        .collect()
}

/// The roofline figures of one case.
pub fn of_case(s: &CaseSummary, measured: Measured, sources: &Sources) -> CaseRoofline {
    let mut out = CaseRoofline {
        case: s.case.id.clone(),
        ..CaseRoofline::default()
    };
    let Some(engine) = sources.engine(&s.case.target) else {
        out.missing
            .push("no cost model: the target's engine is not described".into());
        return out;
    };
    let median = |name: &str| s.metric(name).map(|m| m.median);
    let Some(text) = s.case.text() else {
        if let Some(achieved) = median("step_flops_per_s").filter(|v| *v > 0.0) {
            match engine.ceiling_device() {
                None => out.missing.push(NO_SERVER_DEVICE.into()),
                Some(device) => match sources.compute(device, &engine.dtype) {
                    Some(ceiling) => out.step_mfu = Some(Fraction { achieved, ceiling }),
                    None => out.missing.push(NO_CEILING.into()),
                },
            }
        }
        return out;
    };
    if text.params.depth > 0 {
        out.missing
            .push("no cost model for a context depth yet (prefill over cached context)".into());
        return out;
    }
    if text.params.turns > 0 {
        out.missing.push(
            "conversations (`turns`): each turn's prompt is the history so far, no one length to cost"
                .into(),
        );
        return out;
    }
    if text.prompts.is_some() {
        out.missing.push(
            "prompts of many lengths (a prompt file or a distribution): no one length to cost"
                .into(),
        );
        return out;
    }
    if text.search.is_some() {
        out.missing.push(
            "a rate search's probes each run at their own rate: no one figure for the case".into(),
        );
        return out;
    }
    if text.load.is_none() && text.params.concurrency != 1 {
        out.missing
            .push("single-stream cases and load patterns only".into());
        return out;
    }
    let cost = match work::LlmWork::of(&engine) {
        Ok(cost) => cost,
        Err(why) => {
            out.missing.push(format!("no cost model: {why}"));
            return out;
        }
    };
    let Some(device) = engine.ceiling_device() else {
        out.missing.push(NO_SERVER_DEVICE.into());
        return out;
    };
    let compute = sources.compute(device, &cost.dtype);
    let memory = sources.memory(device);
    if text.load.is_some() {
        load_case(&mut out, s, measured, &cost, compute, memory);
        return out;
    }
    let prompt = u64::from(text.params.prompt_tokens);
    let gen = u64::from(text.params.gen_tokens);
    let mut no_ceiling = false;
    if let Some(achieved) = median("ttft_s").and_then(|t| rate(cost.prefill_flops(prompt), t)) {
        match compute {
            Some(ceiling) => {
                out.prefill_point = Some(RooflinePoint {
                    intensity: cost.prefill_flops(prompt) / cost.decode_bytes(prompt as f64),
                    flops_per_s: achieved,
                });
                out.prefill_mfu = Some(Fraction { achieved, ceiling });
            }
            None => no_ceiling = true,
        }
    }
    if let Some(tps) = median("decode_tps").filter(|v| v.is_finite() && *v > 0.0) {
        match memory {
            Some(ceiling) => {
                let context = work::mean_decode_context(prompt, gen);
                let achieved = cost.decode_bytes(context) * tps;
                let intensity =
                    cost.decode_flops(context.round() as u64) / cost.decode_bytes(context);
                out.decode_point = Some(RooflinePoint {
                    intensity,
                    flops_per_s: achieved * intensity,
                });
                out.decode_mbu = Some(Fraction { achieved, ceiling });
            }
            None => no_ceiling = true,
        }
    }
    if no_ceiling {
        out.missing.push(NO_CEILING.into());
    }
    out
}

/// The aggregate figures of a load case: one rate per finished pattern run, their median held
/// against the ceiling (see [`aggregate`]).
fn load_case(
    out: &mut CaseRoofline,
    s: &CaseSummary,
    measured: Measured,
    cost: &work::LlmWork,
    compute: Option<Ceiling>,
    memory: Option<Ceiling>,
) {
    let prompt = u64::from(s.case.stored_params().prompt_tokens);
    let rates: Vec<aggregate::PatternRates> =
        aggregate::pattern_runs(&s.case.id, measured.records, measured.pattern_runs)
            .into_iter()
            .map(|(run, requests)| aggregate::pattern_rates(cost, run, &requests, prompt))
            .collect();
    let of = |f: fn(&aggregate::PatternRates) -> Option<f64>| {
        aggregate::median(rates.iter().filter_map(f).collect())
    };
    let mut no_ceiling = false;
    if let Some(achieved) = of(|r| r.flops_per_s) {
        match compute {
            Some(ceiling) => out.aggregate_mfu = Some(Fraction { achieved, ceiling }),
            None => no_ceiling = true,
        }
    }
    if cost.shape.experts.is_some() {
        out.missing.push(
            "no aggregate decode MBU for a mixture of experts: a batched step reads the experts \
             its sequences route to, which the requests do not tell"
                .into(),
        );
    } else if let Some(achieved) = of(|r| r.decode_bytes_per_s) {
        match memory {
            Some(ceiling) => {
                if let Some(intensity) = of(|r| r.decode_intensity) {
                    out.aggregate_decode_point = Some(RooflinePoint {
                        intensity,
                        flops_per_s: achieved * intensity,
                    });
                }
                out.aggregate_decode_mbu = Some(Fraction { achieved, ceiling });
            }
            None => no_ceiling = true,
        }
    }
    if no_ceiling {
        out.missing.push(NO_CEILING.into());
    }
}

#[cfg(test)]
pub(crate) mod load_tests;
#[cfg(test)]
pub(crate) mod tests;
