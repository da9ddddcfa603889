//! Checks of `[[target]]`s: unique names, engines and devices this build can run, and what
//! each engine's own keys must hold. A key given to an engine that does not read it never
//! gets here: reading the table refuses it (`target_keys.rs`).

use std::collections::HashMap;
use std::ops::Range;

use super::target::{
    CandleKeys, DeviceKind, EngineKeys, EngineKind, MfluxKeys, MlxLmKeys, OpenaiKeys, Target,
};
use super::values::At;

/// Every problem of the suite's targets, in the order of the targets.
pub(super) fn check_targets(
    targets: &[Target],
    source: &str,
    at: &mut impl FnMut(Range<usize>, String),
) {
    let mut seen = HashMap::new();
    for target in targets {
        if let Some(first) = seen.insert(target.name.0.clone(), target.name.span.clone()) {
            let line = source[..first.start].matches('\n').count() + 1;
            at(
                target.name.span.clone(),
                format!(
                    "target name `{}` is already used on line {line}; target names must be unique",
                    target.name.value
                ),
            );
        }
        let engine = target.engine_kind();
        if !engine.is_available() {
            let available: Vec<_> = EngineKind::ALL
                .iter()
                .filter(|e| e.is_available())
                .map(|e| format!("\"{e}\""))
                .collect();
            at(
                target.engine.span.clone(),
                format!(
                    "engine `{engine}` is not available in this version of bench; allowed now: {}",
                    available.join(", ")
                ),
            );
        }
        match &target.engine.value {
            EngineKeys::Candle(keys) => check_candle(target, keys, at),
            EngineKeys::MlxLm(keys) => check_mlx_lm(keys, at),
            EngineKeys::Openai(keys) => check_openai(target, keys, at),
            EngineKeys::Exo(keys) => {
                if let Some(url) = keys.url.as_ref().filter(|u| !is_http(u)) {
                    at(
                        url.span.clone(),
                        format!("`{}` is not an http:// URL; exo's API is plain HTTP (default http://127.0.0.1:52415)", url.value),
                    );
                }
            }
            EngineKeys::Mflux(keys) => check_mflux(keys, at),
            EngineKeys::Command(_) => {}
        }
    }
}

fn is_http(url: &At<String>) -> bool {
    url.value.starts_with("http://")
}

/// A server's address, reached over plain HTTP.
fn check_server_url(url: &At<String>, at: &mut impl FnMut(Range<usize>, String)) {
    if !is_http(url) {
        at(
            url.span.clone(),
            format!("`{}` is not an http:// URL; servers are reached over plain HTTP (https is not supported)", url.value),
        );
    }
}

/// `server_device` names a device of this machine, so a server elsewhere cannot have one.
fn check_server_device(
    device: Option<&At<DeviceKind>>,
    url: Option<&At<String>>,
    at: &mut impl FnMut(Range<usize>, String),
) {
    let Some(device) = device else {
        return;
    };
    let remote = url.and_then(|u| {
        let url = reqwest::Url::parse(&u.value).ok()?;
        crate::net::remote_host(&url)
    });
    if let Some(host) = remote {
        at(
            device.span.clone(),
            format!("`server_device` names a device of this machine, but the server is on `{host}`; leave it out (its roofline figures then have no ceiling)"),
        );
    }
}

fn check_openai(target: &Target, keys: &OpenaiKeys, at: &mut impl FnMut(Range<usize>, String)) {
    match &keys.url {
        None => at(
            target.engine.span.clone(),
            "the openai engine needs `url`, the server's address (e.g. \"http://127.0.0.1:8080\")"
                .into(),
        ),
        Some(url) => check_server_url(url, at),
    }
    check_server_device(keys.server_device.as_ref(), keys.url.as_ref(), at);
}

fn check_mlx_lm(keys: &MlxLmKeys, at: &mut impl FnMut(Range<usize>, String)) {
    if let Some(url) = &keys.url {
        check_server_url(url, at);
    }
    check_server_device(keys.server_device.as_ref(), keys.url.as_ref(), at);
    if let Some(flag) = keys.mlx_lm_benchmark.as_ref().filter(|f| f.value) {
        if keys.url.is_some() {
            at(
                flag.span.clone(),
                "`mlx_lm_benchmark` runs mlx-lm's own benchmark on this machine's model folder: it needs `engine = \"mlx-lm\"` with no `url` (bench starts the server)".into(),
            );
        }
    }
}

fn check_mflux(keys: &MfluxKeys, at: &mut impl FnMut(Range<usize>, String)) {
    if let Some(q) = keys
        .quantize
        .as_ref()
        .filter(|q| ![3, 4, 5, 6, 8].contains(&q.value))
    {
        at(
            q.span.clone(),
            format!(
                "{} bits is not a quantization mflux has; allowed: 3, 4, 5, 6, 8",
                q.value
            ),
        );
    }
}

fn check_candle(target: &Target, keys: &CandleKeys, at: &mut impl FnMut(Range<usize>, String)) {
    if let Some(message) = device_unavailable(keys.device.value) {
        at(keys.device.span.clone(), message);
    }
    if let Some(preset) = target.model.strip_prefix("synth:") {
        let flux = bench_workloads::diffusion::synth::flux_preset(preset).is_some();
        if let (false, Err(e)) = (flux, bench_workloads::catalog::llm_preset(preset)) {
            at(target.model.span.clone(), e.to_string());
        }
    } else if target.model.trim().is_empty() {
        at(
            target.model.span.clone(),
            "the model is empty; give `synth:<preset>`, a folder, or a hub id".into(),
        );
    }
}

fn device_unavailable(device: DeviceKind) -> Option<String> {
    match device {
        DeviceKind::Cpu => None,
        DeviceKind::Metal if cfg!(feature = "metal") => None,
        DeviceKind::Cuda if cfg!(feature = "cuda") => None,
        DeviceKind::Metal => Some("this bench was built without Metal; rebuild with `--features metal` (macOS) or use \"cpu\"".into()),
        DeviceKind::Cuda => Some("this bench was built without CUDA; rebuild with `--features cuda` or use \"cpu\"".into()),
    }
}
