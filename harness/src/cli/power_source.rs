//! What `bench power`'s subcommands share to open a sampler: its flags, opening the source
//! they name, a token file, and a Ctrl-C flag.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::power::select::{self, SourceSettings};
use crate::power::serve::Token;
use crate::power::Source;
use crate::suite::SamplerKind;

/// Which sampler to use, and its settings.
#[derive(Debug, Args)]
pub struct SamplerArgs {
    /// auto, powermetrics, macmon, nvml, rapl, prometheus.
    #[arg(long, default_value = "auto", value_parser = parse_sampler)]
    sampler: SamplerKind,
    /// Sampling interval.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    interval_ms: u64,
    /// prometheus: the endpoint; macmon: a `macmon serve` on another host.
    #[arg(long)]
    url: Option<String>,
    /// prometheus: a power or energy metric to read (repeat for several).
    #[arg(long = "metric", value_name = "NAME")]
    metrics: Vec<String>,
}

fn parse_sampler(s: &str) -> Result<SamplerKind, String> {
    SamplerKind::ALL
        .iter()
        .copied()
        .find(|k| k.as_str() == s && *k != SamplerKind::None)
        .ok_or_else(|| "allowed: auto, powermetrics, macmon, nvml, rapl, prometheus".to_string())
}

/// Open the source `args` name, sending `token` to its URL; prints which one it is.
pub fn open_source(
    args: &SamplerArgs,
    token: Option<String>,
) -> anyhow::Result<(Box<dyn Source>, Duration)> {
    anyhow::ensure!(args.interval_ms > 0, "--interval-ms must be at least 1");
    let settings = SourceSettings {
        sampler: args.sampler,
        interval: Duration::from_millis(args.interval_ms),
        url: args.url.clone(),
        metrics: args.metrics.clone(),
        nodes: Vec::new(),
        token,
    };
    let selection = select::select(&settings)?;
    let Some(source) = selection.source else {
        anyhow::bail!("{}", selection.note);
    };
    eprintln!("{}: {}", selection.used.as_str(), source.describe());
    Ok((source, settings.interval))
}

/// A token file's token; a warning when others can read the file.
pub fn read_token_file(path: &Path) -> anyhow::Result<Token> {
    let loaded = Token::from_file(path)?;
    if let Some(warning) = &loaded.warning {
        eprintln!("warning: {warning}");
    }
    Ok(loaded.token)
}

/// A flag Ctrl-C sets, so the commands can stop cleanly and print their summary.
pub fn interrupted() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    if ctrlc::set_handler(move || set.store(true, Ordering::SeqCst)).is_err() {
        tracing::warn!("cannot catch Ctrl-C; it will stop bench without a summary");
    }
    flag
}
