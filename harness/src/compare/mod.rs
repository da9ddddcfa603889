//! Comparing two runs: cases matched by workload, parameters and hardware, and per metric the
//! ratio of medians with its bootstrap interval, a Mann-Whitney U test and a direction-aware
//! verdict. `bench compare` shows every metric; `bench gate` (crate::gate) applies its own
//! rules to the same comparison.

mod differences;
mod matching;

use serde::Serialize;

use crate::stats::bootstrap::BootstrapConfig;
use crate::stats::verdict::{assess, Assessment, Rule, Sidedness, Verdict};
use crate::stats::Better;
use crate::store::{Manifest, StoredRun};
use crate::summary::CaseSummary;

pub use differences::{engine_differences, environment_differences};
pub use matching::{match_cases, Matched, Side, Unmatched};

/// One side of a comparison: the run's manifest and its per-case summaries.
#[derive(Debug, Clone)]
pub struct RunSide {
    /// Where it was read from (a run folder or a baseline file).
    pub source: String,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its per-case summaries, in plan order.
    pub summaries: Vec<CaseSummary>,
}

impl RunSide {
    /// The side of a stored run, summarized with `cfg`'s bootstrap.
    pub fn of(run: &StoredRun, cfg: &BootstrapConfig) -> Self {
        Self {
            source: run.dir.display().to_string(),
            manifest: run.manifest.clone(),
            summaries: crate::summary::of_run_with(run, cfg),
        }
    }
}

/// What identifies a run in a comparison's output.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Run id.
    pub run_id: String,
    /// Folder or file it was read from.
    pub source: String,
    /// When it started.
    pub started_at: String,
    /// The bench build's git revision.
    pub git_revision: String,
    /// Suite name.
    pub suite: String,
    /// Host name.
    pub hostname: String,
    /// CPU or chip.
    pub cpu_model: String,
    /// GPUs apart from the chip (NVIDIA), as the manifest lists them.
    #[serde(default)]
    pub gpus: Vec<String>,
    /// Hardware fingerprint.
    pub fingerprint: String,
}

impl RunInfo {
    fn of(side: &RunSide) -> Self {
        let m = &side.manifest;
        Self {
            run_id: m.run_id.clone(),
            source: side.source.clone(),
            started_at: m.started_at.clone(),
            git_revision: m.bench.git_revision.clone(),
            suite: suite_name(m),
            hostname: m.environment.hostname.clone(),
            cpu_model: m.environment.cpu_model.clone(),
            gpus: m.environment.gpus.clone(),
            fingerprint: m.environment.fingerprint.clone(),
        }
    }
}

impl RunInfo {
    /// The machine in a few words, for labels: the CPU or chip, and the name of each GPU apart
    /// from it (a GPU run labelled with its host's CPU alone hides what it ran on).
    pub fn machine(&self) -> String {
        let gpus = self.gpus.iter().map(|g| g.split(", ").next().unwrap_or(g));
        std::iter::once(self.cpu_model.as_str())
            .chain(gpus)
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

#[cfg(test)]
mod machine_tests {
    use super::RunInfo;

    fn info(gpus: &[&str]) -> RunInfo {
        RunInfo {
            run_id: "r".into(),
            source: Default::default(),
            started_at: String::new(),
            git_revision: String::new(),
            suite: String::new(),
            hostname: String::new(),
            cpu_model: "Intel(R) Xeon(R) Processor".into(),
            gpus: gpus.iter().map(|g| g.to_string()).collect(),
            fingerprint: String::new(),
        }
    }

    #[test]
    fn a_gpu_run_is_labelled_with_its_gpu() {
        assert_eq!(
            info(&["NVIDIA H100 80GB HBM3, 81559 MiB"]).machine(),
            "Intel(R) Xeon(R) Processor + NVIDIA H100 80GB HBM3"
        );
        assert_eq!(info(&[]).machine(), "Intel(R) Xeon(R) Processor");
    }
}

/// The suite name a manifest records.
pub fn suite_name(m: &Manifest) -> String {
    m.suite.parsed["suite"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// How metrics are compared.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rule of every metric not in `rules`.
    pub rule: Rule,
    /// Per-metric rules (the gate's); when not empty, only these metrics are compared.
    pub rules: Vec<(&'static str, Rule)>,
    /// Metrics to compare (empty: every metric both sides have), for `bench compare --metric`.
    pub metrics: Vec<String>,
    /// The bootstrap of ratio intervals.
    pub bootstrap: BootstrapConfig,
    /// Match cases across different hardware (the M5-vs-M4 comparison).
    pub cross_hardware: bool,
}

/// The comparison of two runs.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The run compared against.
    pub base: RunInfo,
    /// The run under test.
    pub current: RunInfo,
    /// How the figures were computed, in words (stated in every output).
    pub method: String,
    /// Differences of hardware and OS between the runs (empty when the same).
    pub hardware_differences: Vec<String>,
    /// Differences of engines and models per target.
    pub engine_differences: Vec<String>,
    /// Matched cases.
    pub cases: Vec<CaseComparison>,
    /// Cases in only one run, or not comparable, and why.
    pub unmatched: Vec<Unmatched>,
}

/// One matched case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseComparison {
    /// Case id.
    pub case: String,
    /// Per metric.
    pub metrics: Vec<MetricComparison>,
}

/// One metric of one matched case.
#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    /// Metric name.
    pub metric: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Whether lower or higher is better.
    pub better: Better,
    /// The rule it was judged by.
    pub alpha: f64,
    /// Allowed change, percent (0: any significant change counts).
    pub max_change_pct: f64,
    /// The figures and the verdict.
    #[serde(flatten)]
    pub assessment: Assessment,
}

/// Why two runs could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// No case is in both runs (or comparable).
    #[error("{base} and {current} have no case in common{}", list(.unmatched))]
    NothingInCommon {
        /// Base run id.
        base: String,
        /// Current run id.
        current: String,
        /// Why each case did not match.
        unmatched: Vec<Unmatched>,
    },
}

