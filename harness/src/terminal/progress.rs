//! Progress while a suite runs: a bar on a terminal, one line per measurement otherwise
//! (CI logs), nothing with `--quiet`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::plan::Case;
use crate::runner::Observer;
use crate::store::{PatternRun, Record, ToolRun};

/// Shows the runner's progress on stderr.
pub struct Progress {
    bar: ProgressBar,
    log_lines: bool,
    quiet: bool,
}

impl Progress {
    /// A progress display over `total` runs (warmups included).
    pub fn new(total: u64, quiet: bool) -> Self {
        let interactive = std::io::stderr().is_terminal() && !quiet;
        let bar = if interactive {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_length(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} runs  eta {eta}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Self {
            bar,
            log_lines: !interactive && !quiet,
            quiet,
        }
    }

    fn say(&self, line: String) {
        if self.quiet {
            return;
        }
        if self.log_lines {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn opening(&mut self, target: &str, model: &str) {
        let what = if model.starts_with("synth:") {
            "resolving (synthesizing on first use) and loading"
        } else {
            "loading"
        };
        self.bar.set_message(format!("{target}: {what} {model}"));
        self.say(format!("{target}: {what} {model}"));
    }

    fn opened(&mut self, target: &str, open_s: f64) {
        self.say(format!("{target}: model loaded in {open_s:.2} s"));
    }

    fn open_failed(&mut self, target: &str, error: &str) {
        self.say(format!(
            "{target}: cannot load, its cases are skipped: {error}"
        ));
    }

    fn power_lost(&mut self, error: &str) {
        self.say(format!(
            "power sampling stopped ({error}); the run goes on without energy figures"
        ));
    }

    fn starting(&mut self, case: &Case, repetition: Option<u32>) {
        let what = match repetition {
            Some(r) => format!("rep {}/{}", r + 1, case.repetitions),
            None => "warmup".into(),
        };
        self.bar.set_message(format!("{} {what}", case.id));
    }

    fn request_done(&mut self, case: &Case, done: u32, planned: Option<u32>) {
        let of = planned.map_or_else(String::new, |n| format!("/{n}"));
        self.bar
            .set_message(format!("{}: {done}{of} requests", case.id));
    }

    fn pattern_finished(&mut self, case: &Case, run: &PatternRun) {
        // A search is one run of the plan however many probes it takes: its last one counts.
        if run.search.is_none_or(|s| s.last) {
            self.bar.inc(1);
        }
        let mut rep = format!(
            "{} rep {}/{}",
            case.id,
            run.header.repetition + 1,
            case.repetitions
        );
        if let (Some(mark), Some(rate)) = (run.search, run.offered_rate_rps) {
            rep.push_str(&format!(
                " probe {} at {rate:.3} req/s ({:.0} % within SLO)",
                mark.probe + 1,
                mark.attainment * 100.0
            ));
        }
        let line = match &run.error {
            Some(e) => format!("{rep}: error: {e}"),
            None => {
                let mut line = format!("{rep}: {} requests, {} ok", run.sent, run.ok);
                for (kind, n) in &run.errors {
                    line.push_str(&format!(", {n} {kind}"));
                }
                if let Some(r) = run.achieved_rate_rps {
                    line.push_str(&format!("  sent {r:.2} req/s"));
                }
                if let Some(r) = run.output_tps {
                    line.push_str(&format!("  output {r:.1} tok/s"));
                }
                if let Some(lag) = &run.lag_s {
                    line.push_str(&format!(
                        "  lag p99 {}",
                        crate::units::seconds_fixed(Some(lag.p99))
                    ));
                }
                line
            }
        };
        self.say(line);
    }

    fn tool_finished(&mut self, case: &Case, run: &ToolRun) {
        let line = match (&run.result, &run.error) {
            (Some(r), _) => {
                let n = r.trials.len() as f64;
                let mean = |f: fn(&bench_workloads::own_benchmark::ToolTrial) -> f64| {
                    r.trials.iter().map(f).sum::<f64>() / n
                };
                format!(
                    "{}: {} {} trials: prompt {:.1} tok/s, generation {:.1} tok/s (means)",
                    case.id,
                    r.tool,
                    r.trials.len(),
                    mean(|t| t.prompt_tps),
                    mean(|t| t.generation_tps)
                )
            }
            (None, error) => format!(
                "{}: the engine's benchmark tool failed: {}",
                case.id,
                error.as_deref().unwrap_or("no reason given")
            ),
        };
        self.say(line);
    }

    fn finished(&mut self, case: &Case, record: Option<&Record>) {
        self.bar.inc(1);
        let Some(record) = record else { return };
        let (text, image) = (record.metrics.text.as_ref(), record.metrics.image.as_ref());
        let watts = record.metrics.energy.as_ref();
        let line = match &record.error {
            Some(e) => format!(
                "{} rep {}: error: {e}",
                case.id,
                record.header.repetition + 1
            ),
            None if image.is_some_and(|m| m.image_s.is_some()) => {
                let steps = &record.step_s;
                let mean_step =
                    (!steps.is_empty()).then(|| steps.iter().sum::<f64>() / steps.len() as f64);
                let mut line = format!(
                    "{} rep {}/{}: image {}  {} steps of {}  text {}  decode {}",
                    case.id,
                    record.header.repetition + 1,
                    case.repetitions,
                    crate::units::seconds_fixed(image.and_then(|m| m.image_s)),
                    steps.len(),
                    crate::units::seconds_fixed(mean_step),
                    crate::units::seconds_fixed(image.and_then(|m| m.text_encode_s)),
                    crate::units::seconds_fixed(image.and_then(|m| m.vae_decode_s)),
                );
                if let Some(j) = watts.and_then(|m| m.j_per_image) {
                    line.push_str(&format!("  {j:.1} J/image"));
                }
                line
            }
            None => {
                let mut line = format!(
                    "{} rep {}/{}: ttft {}  prefill {}  decode {}",
                    case.id,
                    record.header.repetition + 1,
                    case.repetitions,
                    crate::units::seconds_fixed(text.and_then(|m| m.ttft_s)),
                    crate::units::rate_fixed(text.and_then(|m| m.prefill_tps)),
                    crate::units::rate_fixed(text.and_then(|m| m.decode_tps)),
                );
                if let Some(w) = watts.and_then(|m| m.avg_power_w) {
                    line.push_str(&format!("  {w:.1} W"));
                }
                if let Some(flags) = record.energy.as_ref().filter(|e| !e.flags.is_empty()) {
                    line.push_str(&format!("  [{}]", flags.flags.join(", ")));
                }
                line
            }
        };
        if self.log_lines {
            self.say(line);
        }
    }
}
