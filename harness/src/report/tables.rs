//! The tables of a report, built from runs and comparisons on the one table model, [`crate::present::Table`]:
//! the machine, the engines, the cases (headline figures with their intervals) and every metric
//! of every case; and for comparisons, the verdicts.

use crate::compare::Comparison;
use crate::present::{Cell, Table};
use crate::stats::bootstrap::Interval;
use crate::store::StoredRun;
use crate::summary::{CaseSummary, MetricSummary};
use crate::units::{human, percent, ratio, significant};

/// The machine and how the run was made.
pub fn environment(run: &StoredRun) -> Table {
    let m = &run.manifest;
    let e = &m.environment;
    let mut t = Table::new("Machine and run", &["what", "value"]);
    let mut row = |k: &str, v: String| t.rows.push(vec![Cell::text(k), Cell::text(v)]);
    row("run", m.run_id.clone());
    row("status", format!("{:?}", m.status).to_lowercase());
    row("started", m.started_at.clone());
    row(
        "finished",
        m.finished_at.clone().unwrap_or_else(|| "–".into()),
    );
    row(
        "suite",
        format!("{} ({})", crate::compare::suite_name(m), m.suite.path),
    );
    row(
        "bench",
        format!(
            "{} ({}){}",
            m.bench.version,
            m.bench.git_revision,
            if m.bench.features.is_empty() {
                String::new()
            } else {
                format!(", features {}", m.bench.features.join(", "))
            }
        ),
    );
    row("host", e.hostname.clone());
    row("chip / CPU", e.cpu_model.clone());
    row(
        "cores",
        match e.physical_cores {
            Some(p) => format!("{p} ({} logical)", e.logical_cores),
            None => format!("{} logical", e.logical_cores),
        },
    );
    row("memory", human(e.memory_bytes as f64, "B"));
    row(
        "GPUs",
        if e.gpus.is_empty() {
            "none seen (Apple GPUs are part of the chip)".into()
        } else {
            e.gpus.join(", ")
        },
    );
    row("OS", format!("{} (kernel {}, {})", e.os, e.kernel, e.arch));
    row("hardware fingerprint", e.fingerprint.clone());
    row(
        "power",
        if m.power.used == "none" || m.power.used.is_empty() {
            format!("not measured: {}", m.power.note)
        } else {
            format!("{}: {}", m.power.used, m.power.note)
        },
    );
    t
}

/// Per target: engine, versions, device, dtype and model.
pub fn engines(run: &StoredRun) -> Table {
    let mut t = Table::new(
        "Engines",
        &[
            "target",
            "engine",
            "device",
            "dtype",
            "model",
            "#parameters",
            "versions",
        ],
    );
    for (target, e) in &run.manifest.engines {
        let s = |key: &str| e[key].as_str().unwrap_or("–").to_string();
        let model = e["model"]["spec"]
            .as_str()
            .or_else(|| e["model"].as_str())
            .unwrap_or("–")
            .to_string();
        let params = e["model"]["parameters"].as_f64();
        let versions = e["versions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|p| {
                        Some(format!("{} {}", p.get(0)?.as_str()?, p.get(1)?.as_str()?))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        t.rows.push(vec![
            Cell::text(target.clone()),
            Cell::text(s("engine")),
            Cell::text(s("device")),
            Cell::text(s("dtype")),
            Cell::text(model),
            params.map_or_else(Cell::empty, |p| {
                Cell::number(p, format!("{:.1} M", p / 1e6))
            }),
            Cell::text(versions),
        ]);
    }
    t
}

fn interval_text(i: Option<Interval>, unit: &str) -> Cell {
    match i {
        Some(i) => Cell::interval(
            i.low,
            i.high,
            format!("{} – {}", human(i.low, unit), human(i.high, unit)),
        ),
        None => Cell::empty(),
    }
}

fn median(m: Option<&MetricSummary>) -> Cell {
    m.map_or_else(Cell::empty, |m| {
        Cell::number(m.summary.median, human(m.summary.median, m.unit))
    })
}

fn ci(m: Option<&MetricSummary>) -> Cell {
    m.map_or_else(Cell::empty, |m| {
        interval_text(m.repetitions.median_ci, m.unit)
    })
}

fn find<'a>(s: &'a CaseSummary, name: &str) -> Option<&'a MetricSummary> {
    s.metrics.iter().find(|m| m.name == name)
}

