//! `bench baseline RUN`: a run packed into one file for gates to compare against.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::compare::suite_name;
use crate::store::{write_baseline, StoredRun};

/// Pack a run into one baseline file for `bench gate --baseline FILE`.
///
/// The file holds the whole run (manifest, every measurement, load patterns, tool runs), so a
/// gate against it is the same as against the folder; commit it under results/baselines/.
///
///   bench baseline results/<run> --out results/baselines/quickstart-m4-max.json
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The run folder.
    run: PathBuf,
    /// The file to write [default: results/baselines/<suite>.json].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Run `bench baseline`.
pub fn run(args: BaselineArgs) -> anyhow::Result<ExitCode> {
    let run = StoredRun::read(&args.run)
        .with_context(|| format!("cannot read run {}", args.run.display()))?;
    let out = args.out.unwrap_or_else(|| {
        let suite = suite_name(&run.manifest);
        let name = if suite.is_empty() {
            run.id().to_string()
        } else {
            suite
        };
        PathBuf::from("results/baselines").join(format!("{name}.json"))
    });
    write_baseline(&run, &out)?;
    outln!(
        "{}: baseline of run {} ({} measurements)",
        out.display(),
        run.id(),
        run.records.len()
    );
    Ok(ExitCode::SUCCESS)
}
