//! `mlx_lm.benchmark`, mlx-lm's own measurement of the same work, run beside bench's so that
//! the two can be compared. What it prints (mlx-lm 0.32, `mlx_lm/benchmark.py`):
//!
//! ```text
//! Running warmup..
//! Timing with prompt_tokens=64, generation_tokens=8, batch_size=1.
//! Trial 1:  prompt_tps=5848.006, generation_tps=457.567, peak_memory=0.001, total_time=0.029
//! Averages: prompt_tps=5923.658, generation_tps=332.097, peak_memory=0.001
//! ```
//!
//! `prompt_tps` is prompt tokens over mlx-lm's prefill time in-process (random token ids, no
//! HTTP, no chat template), `generation_tps` generated tokens over its decode time, and
//! `peak_memory` MLX's peak allocation in GB (10⁹ bytes).

use std::process::Command;
use std::time::Instant;

use crate::own_benchmark::{ToolBenchmark, ToolTrial};
use crate::Error;

/// The trials in mlx_lm.benchmark's output; an error when there is none or a trial line is
/// malformed (with its line number).
pub fn parse(output: &str) -> Result<Vec<ToolTrial>, String> {
    let mut trials = Vec::new();
    for (n, line) in output.lines().enumerate() {
        let Some(rest) = line.trim().strip_prefix("Trial ") else {
            continue;
        };
        let Some((_, fields)) = rest.split_once(':') else {
            return Err(format!("line {}: `{line}` has no `:`", n + 1));
        };
        let mut values = std::collections::HashMap::new();
        for field in fields.split(',') {
            let Some((key, value)) = field.trim().split_once('=') else {
                continue;
            };
            let value: f64 = value.trim().parse().map_err(|_| {
                format!(
                    "line {}: `{}` is not a number in `{line}`",
                    n + 1,
                    value.trim()
                )
            })?;
            values.insert(key.trim().to_string(), value);
        }
        let need = |key: &str| {
            values
                .get(key)
                .copied()
                .ok_or_else(|| format!("line {}: no `{key}` in `{line}`", n + 1))
        };
        trials.push(ToolTrial {
            prompt_tps: need("prompt_tps")?,
            generation_tps: need("generation_tps")?,
            peak_memory_bytes: values.get("peak_memory").map(|gb| gb * 1e9),
            total_time_s: values.get("total_time").copied(),
        });
    }
    if trials.is_empty() {
        return Err("no `Trial N:` line in its output".into());
    }
    Ok(trials)
}

/// Run `python -m mlx_lm.benchmark` on `model_dir` for a prompt of `prompt_tokens` and
/// `gen_tokens` generated, `trials` times.
pub fn run(
    python: &str,
    version: &str,
    model_dir: &std::path::Path,
    prompt_tokens: usize,
    gen_tokens: usize,
    trials: u32,
) -> Result<ToolBenchmark, Error> {
    let mut command = vec![
        python.to_string(),
        "-m".into(),
        "mlx_lm.benchmark".into(),
        "--model".into(),
        model_dir.display().to_string(),
    ];
    for (flag, value) in [
        ("-p", prompt_tokens),
        ("-g", gen_tokens),
        ("-b", 1),
        ("-n", trials.max(1) as usize),
    ] {
        command.push(flag.into());
        command.push(value.to_string());
    }
    let started = Instant::now();
    // Killed by an interrupt: trials cut short are no result.
    let out = crate::children::output(
        Command::new(&command[0]).args(&command[1..]),
        crate::children::OnInterrupt::Kill,
    )
    .map_err(|e| {
        Error::process(
            command.join(" "),
            format!("cannot run `{}`: {e}", command.join(" ")),
        )
    })?;
    if !out.status.success() && crate::cancel::is_requested() {
        return Err(Error::Interrupted);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        return Err(Error::process(
            "mlx_lm.benchmark",
            format!(
                "mlx_lm.benchmark failed ({}): {}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        ));
    }
    let trials = parse(&stdout).map_err(|e| {
        Error::process(
            "mlx_lm.benchmark",
            format!("cannot read mlx_lm.benchmark's output: {e}"),
        )
    })?;
    Ok(ToolBenchmark {
        tool: "mlx_lm.benchmark".into(),
        version: version.to_string(),
        command,
        trials,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from mlx-lm 0.32.2 (mlx 0.32.4, Linux CPU) on a synthesized `tiny` model:
    /// `python -m mlx_lm.benchmark --model tiny -p 64 -g 8 -b 1 -n 2`.
    const OUTPUT: &str = "Running warmup..\n\
Timing with prompt_tokens=64, generation_tokens=8, batch_size=1.\n\
Trial 1:  prompt_tps=5848.006, generation_tps=457.567, peak_memory=0.001, total_time=0.029\n\
Trial 2:  prompt_tps=5999.310, generation_tps=206.626, peak_memory=0.001, total_time=0.050\n\
Averages: prompt_tps=5923.658, generation_tps=332.097, peak_memory=0.001\n";

    #[test]
    fn trials_are_read_with_memory_in_bytes_and_averages_ignored() {
        let trials = parse(OUTPUT).unwrap();
        assert_eq!(trials.len(), 2);
        assert_eq!(trials[0].prompt_tps, 5848.006);
        assert_eq!(trials[1].generation_tps, 206.626);
        assert_eq!(trials[0].peak_memory_bytes, Some(0.001e9));
        assert_eq!(trials[1].total_time_s, Some(0.050));
    }

    #[test]
    fn damage_is_named_with_its_line() {
        assert!(parse("Running warmup..\n")
            .unwrap_err()
            .contains("no `Trial N:`"));
        let err = parse("Trial 1:  prompt_tps=abc, generation_tps=1.0").unwrap_err();
        assert!(err.contains("line 1") && err.contains("`abc`"), "{err}");
        let err = parse("Trial 1:  generation_tps=1.0").unwrap_err();
        assert!(err.contains("prompt_tps"), "{err}");
    }
}