/// Text-generation cases: the headline medians with the interval of the median.
pub fn text_cases(summaries: &[CaseSummary]) -> Option<Table> {
    let mut t = Table::new(
        "Text generation",
        &[
            "case",
            "#prompt",
            "#gen",
            "#conc.",
            "#n",
            "#ttft|s",
            "#ttft 95% CI|s",
            "#prefill|tok/s",
            "#decode|tok/s",
            "#decode 95% CI|tok/s",
            "#e2e|s",
            "#J/token|J/tok",
            "#failed",
        ],
    );
    for s in summaries {
        let Some(text) = s.case.text() else {
            continue;
        };
        let p = &text.params;
        t.rows.push(vec![
            Cell::text(s.case.id.clone()),
            Cell::number(f64::from(p.prompt_tokens), p.prompt_tokens.to_string()),
            Cell::number(f64::from(p.gen_tokens), p.gen_tokens.to_string()),
            Cell::text(match p.rate_rps {
                Some(r) => format!("{} @ {r} req/s", p.concurrency),
                None => p.concurrency.to_string(),
            }),
            Cell::number(s.ok as f64, s.ok.to_string()),
            median(find(s, "ttft_s")),
            ci(find(s, "ttft_s")),
            median(find(s, "prefill_tps")),
            median(find(s, "decode_tps")),
            ci(find(s, "decode_tps")),
            median(find(s, "e2e_s")),
            median(find(s, "j_per_output_token")),
            Cell::number(s.errors as f64, s.errors.to_string()),
        ]);
    }
    (!t.rows.is_empty()).then_some(t)
}

/// Image cases: time per image with its interval, per step, per phase, energy per image.
pub fn image_cases(summaries: &[CaseSummary]) -> Option<Table> {
    let mut t = Table::new(
        "Images",
        &[
            "case",
            "size",
            "#steps",
            "#n",
            "#image|s",
            "#image 95% CI|s",
            "#step|s",
            "#text enc.|s",
            "#denoise|s",
            "#VAE decode|s",
            "#J/image|J",
            "#failed",
        ],
    );
    for s in summaries {
        let Some(image) = s.case.image() else {
            continue;
        };
        t.rows.push(vec![
            Cell::text(s.case.id.clone()),
            Cell::text(format!("{}×{}", image.width, image.height)),
            Cell::number(f64::from(image.steps), image.steps.to_string()),
            Cell::number(s.ok as f64, s.ok.to_string()),
            median(find(s, "image_s")),
            ci(find(s, "image_s")),
            median(find(s, "step_s")),
            median(find(s, "text_encode_s")),
            median(find(s, "denoise_s")),
            median(find(s, "vae_decode_s")),
            median(find(s, "j_per_image")),
            Cell::number(s.errors as f64, s.errors.to_string()),
        ]);
    }
    (!t.rows.is_empty()).then_some(t)
}

