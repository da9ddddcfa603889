//! What differs between the machines and engines of two runs, named for people: a gate refuses
//! a baseline from other hardware or another engine release unless forced.

use crate::environment::Environment;
use crate::store::Manifest;

/// Differences of hardware and OS (CPU or chip, cores, memory, GPUs, OS, architecture).
pub fn environment_differences(base: &Environment, current: &Environment) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{what}: {a} vs {b}"));
        }
    };
    differ("chip", base.cpu_model.clone(), current.cpu_model.clone());
    differ("architecture", base.arch.clone(), current.arch.clone());
    differ(
        "cores",
        cores(base.physical_cores, base.logical_cores),
        cores(current.physical_cores, current.logical_cores),
    );
    differ("memory", gib(base.memory_bytes), gib(current.memory_bytes));
    differ("GPUs", gpus(&base.gpus), gpus(&current.gpus));
    differ("OS", base.os.clone(), current.os.clone());
    out
}

fn cores(physical: Option<usize>, logical: usize) -> String {
    match physical {
        Some(p) => format!("{p} cores ({logical} logical)"),
        None => format!("{logical} logical cores"),
    }
}

fn gib(bytes: u64) -> String {
    format!("{} GiB", bytes / (1 << 30))
}

fn gpus(list: &[String]) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

/// Differences of engine, engine versions and model per target both runs have. The versions
/// of bench's in-process engine (candle) are part of bench's own build, which is what a gate
/// tests, so they are not compared.
pub fn engine_differences(base: &Manifest, current: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    for (target, b) in &base.engines {
        let Some(c) = current.engines.get(target) else {
            continue;
        };
        let field = |v: &serde_json::Value, key: &str| v[key].as_str().unwrap_or("").to_string();
        let (be, ce) = (field(b, "engine"), field(c, "engine"));
        if be != ce {
            out.push(format!("{target}: engine {be} vs {ce}"));
            continue;
        }
        if be != "candle" {
            let (bv, cv) = (versions(b), versions(c));
            if bv != cv {
                out.push(format!("{target}: versions {bv} vs {cv}"));
            }
        }
        let digest = |v: &serde_json::Value| v["model"]["digest"].as_str().map(str::to_string);
        if let (Some(bd), Some(cd)) = (digest(b), digest(c)) {
            if bd != cd {
                out.push(format!(
                    "{target}: model {} vs {} (weights or shapes differ)",
                    short(&bd),
                    short(&cd)
                ));
            }
        }
    }
    out
}

/// `name version` pairs of an engine record's `versions` list.
fn versions(engine: &serde_json::Value) -> String {
    let Some(list) = engine["versions"].as_array() else {
        return "unknown".into();
    };
    let pairs: Vec<String> = list
        .iter()
        .filter_map(|pair| {
            let name = pair.get(0)?.as_str()?;
            let version = pair.get(1)?.as_str()?;
            Some(format!("{name} {version}"))
        })
        .collect();
    if pairs.is_empty() {
        "unknown".into()
    } else {
        pairs.join(", ")
    }
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    hex.get(..12).unwrap_or(hex)
}
