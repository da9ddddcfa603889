//! `bench hw`: what bench detects about this machine and which hardware-table row it uses.

use std::process::ExitCode;

use clap::Args;

use crate::environment::Environment;
use crate::hardware::table::{Figure, BUILTIN_PATH};
use crate::hardware::{Hardware, Match, Row, Table};

#[derive(Debug, Args)]
pub struct HwArgs {
    /// Print JSON (`environment`, `hardware` with facts and matches, and the matched `rows`)
    /// instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: HwArgs) -> anyhow::Result<ExitCode> {
    let table = Table::builtin()?;
    let env = Environment::probe();
    let hw = Hardware::probe(&env, &table);
    let rows: Vec<&Row> = hw
        .matches
        .iter()
        .filter_map(|m| m.row().and_then(|id| table.row(id)))
        .collect();
    if args.json {
        let value = serde_json::json!({
            "environment": env,
            "hardware": hw,
            "rows": rows,
            "table": BUILTIN_PATH,
        });
        outln!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_text(&env, &hw, &table);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(env: &Environment, hw: &Hardware, table: &Table) {
    let facts = &hw.facts;
    outln!("machine");
    let chip = facts.chip.as_deref().unwrap_or(&env.cpu_model);
    outln!("  chip/CPU   {chip} ({} logical CPUs)", env.logical_cores);
    for level in &facts.perf_levels {
        let cpus = level.logical_cpus.map_or("?".into(), |n| n.to_string());
        outln!("             {} cores: {cpus}", level.name);
    }
    let bytes = facts.memory_bytes.unwrap_or(env.memory_bytes);
    outln!(
        "  memory     {:.1} GiB",
        bytes as f64 / f64::from(1u32 << 30)
    );
    let build = facts
        .os_build
        .as_ref()
        .map_or(String::new(), |b| format!(", build {b}"));
    outln!(
        "  OS         {}{build}, kernel {}, {}",
        env.os,
        env.kernel,
        env.arch
    );
    if let Some(mac) = &facts.mac {
        let unknown = || "unknown".to_string();
        outln!(
            "  Mac        {} {}",
            mac.machine_name.clone().unwrap_or_else(unknown),
            mac.machine_model.clone().unwrap_or_else(unknown)
        );
        outln!(
            "  GPU        {}, {} cores, Metal family {}",
            mac.gpu_model.clone().unwrap_or_else(unknown),
            mac.gpu_cores.map_or_else(unknown, |c| c.to_string()),
            mac.metal_family.clone().unwrap_or_else(unknown)
        );
    }
    if let Some(units) = &facts.matrix_units {
        let present = match units.present {
            Some(true) => "present (Neural Accelerators in the GPU cores)",
            Some(false) => "none in this GPU",
            None => "unknown",
        };
        let arch = match (&units.architecture, &units.reported_by) {
            (Some(a), Some(by)) => format!("; architecture {a} ({by})"),
            (Some(a), None) => format!("; architecture {a}"),
            _ => String::new(),
        };
        outln!(
            "  matrix     GPU matrix units {present}; used by an engine: {}{arch}",
            units.used
        );
    }
    match &facts.nvidia {
        Some(nv) => {
            outln!(
                "  NVIDIA     driver {}, CUDA {}",
                nv.driver
                    .as_deref()
                    .unwrap_or("unknown (NVML did not load)"),
                nv.cuda.as_deref().unwrap_or("unknown")
            );
            for (i, gpu) in nv.gpus.iter().enumerate() {
                let memory = gpu
                    .memory_mib
                    .map_or(String::new(), |m| format!(", {m} MiB"));
                let cc = gpu
                    .compute_capability
                    .as_ref()
                    .map_or(String::new(), |c| format!(", compute capability {c}"));
                outln!("  gpu{i}       {}{memory}{cc}", gpu.name);
            }
        }
        None if facts.mac.is_none() => outln!("  GPU        none found (no NVIDIA driver or GPU)"),
        None => {}
    }
    outln!();
    outln!("table ({BUILTIN_PATH}, {} rows)", table.rows.len());
    if hw.matches.is_empty() {
        outln!("  nothing detected to match");
    }
    for m in &hw.matches {
        match m {
            Match::Row { device, row } => match table.row(row) {
                Some(r) => print_row(device, r),
                None => outln!("  {device}: row {row} (not in this table)"),
            },
            Match::Ambiguous {
                device,
                rows,
                reason,
            } => outln!("  {device}: one of {} ({reason})", rows.join(", ")),
            Match::NoRow { device } => outln!(
                "  no row in the table for {device} (it holds Apple M1–M5 chips and NVIDIA data-centre and GeForce GPUs)"
            ),
        }
    }
}

fn print_row(device: &str, r: &Row) {
    outln!("  {device}: row {} ({})", r.id, r.name);
    print_figure("memory bandwidth", "GB/s", &r.bandwidth);
    print_figure("FP16/BF16 matrix", "TFLOP/s dense", &r.matrix);
    let cores: Vec<String> = r.gpu_cores.iter().map(u32::to_string).collect();
    let memory: Vec<String> = r.memory_gb.iter().map(u32::to_string).collect();
    outln!(
        "    GPU cores {}; memory {} GB (source: {})",
        cores.join(" or "),
        memory.join(", "),
        r.specs_source
    );
    if let Some(note) = &r.note {
        outln!("    note: {note}");
    }
}

fn print_figure(what: &str, unit: &str, f: &Figure) {
    let note = f.note.as_ref().map_or(String::new(), |n| format!("; {n}"));
    match f.value {
        Some(v) => {
            let precision = f
                .precision
                .as_ref()
                .map_or(String::new(), |p| format!(", {p}"));
            outln!(
                "    {what:<17} {v} {unit}{precision} ({:?}: {}{note})",
                f.confidence,
                f.source.as_deref().unwrap_or("no source")
            );
        }
        None => outln!(
            "    {what:<17} not in the table{}",
            f.note.as_ref().map_or(String::new(), |n| format!(": {n}"))
        ),
    }
}