/// Every metric of one case, as `summary.csv` has it, with intervals and outliers.
pub fn case_metrics(s: &CaseSummary) -> Table {
    let mut t = Table::new(
        format!("{}: every metric", s.case.id),
        &[
            "metric",
            "#n",
            "#median",
            "#median 95% CI",
            "#mean",
            "#sd",
            "#p90",
            "#p99",
            "#min",
            "#max",
            "#repetitions",
            "outliers",
        ],
    );
    for m in &s.metrics {
        let v = &m.summary;
        let num = |x: f64| Cell::number(x, human(x, m.unit));
        let outliers = if m.repetitions.outliers.is_empty() {
            Cell::text("none")
        } else {
            Cell::text(
                m.repetitions
                    .outliers
                    .iter()
                    .map(|&(i, kind)| {
                        format!(
                            "rep. {} ({:?})",
                            m.repetitions.numbers.get(i).map_or(0, |n| n + 1),
                            kind
                        )
                        .to_lowercase()
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        t.rows.push(vec![
            Cell::text(format!(
                "{} ({})",
                m.name,
                if m.unit.is_empty() { "ratio" } else { m.unit }
            )),
            Cell::number(v.n as f64, v.n.to_string()),
            num(v.median),
            interval_text(m.repetitions.median_ci, m.unit),
            num(v.mean),
            num(v.stddev),
            num(v.p90),
            num(v.p99),
            num(v.min),
            num(v.max),
            Cell::number(
                m.repetitions.values.len() as f64,
                m.repetitions.values.len().to_string(),
            ),
            outliers,
        ]);
    }
    t
}

/// The verdicts of a comparison, one row per case and metric.
pub fn comparison(c: &Comparison) -> Table {
    let mut t = Table::new(
        format!("{} → {}", c.base.run_id, c.current.run_id),
        &[
            "case",
            "metric",
            "#base",
            "#current",
            "#change",
            "#ratio",
            "#ratio 95% CI",
            "#p",
            "verdict",
        ],
    );
    for (case, m) in c.metrics() {
        let a = &m.assessment;
        let value =
            |v: Option<f64>| v.map_or_else(Cell::empty, |x| Cell::number(x, human(x, m.unit)));
        let verdict = serde_json::to_value(a.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let class = match verdict.as_str() {
            "regressed" => "regressed",
            "improved" => "improved",
            "within_noise" => "within_noise",
            _ => "not_enough_data",
        };
        t.rows.push(vec![
            Cell::text(case),
            Cell::text(m.metric),
            value(a.base_median),
            value(a.current_median),
            a.change_pct
                .map_or_else(Cell::empty, |c| Cell::number(c, percent(c))),
            a.ratio
                .map_or_else(Cell::empty, |r| Cell::number(r, ratio(r))),
            a.ratio_interval.map_or_else(Cell::empty, |i| {
                Cell::interval(i.low, i.high, format!("{:.3} – {:.3}", i.low, i.high))
            }),
            a.p_value
                .map_or_else(Cell::empty, |p| Cell::number(p, significant(p))),
            Cell::text(a.verdict.label()).with_class(class),
        ]);
    }
    t
}

/// The roofline figures: per case and figure, the achieved rate, its ceiling, the fraction,
/// and where the ceiling comes from. A fraction above 100 % is marked as an error of the
/// measurement or of the ceiling, never as a success. None when no case has a figure.
pub fn roofline(rooflines: &[crate::roofline::CaseRoofline]) -> Option<Table> {
    use crate::roofline::ABOVE_CEILING;
    let mut t = Table::new(
        "Roofline: how much of the device's ceiling each case used",
        &[
            "case",
            "figure",
            "achieved",
            "ceiling",
            "of the ceiling",
            "ceiling from",
            "note",
        ],
    );
    for r in rooflines {
        for (name, f) in r.figures() {
            let (unit, scale) = if f.ceiling.of == "memory" {
                ("GB/s", 1e9)
            } else {
                ("TFLOP/s", 1e12)
            };
            let ceiling = if f.ceiling.of == "memory" {
                format!("{} {unit}", significant(f.ceiling.value / scale))
            } else {
                format!(
                    "{} {unit} {}",
                    significant(f.ceiling.value / scale),
                    f.ceiling.of
                )
            };
            let percent = f.value() * 100.0;
            let fraction = Cell::number(percent, format!("{} %", significant(percent)));
            let (fraction, note) = if f.above_ceiling() {
                (fraction.with_class("regressed"), ABOVE_CEILING.to_string())
            } else {
                (fraction, String::new())
            };
            t.rows.push(vec![
                Cell::text(&r.case),
                Cell::text(name),
                Cell::number(
                    f.achieved / scale,
                    format!("{} {unit}", significant(f.achieved / scale)),
                ),
                Cell::text(ceiling),
                fraction,
                Cell::text(&f.ceiling.source),
                Cell::text(note),
            ]);
        }
    }
    (!t.rows.is_empty()).then_some(t)
}

/// Cluster scaling per node count (see [`crate::summary::scaling`]); `None` without a case
/// swept over two or more node counts.
pub fn scaling(points: &[crate::summary::scaling::ScalingPoint]) -> Option<Table> {
    let mut t = Table::new(
        "Cluster scaling",
        &[
            "case",
            "nodes",
            "throughput",
            "TTFT",
            "speedup",
            "efficiency",
            "cluster power",
            "per node",
        ],
    );
    let cell = |v: Option<f64>, scale: f64, unit: &str| match v {
        Some(v) => Cell::number(
            v * scale,
            format!("{} {unit}", significant(v * scale))
                .trim_end()
                .to_string(),
        ),
        None => Cell::empty(),
    };
    for p in points {
        t.rows.push(vec![
            Cell::text(&p.series),
            Cell::number(f64::from(p.nodes), p.nodes.to_string()),
            cell(p.throughput_tps, 1.0, "tok/s"),
            cell(p.ttft_s, 1e3, "ms"),
            cell(p.speedup, 1.0, "×"),
            cell(p.efficiency, 100.0, "%"),
            cell(p.power_w, 1.0, "W"),
            cell(p.power_per_node_w, 1.0, "W"),
        ]);
    }
    (!t.rows.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roofline::{CaseRoofline, Ceiling, Fraction, ABOVE_CEILING};

    fn fraction(achieved: f64, value: f64, of: &str) -> Fraction {
        Fraction {
            achieved,
            ceiling: Ceiling {
                value,
                source: "table:nvidia-h100-sxm".into(),
                of: of.into(),
            },
        }
    }

    #[test]
    fn roofline_rows_state_the_ceiling_and_flag_a_figure_above_it() {
        let cases = [CaseRoofline {
            case: "gpu/ttft/p2048-g128-c1".into(),
            prefill_mfu: Some(fraction(353e12, 989.5e12, "bf16")),
            decode_mbu: Some(fraction(4.0e12, 3.35e12, "memory")),
            ..CaseRoofline::default()
        }];
        let t = roofline(&cases).expect("a table");
        assert_eq!(t.rows.len(), 2);
        let prefill: Vec<&str> = t.rows[0].iter().map(|c| c.text.as_str()).collect();
        assert_eq!(prefill[1], "prefill MFU");
        assert_eq!(prefill[3], "990 TFLOP/s bf16");
        assert_eq!(prefill[4], "35.7 %");
        assert_eq!(prefill[5], "table:nvidia-h100-sxm");
        assert_eq!(prefill[6], "");
        let decode = &t.rows[1];
        assert!(decode[4].text.starts_with("119"), "{:?}", decode[4].text);
        assert_eq!(decode[4].class, Some("regressed"));
        assert_eq!(decode[6].text, ABOVE_CEILING);
        assert!(roofline(&[CaseRoofline::default()]).is_none());
    }
}
