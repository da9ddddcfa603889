//! The `bench` command line.

/// `print!` that ends quietly when the reader of standard output went away (`bench … | head`)
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(&format!($($arg)*))
    };
}

/// `println!` with the behaviour of [`out!`].
macro_rules! outln {
    () => {
        $crate::cli::write_stdout("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(&format!("{}\n", format!($($arg)*)))
    };
}

mod baseline;
mod calibrate;
mod compare;
mod gate;
mod history;
mod hw;
mod interrupt;
mod model;
mod power;
mod power_serve;
mod power_source;
mod report;
mod run;
mod stats_args;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code of a run in which some measurements failed.
pub const EXIT_FAILURES: u8 = 1;
/// Exit code of bad usage or bad input data.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Measure LLM inference, and the power it costs, on this machine.
///
/// A suite file (TOML) names targets (an engine serving a model on a device) and workloads
/// (prompt and generation lengths, swept as lists). `bench run` expands them into cases,
/// runs warmups and repetitions, stores every measurement in results/<run-id>/, and prints
/// a summary table. Then `bench report` turns runs into pages with charts, `bench compare`
/// sets two runs side by side, and `bench gate` fails CI on a regression. Start with:
///
///   bench run suites/quickstart.toml
#[derive(Debug, Parser)]
#[command(name = "bench", version, about, long_about, propagate_version = true)]
pub struct Cli {
    /// More logging (-v info, -vv debug); or set RUST_LOG.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a suite, or finish an interrupted run with --resume.
    Run(run::RunArgs),
    /// Check suite files without running them (exit 0 when all are valid, 2 otherwise).
    Validate {
        /// Suite files to check.
        #[arg(required = true)]
        suites: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the suite format (for editors and CI linters).
    Schema,
    /// Turn runs into a static HTML site (charts, tables, comparison), or Markdown or CSV.
    Report(report::ReportArgs),
    /// Compare two runs case by case: ratios with intervals, tests and verdicts.
    Compare(compare::CompareArgs),
    /// Fail CI (exit 1) when a run regressed against its baseline beyond noise and thresholds.
    Gate(gate::GateArgs),
    /// Pack a run into one baseline file for gates (results/baselines/).
    Baseline(baseline::BaselineArgs),
    /// Runs kept under results/ and a metric's series across them, with change points.
    ///
    /// Every run is indexed in results/history.sqlite (rebuilt from the run folders whenever
    /// needed). Alone, lists the runs, newest first; with --case and --metric, prints that
    /// metric's median per run, oldest first, and marks where a shift began:
    ///
    ///   bench history --case cpu/ttft/p128-g32-c1 --metric ttft_s
    History(history::HistoryArgs),
    /// Measure this machine's ceilings: matmul GFLOP/s per dtype and memory-read GB/s.
    ///
    /// Prefill is bound by matrix multiplies and decode by reading the weights, so these two
    /// rates are what a run's prefill FLOP/s and decode bytes/s are fractions of. Both are
    /// measured with bench's own kernels (candle's matmul on the CPU and on the GPU bench was
    /// built for; a multi-threaded streaming sum over a 1 GiB buffer), best of several runs,
    /// and stored in <results>/calibration/<fingerprint>.json, one file per machine:
    ///
    ///   bench calibrate
    ///   bench calibrate --json --sizes 512 --read-mib 64    # quick, for scripts
    Calibrate(calibrate::CalibrateArgs),
    /// What bench detects about this machine, and the hardware-table row it uses.
    ///
    /// Prints the chip or CPU, memory, OS build, GPUs (for NVIDIA: driver, CUDA, compute
    /// capability; for Macs: GPU cores and Metal family), and the row of
    /// harness/data/hardware.toml each matched, with its memory bandwidth and dense FP16/BF16
    /// matrix throughput and where each figure comes from. Apple chips match by brand string
    /// and GPU core count (bins such as the 32- and 40-core M4 Max differ in bandwidth);
    /// NVIDIA GPUs by the exact name NVML gives. A machine with no row is told so, not
    /// given a near one. Every run's manifest.json records the same facts under `hardware`.
    ///
    ///   bench hw --json
    Hw(hw::HwArgs),
    /// Make and list synthesized model folders.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Watch, record or import power samples outside a run.
    #[command(subcommand)]
    Power(power::PowerCommand),
    /// Print a shell completion script for bench (subcommands, options, their values).
    ///
    /// The script goes to standard output; save it where your shell looks for completions,
    /// then start a new shell:
    ///
    ///   bench completions bash > ~/.local/share/bash-completion/completions/bench
    ///   bench completions zsh > "${fpath[1]}/_bench"      # or any folder on $fpath
    ///   bench completions fish > ~/.config/fish/completions/bench.fish
    ///   bench completions elvish >> ~/.config/elvish/rc.elv
    ///   bench completions powershell >> $PROFILE
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print bench's manual page (roff), made from the same definitions as --help.
    ///
    /// Alone, prints the page of `bench` itself. With --out, writes that page and one per
    /// subcommand (bench-run.1, bench-model-synth.1, …) into the folder, for `man` to find:
    ///
    ///   bench man > bench.1 && man ./bench.1
    ///   bench man --out ~/.local/share/man/man1 && man bench-run
    Man {
        /// Write bench.1 and a page per subcommand into this folder (made if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Parse the command line and run it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Validate { suites } => validate(&suites),
        Command::Schema => {
            let schema = crate::suite::json_schema();
            outln!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare(args) => compare::run(args),
        Command::Gate(args) => gate::run(args),
        Command::Baseline(args) => baseline::run(args),
        Command::Report(args) => report::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Model(cmd) => model::run(cmd),
        Command::Power(cmd) => power::run(cmd),
        Command::History(args) => history::run(args),
        Command::Hw(args) => hw::run(args),
        Command::Completions { shell } => completions(shell),
        Command::Man { out } => man(out.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Print the completion script of `shell`.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "bench", &mut out);
    out!("{}", String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}

/// Print the manual page of `bench`, or write it and one page per subcommand into `folder`.
fn man(folder: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    let command = <Cli as clap::CommandFactory>::command();
    match folder {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .context("cannot render the manual page")?;
            out!("{}", String::from_utf8_lossy(&out));
        }
        Some(folder) => {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("cannot make {}", folder.display()))?;
            clap_mangen::generate_to(command, folder).with_context(|| {
                format!("cannot write the manual pages into {}", folder.display())
            })?;
            eprintln!("wrote the manual pages into {}", folder.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    for path in paths {
        let loaded = crate::suite::load(path).map_err(|e| e.to_string());
        // The prompt files it names are read and checked too.
        let loaded = loaded.and_then(|loaded| {
            crate::prompt_sets::PromptSets::load(&loaded.suite, &run::suite_folder(path))
                .map(|_| loaded)
                .map_err(|e| e.to_string())
        });
        match loaded {
            Ok(loaded) => {
                let plan = crate::plan::Plan::expand(&loaded.suite);
                outln!(
                    "{}: ok ({} cases, {} measured runs, {} with warmups)",
                    path.display(),
                    plan.cases.len(),
                    plan.measured_runs(),
                    plan.total_runs()
                );
            }
            Err(e) => {
                ok = false;
                eprintln!("error: {e}");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_USAGE)
    })
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Write `text` to standard output. A closed pipe ends output silently (the reader has what it
/// wanted); any other failure is reported once on standard error.
pub(crate) fn write_stdout(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to standard output: {e}");
        }
    }
}
