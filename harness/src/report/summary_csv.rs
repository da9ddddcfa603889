//! `summary.csv`: one row per case and metric; `estimated_token_counts` repeats on each row of
//! a case how many of its measurements counted output tokens only by estimate, and the
//! roofline columns (`prefill_mfu`, `decode_mbu`, `step_mfu`, and for load cases
//! `aggregate_decode_mbu` and `aggregate_mfu`, as fractions of 1; `ceiling`, `peak_dtype`,
//! `peak_gflops`, `peak_gb_per_s`) repeat that case's figures.

use std::path::Path;

use crate::roofline::{CaseRoofline, Fraction};
use crate::stats::outliers::OutlierCount;
use crate::store::StoreError;
use crate::summary::CaseSummary;

use super::csv_file::CsvFile;

/// Write `summaries` to `path` (replacing it), each case with its roofline figures (matched
/// by case id; a case without one has those columns empty).
pub fn write_summary_csv(
    path: &Path,
    summaries: &[CaseSummary],
    rooflines: &[CaseRoofline],
) -> Result<(), StoreError> {
    let mut w = CsvFile::create(
        path,
        [
            "case",
            "target",
            "workload",
            "prompt_tokens",
            "gen_tokens",
            "concurrency",
            "rate_rps",
            "nodes",
            "width",
            "height",
            "steps",
            "batch",
            "metric",
            "unit",
            "n",
            "mean",
            "stddev",
            "min",
            "median",
            "p90",
            "p99",
            "max",
            "repetitions",
            "median_ci_low",
            "median_ci_high",
            "mean_ci_low",
            "mean_ci_high",
            "outliers_mild",
            "outliers_severe",
            "estimated_token_counts",
            "prefill_mfu",
            "decode_mbu",
            "step_mfu",
            "aggregate_decode_mbu",
            "aggregate_mfu",
            "ceiling",
            "peak_dtype",
            "peak_gflops",
            "peak_gb_per_s",
        ],
    )?;
    for s in summaries {
        let image = |f: fn(&crate::plan::ImageParams) -> u32| {
            s.case.image().map(|i| f(i).to_string()).unwrap_or_default()
        };
        // Image cases keep the zeros of the stored layout.
        let params = s.case.stored_params();
        let roofline = rooflines.iter().find(|r| r.case == s.case.id);
        let roofline_cells = roofline_cells(roofline);
        for m in &s.metrics {
            let v = &m.summary;
            let reps = &m.repetitions;
            let bound = |ci: Option<crate::stats::bootstrap::Interval>, low: bool| {
                ci.map(|i| if low { i.low } else { i.high }.to_string())
                    .unwrap_or_default()
            };
            let outliers = OutlierCount::of(reps.outliers.iter().map(|&(_, o)| o));
            w.row(
                [
                    s.case.id.clone(),
                    s.case.target.clone(),
                    s.case.workload.clone(),
                    params.prompt_tokens.to_string(),
                    params.gen_tokens.to_string(),
                    params.concurrency.to_string(),
                    params.rate_rps.map(|r| r.to_string()).unwrap_or_default(),
                    s.case.nodes.map(|n| n.to_string()).unwrap_or_default(),
                    image(|i| i.width),
                    image(|i| i.height),
                    image(|i| i.steps),
                    image(|i| i.batch),
                    m.name.to_string(),
                    m.unit.to_string(),
                    v.n.to_string(),
                    v.mean.to_string(),
                    v.stddev.to_string(),
                    v.min.to_string(),
                    v.median.to_string(),
                    v.p90.to_string(),
                    v.p99.to_string(),
                    v.max.to_string(),
                    reps.values.len().to_string(),
                    bound(reps.median_ci, true),
                    bound(reps.median_ci, false),
                    bound(reps.mean_ci, true),
                    bound(reps.mean_ci, false),
                    outliers.mild.to_string(),
                    outliers.severe.to_string(),
                    s.estimated_token_counts.to_string(),
                ]
                .into_iter()
                .chain(roofline_cells.iter().cloned()),
            )?;
        }
    }
    w.finish()
}

/// The roofline columns of one case: the five fractions, the ceiling sources, the compute
/// peak's dtype, the compute peak (GFLOP/s) and the bandwidth (GB/s).
fn roofline_cells(r: Option<&CaseRoofline>) -> [String; 9] {
    let Some(r) = r else {
        return Default::default();
    };
    let fraction = |f: &Option<Fraction>| f.as_ref().map(|f| f.value().to_string());
    let compute = r
        .prefill_mfu
        .as_ref()
        .or(r.step_mfu.as_ref())
        .or(r.aggregate_mfu.as_ref());
    let memory = r.decode_mbu.as_ref().or(r.aggregate_decode_mbu.as_ref());
    [
        fraction(&r.prefill_mfu).unwrap_or_default(),
        fraction(&r.decode_mbu).unwrap_or_default(),
        fraction(&r.step_mfu).unwrap_or_default(),
        fraction(&r.aggregate_decode_mbu).unwrap_or_default(),
        fraction(&r.aggregate_mfu).unwrap_or_default(),
        r.sources(),
        compute.map(|f| f.ceiling.of.clone()).unwrap_or_default(),
        compute
            .map(|f| (f.ceiling.value / 1e9).to_string())
            .unwrap_or_default(),
        memory
            .map(|f| (f.ceiling.value / 1e9).to_string())
            .unwrap_or_default(),
    ]
}