fn list(unmatched: &[Unmatched]) -> String {
    let mut out = String::from(":");
    for u in unmatched.iter().take(12) {
        out.push_str(&format!("\n  {u}"));
    }
    if unmatched.len() > 12 {
        out.push_str(&format!("\n  … and {} more", unmatched.len() - 12));
    }
    out
}

/// Compare `current` with `base`.
pub fn compare(
    base: &RunSide,
    current: &RunSide,
    options: &Options,
) -> Result<Comparison, CompareError> {
    let hardware_differences =
        environment_differences(&base.manifest.environment, &current.manifest.environment);
    let (matched, unmatched) = match_cases(
        base,
        current,
        (!options.cross_hardware && !hardware_differences.is_empty())
            .then_some(hardware_differences.as_slice()),
    );
    if matched.is_empty() {
        return Err(CompareError::NothingInCommon {
            base: base.manifest.run_id.clone(),
            current: current.manifest.run_id.clone(),
            unmatched,
        });
    }
    let cases = matched
        .iter()
        .map(|m| CaseComparison {
            case: m.base.case.id.clone(),
            metrics: compare_case(m.base, m.current, options),
        })
        .collect();
    Ok(Comparison {
        base: RunInfo::of(base),
        current: RunInfo::of(current),
        method: method(options),
        hardware_differences,
        engine_differences: engine_differences(&base.manifest, &current.manifest),
        cases,
        unmatched,
    })
}

fn compare_case(
    base: &CaseSummary,
    current: &CaseSummary,
    options: &Options,
) -> Vec<MetricComparison> {
    base.metrics
        .iter()
        .filter_map(|b| {
            let rule = if options.rules.is_empty() {
                let wanted =
                    options.metrics.is_empty() || options.metrics.iter().any(|m| m == b.name);
                wanted.then_some(options.rule)?
            } else {
                options
                    .rules
                    .iter()
                    .find(|(name, _)| *name == b.name)
                    .map(|(_, rule)| *rule)?
            };
            let c = current.metrics.iter().find(|c| c.name == b.name)?;
            let assessment = assess(
                &b.repetitions.values,
                &c.repetitions.values,
                b.better,
                &rule,
                &options.bootstrap,
            );
            Some(MetricComparison {
                metric: b.name,
                unit: b.unit,
                better: b.better,
                alpha: rule.alpha,
                max_change_pct: rule.max_change_pct,
                assessment,
            })
        })
        .collect()
}

fn method(options: &Options) -> String {
    let sided = match options.rule.alternative {
        Sidedness::TwoSided => "two-sided",
        Sidedness::Harmful => "one-sided, in the direction that is worse for the metric",
    };
    format!(
        "Unit: one value per repetition (for per-request distributions and load patterns, the \
         repetition's median). Ratio: current median / base median, with a {:.0} % percentile \
         bootstrap interval ({} resamples, seed {}). Test: Mann-Whitney U, {sided} (exact \
         without ties up to 50 repetitions a side, else the normal approximation with tie \
         correction). A change is a regression or an improvement only when p < α and it is \
         beyond the metric's allowed change.",
        options.bootstrap.confidence * 100.0,
        options.bootstrap.resamples,
        options.bootstrap.seed
    )
}

impl Comparison {
    /// Every metric comparison with its case, in order.
    pub fn metrics(&self) -> impl Iterator<Item = (&str, &MetricComparison)> {
        self.cases
            .iter()
            .flat_map(|c| c.metrics.iter().map(move |m| (c.case.as_str(), m)))
    }

    /// How many metrics got `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.metrics()
            .filter(|(_, m)| m.assessment.verdict == verdict)
            .count()
    }
}
