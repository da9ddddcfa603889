//! `bench power`: watch power live, record it to a file, import a capture made elsewhere, or
//! serve this machine's power over HTTP.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use crate::clock::RunClock;
use crate::cpu_time::process_cpu_seconds;
use crate::power::energy::Trace;
use crate::power::monitor::{Health, Monitor};
use crate::power::{macmon, powermetrics, Imported, Position, PowerError, Sample};

use super::power_source::{interrupted, open_source, read_token_file, SamplerArgs};
use super::EXIT_USAGE;

#[derive(Debug, Subcommand)]
pub enum PowerCommand {
    /// Show live power per rail (and temperatures, clocks, throttling) until Ctrl-C.
    Watch {
        #[command(flatten)]
        sampler: SamplerArgs,
        #[command(flatten)]
        token: UrlToken,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration: Option<f64>,
    },
    /// Record samples to a JSONL file (one sample per line, as in a run's power.jsonl) until
    /// Ctrl-C or --duration, then print energy per rail and what sampling cost.
    Record {
        #[command(flatten)]
        sampler: SamplerArgs,
        #[command(flatten)]
        token: UrlToken,
        /// Where to write the samples.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration: Option<f64>,
    },
    /// Turn a capture made elsewhere into bench's power JSONL, e.g. from
    /// `sudo powermetrics -f plist -i 100 --samplers cpu_power,gpu_power,thermal > cap.plist`.
    /// Damaged input: the samples before the damage are written, the damage is reported with
    /// its byte offset or line, and the exit code is 2.
    Import {
        /// What the file holds.
        #[arg(long, value_enum)]
        format: ImportFormat,
        /// The capture.
        file: PathBuf,
        /// Where to write the samples (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// macmon: the interval the capture was made with (default: the median gap between
        /// its timestamps).
        #[arg(long, value_name = "MS")]
        interval_ms: Option<u64>,
    },
    /// Serve this machine's power over HTTP for a coordinator to scrape: `/metrics`
    /// (Prometheus text), `/json` (the latest sample). Until Ctrl-C.
    #[command(long_about = super::power_serve::LONG_ABOUT)]
    Serve(super::power_serve::ServeArgs),
}

/// The bearer token for `--url` (a `bench power serve` on another node, or an endpoint behind
/// an authenticating proxy).
#[derive(Debug, Args)]
pub struct UrlToken {
    /// prometheus/macmon --url: a file whose first line is the bearer token to send (for a
    /// `bench power serve` started with a token).
    #[arg(long = "token-file", value_name = "FILE")]
    token_file: Option<PathBuf>,
}

impl UrlToken {
    fn read(&self) -> anyhow::Result<Option<String>> {
        self.token_file
            .as_deref()
            .map(|path| read_token_file(path).map(|t| t.expose().to_string()))
            .transpose()
    }
}

/// Formats `bench power import` reads.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    /// `powermetrics -f plist` output (NUL-separated plist documents).
    PowermetricsPlist,
    /// powermetrics' default text output (current and Big Sur/Monterey macOS).
    PowermetricsText,
    /// `macmon pipe` JSON lines (v0.6 to v0.8 and later).
    Macmon,
}

pub fn run(command: PowerCommand) -> anyhow::Result<ExitCode> {
    match command {
        PowerCommand::Watch {
            sampler,
            token,
            duration,
        } => watch(&sampler, &token, duration),
        PowerCommand::Record {
            sampler,
            token,
            out,
            duration,
        } => record(&sampler, &token, &out, duration),
        PowerCommand::Serve(args) => super::power_serve::serve(&args),
        PowerCommand::Import {
            format,
            file,
            out,
            interval_ms,
        } => import(format, &file, out.as_deref(), interval_ms),
    }
}

fn start(
    args: &SamplerArgs,
    token: &UrlToken,
    sink: Option<File>,
) -> anyhow::Result<(Monitor, Duration)> {
    let (source, interval) = open_source(args, token.read()?)?;
    Ok((Monitor::start(source, RunClock::start(), sink), interval))
}

fn keep_going(stop: &AtomicBool, started: Instant, duration: Option<f64>) -> bool {
    !stop.load(Ordering::SeqCst) && duration.is_none_or(|d| started.elapsed().as_secs_f64() < d)
}

fn watch(args: &SamplerArgs, token: &UrlToken, duration: Option<f64>) -> anyhow::Result<ExitCode> {
    let (monitor, interval) = start(args, token, None)?;
    let stop = interrupted();
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut shown = 0;
    while keep_going(&stop, started, duration) {
        std::thread::sleep(interval.min(Duration::from_millis(100)));
        if let Health::Failed(e) = monitor.health() {
            anyhow::bail!("{e}");
        }
        let count = monitor.sample_count();
        if count == shown {
            continue;
        }
        shown = count;
        if let Some(sample) = monitor.latest() {
            let line = describe(&sample);
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else {
                eprintln!("{line}");
            }
        }
    }
    if tty {
        eprintln!();
    }
    monitor.stop();
    Ok(ExitCode::SUCCESS)
}

