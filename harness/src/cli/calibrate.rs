//! `bench calibrate`: measure this machine's matmul rates and memory-read bandwidth and store
//! them under its fingerprint.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bench_workloads::calibrate::{
    all_matmul_rates, built_gpu, gpu_read::gpu_read_rate, read::read_rate, MatmulPlan,
};
use clap::Args;

use crate::calibration::Calibration;
use crate::environment::Environment;

/// Arguments of `bench calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Results folder; the calibration goes to <results>/calibration/<fingerprint>.json.
    #[arg(long, default_value = "results", env = "BENCH_RESULTS")]
    results: PathBuf,
    /// Square matrix sizes to multiply (comma-separated). Small sizes measure overheads,
    /// not the peak: keep at least one ≥ 1024 for a figure worth comparing against.
    #[arg(long, value_delimiter = ',', default_value = "1024,2048")]
    sizes: Vec<usize>,
    /// Milliseconds of repeated multiplies per size and dtype; the fastest one counts.
    #[arg(long, default_value_t = 300)]
    budget_ms: u64,
    /// MiB of the buffer the bandwidth test reads: several times the last-level cache, or
    /// it measures the cache.
    #[arg(long, default_value_t = 1024)]
    read_mib: u64,
    /// Timed reads of that buffer; the fastest one counts.
    #[arg(long, default_value_t = 5)]
    read_trials: usize,
    /// Print the calibration as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Run `bench calibrate`.
pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !args.sizes.is_empty() && args.sizes.iter().all(|&n| n > 0),
        "--sizes needs at least one size above 0"
    );
    anyhow::ensure!(args.read_mib > 0, "--read-mib must be above 0");
    let environment = Environment::probe();
    let plan = MatmulPlan {
        sizes: args.sizes.clone(),
        budget: Duration::from_millis(args.budget_ms),
    };
    let gpu = built_gpu();
    let matmul = all_matmul_rates(&plan, gpu.as_ref()).context("measuring matrix multiplies")?;
    let memory_read = read_rate(args.read_mib << 20, args.read_trials);
    // Ten passes a timing: one pass over 1 GiB takes about 0.3 ms on an H100, too close to
    // what a launch and a synchronize cost. A GPU bench has no read kernel for (Metal) is
    // left out with a warning.
    let gpu_memory_read: Vec<_> = gpu
        .iter()
        .filter_map(|device| {
            gpu_read_rate(device, args.read_mib << 20, 10, args.read_trials)
                .map_err(|e| tracing::warn!("GPU memory read not measured: {e}"))
                .ok()
        })
        .collect();
    let calibration = Calibration {
        fingerprint: environment.fingerprint.clone(),
        environment,
        measured_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        matmul,
        memory_read,
        gpu_memory_read,
    };
    let path = calibration.save(&args.results)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&calibration)?);
    } else {
        print_table(&calibration);
        outln!("stored in {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(c: &Calibration) {
    outln!("machine {} ({})", c.fingerprint, c.environment.cpu_model);
    outln!(
        "{:<8} {:<6} {:>6} {:>10}",
        "device",
        "dtype",
        "n",
        "GFLOP/s"
    );
    for r in &c.matmul {
        outln!(
            "{:<8} {:<6} {:>6} {:>10.1}",
            r.device,
            r.dtype,
            r.n,
            r.gflops
        );
    }
    let m = &c.memory_read;
    outln!(
        "memory read: {:.1} GB/s ({} MiB, {} threads, best of {})",
        m.gb_per_s,
        m.bytes >> 20,
        m.threads,
        m.trials
    );
    for g in &c.gpu_memory_read {
        outln!(
            "{} memory read: {:.1} GB/s ({} MiB, {} passes a timing, best of {})",
            g.device,
            g.gb_per_s,
            g.bytes >> 20,
            g.passes,
            g.trials
        );
    }
}
