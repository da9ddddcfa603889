//! `bench model`: synthesize model folders.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bench_workloads::synth::{self, SynthOptions, WeightDType};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Write a real HF-layout folder (config.json, model.safetensors with seeded random
    /// weights, tokenizer.json) with the exact shapes of a known model; for FLUX presets, a
    /// folder laid out like black-forest-labs' (transformer, autoencoder, T5, CLIP, tokenizers).
    Synth {
        /// Which model's architecture (see `bench model presets`).
        #[arg(long)]
        preset: String,
        /// Folder to write (created; must not hold a model already).
        #[arg(long)]
        out: PathBuf,
        /// Weight dtype: f32, f16 or bf16.
        #[arg(long, default_value = "bf16")]
        dtype: WeightDType,
        /// Seed of the random weights; the same seed gives the same bytes.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// List the presets `bench model synth` and `synth:<preset>` accept.
    Presets,
}

pub fn run(cmd: ModelCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ModelCommand::Synth {
            preset,
            out,
            dtype,
            seed,
        } => {
            if let Some(flux) = bench_workloads::diffusion::synth::flux_preset(&preset) {
                if out.join("model_index.json").exists() {
                    anyhow::bail!(
                        "{} already holds a model (model_index.json); choose an empty folder",
                        out.display()
                    );
                }
                eprintln!(
                    "synthesizing {} ({dtype}, seed {seed}) into {}",
                    flux.name,
                    out.display()
                );
                let started = std::time::Instant::now();
                let parameters =
                    bench_workloads::diffusion::synth::synthesize_flux(flux, dtype, seed, &out)
                        .with_context(|| {
                            format!("synthesizing {} into {}", flux.name, out.display())
                        })?;
                match flux.on_disk {
                    true => outln!(
                        "{}: {parameters} parameters written in {:.1} s",
                        out.display(),
                        started.elapsed().as_secs_f64()
                    ),
                    false => outln!(
                        "{}: configs and tokenizers written; the weights are made in memory from seed {seed} when loaded",
                        out.display()
                    ),
                }
                return Ok(ExitCode::SUCCESS);
            }
            let preset = bench_workloads::catalog::llm_preset(&preset)?;
            if out.join("config.json").exists() {
                anyhow::bail!(
                    "{} already holds a model (config.json); choose an empty folder",
                    out.display()
                );
            }
            eprintln!(
                "synthesizing {} ({dtype}, seed {seed}) into {}",
                preset.name,
                out.display()
            );
            let report = synth::synthesize(preset, &SynthOptions { dtype, seed }, &out)
                .with_context(|| format!("synthesizing {} into {}", preset.name, out.display()))?;
            outln!(
                "{}: {} parameters, {:.1} MB written in {:.1} s",
                report.dir.display(),
                report.parameters,
                report.bytes_written as f64 / 1e6,
                report.seconds
            );
            Ok(ExitCode::SUCCESS)
        }
        ModelCommand::Presets => {
            for p in synth::presets() {
                outln!("{:<14} {}", p.name, p.summary);
            }
            for p in bench_workloads::diffusion::synth::flux_presets() {
                outln!("{:<14} {}", p.name, p.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