/// One sample as a line: rails, then temperatures, pressure and throttling.
pub fn describe(sample: &Sample) -> String {
    let mut parts = vec![format!("{:8.1} s", sample.t_s)];
    for rail in &sample.rails {
        if let Some(w) = rail.watts {
            parts.push(format!("{} {w:.2} W", rail.rail));
        }
    }
    let thermal = &sample.thermal;
    for (sensor, c) in &thermal.temps_c {
        parts.push(format!("{sensor} {c:.0}°C"));
    }
    if let Some(p) = &thermal.pressure {
        parts.push(format!("pressure {p}"));
    }
    if !thermal.throttle.is_empty() {
        parts.push(format!("throttle {}", thermal.throttle.join(",")));
    }
    if thermal.on_battery == Some(true) {
        parts.push("on battery".into());
    }
    parts.join("  ")
}

fn record(
    args: &SamplerArgs,
    token: &UrlToken,
    out: &Path,
    duration: Option<f64>,
) -> anyhow::Result<ExitCode> {
    let file = File::create(out).with_context(|| format!("cannot write {}", out.display()))?;
    let cpu_before = process_cpu_seconds();
    let (monitor, _) = start(args, token, Some(file))?;
    let stop = interrupted();
    let started = Instant::now();
    while keep_going(&stop, started, duration) {
        std::thread::sleep(Duration::from_millis(50));
        if matches!(monitor.health(), Health::Failed(_)) {
            break;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let samples = monitor.samples();
    let (health, thread_cpu) = monitor.stop_with_cost();
    eprintln!(
        "{} samples in {wall:.1} s written to {}",
        samples.len(),
        out.display()
    );
    for line in energy_report(&samples) {
        eprintln!("{line}");
    }
    if let Some(cpu) = thread_cpu {
        eprintln!(
            "sampling thread: {cpu:.3} s of CPU in {wall:.1} s = {:.3}% of one core",
            100.0 * cpu / wall
        );
    }
    if let Some(cpu) = cpu {
        eprintln!(
            "whole process (start-up, library loading, this summary included): {cpu:.3} s of CPU = {:.3}% of one core",
            100.0 * cpu / wall
        );
    }
    if let Health::Failed(e) = health {
        eprintln!("error: sampling stopped early: {e}");
        return Ok(ExitCode::from(super::EXIT_FAILURES));
    }
    Ok(ExitCode::SUCCESS)
}

/// Per rail: energy and average power over the span of the samples, and where a rail has
/// both an energy counter and power readings, the two energies side by side.
pub fn energy_report(samples: &[Sample]) -> Vec<String> {
    let trace = Trace::from_samples(samples);
    let power_only: Vec<Sample> = samples
        .iter()
        .map(|s| {
            let mut s = s.clone();
            for r in &mut s.rails {
                r.counter_j = None;
            }
            s
        })
        .collect();
    let integrated = Trace::from_samples(&power_only);
    let mut lines = Vec::new();
    for rail in trace.rails() {
        let Some((a, b)) = rail.span() else { continue };
        let Some(joules) = rail.energy(a, b) else {
            continue;
        };
        let mut line = format!(
            "{} ({}): {joules:.1} J over {:.1} s, {:.2} W average ({:?})",
            rail.rail,
            rail.scope.as_str(),
            b - a,
            if b > a { joules / (b - a) } else { 0.0 },
            rail.method
        );
        if let Some(power) = integrated
            .rail(&rail.rail)
            .filter(|_| rail.method == crate::power::energy::Method::Counter)
            .and_then(|p| p.energy(a, b))
        {
            line.push_str(&format!(
                "; integrating its power readings gives {power:.1} J ({}%)",
                crate::units::signed(100.0 * (power - joules) / joules, 2)
            ));
        }
        lines.push(line);
    }
    lines
}

fn import(
    format: ImportFormat,
    file: &Path,
    out: Option<&Path>,
    interval_ms: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let imported = match format {
        ImportFormat::PowermetricsPlist => powermetrics::import_plist(&bytes),
        ImportFormat::PowermetricsText => {
            with_text(&bytes, "powermetrics-text", powermetrics::import_text)
        }
        ImportFormat::Macmon => with_text(&bytes, "macmon", |text| {
            macmon::import(text, interval_ms.map(|ms| ms as f64 / 1000.0))
        }),
    };
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for sample in &imported.samples {
        serde_json::to_writer(&mut sink, sample)?;
        sink.write_all(b"\n")?;
    }
    sink.flush()?;
    let target = out.map_or("stdout".to_string(), |p| p.display().to_string());
    eprintln!(
        "{}: {} samples written to {target}",
        file.display(),
        imported.samples.len()
    );
    match imported.error {
        Some(e) => {
            eprintln!(
                "error: {}: {e}; the {} samples before it were kept",
                file.display(),
                imported.samples.len()
            );
            Ok(ExitCode::from(EXIT_USAGE))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Run a text importer on the valid UTF-8 prefix of `bytes`; invalid UTF-8 is damage at its
/// byte offset.
fn with_text(bytes: &[u8], format: &'static str, parse: impl Fn(&str) -> Imported) -> Imported {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let valid = e.valid_up_to();
            // Only whole lines before the damage count.
            let prefix = &bytes[..valid];
            let cut = prefix
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let text = std::str::from_utf8(&bytes[..cut]).unwrap_or_default();
            let mut imported = parse(text);
            if imported.error.is_none() {
                imported.error = Some(PowerError::Malformed {
                    format,
                    position: Position::Byte(valid as u64),
                    message: "not UTF-8 text".into(),
                });
            }
            imported
        }
    }
}
