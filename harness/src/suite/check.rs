//! Checks that span several keys or depend on this build (duplicate names, engines and
//! devices this binary can run, parameters a workload kind needs); the targets' own in
//! `check_targets.rs`.

use std::collections::HashMap;
use std::path::Path;

use super::check_prompts::{check_prompts, draws_prompts};
use super::check_search::check_search;
use super::check_targets::check_targets;
use super::error::Problem;
use super::target::{EngineKeys, EngineKind, Target};
use super::types::{ArrivalKind, NodeSampler, PowerSection, SamplerKind, Suite, WorkloadKind};

/// Every problem of a parsed suite, in file order.
pub fn check(suite: &Suite, file: &Path, source: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut at = |span: std::ops::Range<usize>, msg: String| {
        problems.push(Problem::at(file, source, span, msg));
    };

    check_power(&suite.power, &mut at);
    check_power_nodes(suite, &mut at);
    if let Some(wait) = &suite.suite.wait_thermal {
        if matches!(
            suite.power.sampler.value,
            SamplerKind::None | SamplerKind::Nvml | SamplerKind::Rapl | SamplerKind::Prometheus
        ) || !suite.power.nodes.is_empty()
        {
            at(
                wait.span.clone(),
                format!(
                    "`wait_thermal` reads the thermal pressure macOS reports through powermetrics; [power] sampler \"{}\" reports none: use \"powermetrics\" or \"auto\", or leave `wait_thermal` out",
                    suite.power.sampler.value.as_str()
                ),
            );
        }
    }
    if suite.suite.wait_thermal_max_s.is_some() && suite.suite.wait_thermal.is_none() {
        if let Some(max) = &suite.suite.wait_thermal_max_s {
            at(
                max.span.clone(),
                "`wait_thermal_max_s` bounds `wait_thermal`, which is not set".into(),
            );
        }
    }

    check_targets(&suite.targets, source, &mut at);

    let mut seen = HashMap::new();
    for workload in &suite.workloads {
        if let Some(first) = seen.insert(workload.name.0.clone(), workload.name.span.clone()) {
            let line = source[..first.start].matches('\n').count() + 1;
            at(
                workload.name.span.clone(),
                format!("workload name `{}` is already used on line {line}; workload names must be unique", workload.name.value),
            );
        }
        let (llm_keys, image_keys) = workload_keys(workload);
        if let Some(depth) = workload
            .depth
            .as_ref()
            .filter(|d| d.value.values().iter().any(|&v| v > 0))
        {
            for target in suite.targets.iter().filter(|t| {
                !matches!(
                    t.engine_kind(),
                    EngineKind::Candle | EngineKind::Openai | EngineKind::MlxLm
                ) && !t.makes_images()
                    && workload.runs_on(&t.name.0)
            }) {
                at(
                    depth.span.clone(),
                    format!(
                        "`depth` (context already in the KV cache) is measured by the candle, openai and mlx-lm engines in this version; target `{}` uses engine `{}` (leave it out with `targets = [...]`)",
                        target.name.value, target.engine_kind()
                    ),
                );
            }
        }
        if let Some(turns) = &workload.turns {
            for message in super::turns::refusals(workload, &suite.targets) {
                at(turns.span.clone(), message);
            }
        }
        if let Some(slo) = &workload.slo {
            let bounds = slo.value.bounds();
            if bounds.is_empty() {
                at(
                    slo.span.clone(),
                    "`slo` names no bound; give any of ttft_s, ttfat_s, tpot_s, itl_p99_s, e2e_s (seconds)".into(),
                );
            }
            for (name, bound) in bounds {
                if !(bound.is_finite() && bound > 0.0) {
                    at(
                        slo.span.clone(),
                        format!("slo `{name}` = {bound}: a bound is a positive number of seconds"),
                    );
                }
            }
        }
        if let Some(names) = &workload.targets {
            let known: Vec<String> = suite.targets.iter().map(|t| t.name.0.clone()).collect();
            for name in &names.value {
                if !known.contains(name) {
                    at(
                        names.span.clone(),
                        format!(
                            "`targets` names `{name}`, which is not a target of this suite; targets: {}",
                            known.join(", ")
                        ),
                    );
                }
            }
            if names.value.is_empty() {
                at(
                    names.span.clone(),
                    "`targets` is empty; leave it out to run the workload on every target".into(),
                );
            }
        }
        let on: Vec<&Target> = suite
            .targets
            .iter()
            .filter(|t| t.makes_images() == (workload.kind.value == WorkloadKind::Diffusion))
            .filter(|t| workload.runs_on(&t.name.0))
            .collect();
        match workload.kind.value {
            WorkloadKind::Diffusion => {
                for (key, span) in llm_keys {
                    at(span, format!("`{key}` is for llm workloads; a diffusion workload has `width`, `height`, `steps`, `guidance`, `batch`, `seed`, `prompt`, `save_images`"));
                }
                for (key, value) in [
                    ("width", &workload.width),
                    ("height", &workload.height),
                    ("steps", &workload.steps),
                ] {
                    if value.is_none() {
                        at(workload.name.span.clone(), format!("a diffusion workload needs `{key}` (a positive integer or a list of them)"));
                    }
                }
                for size in [&workload.width, &workload.height].into_iter().flatten() {
                    if let Some(bad) = size.values().iter().find(|v| !v.is_multiple_of(16)) {
                        at(size.span.clone(), format!("{bad} is not a multiple of 16; FLUX works on 16×16 pixel patches (allowed: 256, 512, 1024, ...)"));
                    }
                }
                if on.is_empty() {
                    at(workload.kind.span.clone(), "no target makes images: give a target a FLUX model (`synth:flux-tiny`, `synth:flux-dev`, or a FLUX folder)".into());
                }
                for target in &on {
                    if !matches!(
                        target.engine_kind(),
                        EngineKind::Candle | EngineKind::Mflux | EngineKind::Exo
                    ) {
                        at(target.engine.span.clone(), format!("engine `{}` makes no images in this version of bench; allowed for diffusion: \"candle\", \"mflux\", \"exo\"", target.engine_kind()));
                    }
                    if target.engine_kind() == EngineKind::Exo {
                        for (w, h) in workload
                            .width
                            .iter()
                            .flat_map(|w| w.values())
                            .flat_map(|w| {
                                workload
                                    .height
                                    .iter()
                                    .flat_map(|h| h.values())
                                    .map(move |h| (*w, *h))
                            })
                        {
                            if !bench_workloads::serving::exo::images::SIZES
                                .contains(&(w as usize, h as usize))
                            {
                                let span = workload
                                    .width
                                    .as_ref()
                                    .map_or(workload.name.span.clone(), |v| v.span.clone());
                                at(span, format!("exo makes images of 512x512, 768x768, 1024x768, 768x1024, 1024x1024, 1024x1536 and 1536x1024 only, not {w}x{h} (target {})", target.name.value));
                            }
                        }
                    }
                }
            }
            WorkloadKind::Llm => {
                for (key, span) in image_keys {
                    at(span, format!("`{key}` is for diffusion workloads"));
                }
                if on.is_empty() {
                    at(
                        workload.kind.span.clone(),
                        "no target generates text: every target's model makes images".into(),
                    );
                }
                check_prompts(workload, &mut at);
                if workload.gen_tokens.is_none() && workload.prompts.is_none() {
                    at(
                        workload.name.span.clone(),
                        "an llm workload needs `gen_tokens` (a positive integer or a list of them)"
                            .into(),
                    );
                }
                check_search(workload, &mut at);
                if workload.is_load() {
                    let candle: Vec<_> = suite
                        .targets
                        .iter()
                        .filter(|t| t.engine_kind() == EngineKind::Candle && !t.makes_images())
                        .map(|t| t.name.value.to_string())
                        .collect();
                    let search = workload.rate.as_ref().filter(|r| r.value.is_search());
                    if let (Some(rate), false) = (search, candle.is_empty()) {
                        at(
                            rate.span.clone(),
                            format!(
                                "`rate = \"search\"` sends requests at rising rates to find the most a server sustains; the candle engine runs one request at a time in-process (target {}), so it cannot be searched: use a server engine, \"openai\" or \"mlx-lm\"",
                                candle.join(", ")
                            ),
                        );
                    } else if !candle.is_empty() {
                        at(
                            workload.load_span(),
                            format!(
                                "the candle engine runs one request at a time (target {}); load patterns (`concurrency` above 1, `rate`, `requests`, `duration_s`, `warmup_requests`) need a server engine: \"openai\" or \"mlx-lm\"",
                                candle.join(", ")
                            ),
                        );
                    }
                }
                if let (Some(_), Some(duration)) = (&workload.requests, &workload.duration_s) {
                    at(
                        duration.span.clone(),
                        "give either `requests` or `duration_s`, not both".into(),
                    );
                }
                if workload.rate.is_none() {
                    if let Some(arrival) = &workload.arrival {
                        at(
                            arrival.span.clone(),
                            "`arrival` only applies with a `rate` (requests per second)".into(),
                        );
                    }
                }
                if let Some(seed) = &workload.seed {
                    let poisson = workload.rate.is_some()
                        && workload
                            .arrival
                            .as_ref()
                            .is_none_or(|a| a.value == ArrivalKind::Poisson);
                    if !poisson && !draws_prompts(workload) {
                        at(
                            seed.span.clone(),
                            "`seed` only applies to `arrival = \"poisson\"` with a `rate`, to prompt lengths drawn from a distribution, and to `prompt_order = \"random\"`".into(),
                        );
                    }
                }
            }
        }
    }
    problems
}

/// The keys `workload` sets that belong to llm workloads, and those that belong to diffusion.
type Keys = Vec<(&'static str, std::ops::Range<usize>)>;
fn workload_keys(w: &super::types::Workload) -> (Keys, Keys) {
    let llm = [
        (
            "prompt_tokens",
            w.prompt_tokens.as_ref().map(|v| v.span.clone()),
        ),
        ("prompts", w.prompts.as_ref().map(|v| v.span.clone())),
        (
            "prompt_order",
            w.prompt_order.as_ref().map(|v| v.span.clone()),
        ),
        (
            "gen_tokens",
            w.gen_tokens.as_ref().map(|_| w.name.span.clone()),
        ),
        (
            "concurrency",
            w.concurrency.as_ref().map(|v| v.span.clone()),
        ),
        ("rate", w.rate.as_ref().map(|v| v.span.clone())),
        ("arrival", w.arrival.as_ref().map(|v| v.span.clone())),
        ("requests", w.requests.as_ref().map(|v| v.span.clone())),
        ("duration_s", w.duration_s.as_ref().map(|v| v.span.clone())),
        (
            "warmup_requests",
            w.warmup_requests.as_ref().map(|v| v.span.clone()),
        ),
        ("slo", w.slo.as_ref().map(|v| v.span.clone())),
        (
            "target_attainment",
            w.target_attainment.as_ref().map(|v| v.span.clone()),
        ),
        (
            "search_max_requests",
            w.search_max_requests.as_ref().map(|v| v.span.clone()),
        ),
        (
            "search_max_s",
            w.search_max_s.as_ref().map(|v| v.span.clone()),
        ),
        (
            "search_start_rps",
            w.search_start_rps.as_ref().map(|v| v.span.clone()),
        ),
        ("depth", w.depth.as_ref().map(|v| v.span.clone())),
        ("turns", w.turns.as_ref().map(|v| v.span.clone())),
    ];
    let image = [
        ("width", w.width.as_ref().map(|v| v.span.clone())),
        ("height", w.height.as_ref().map(|v| v.span.clone())),
        ("steps", w.steps.as_ref().map(|v| v.span.clone())),
        ("guidance", w.guidance.as_ref().map(|v| v.span.clone())),
        ("batch", w.batch.as_ref().map(|v| v.span.clone())),
        ("prompt", w.prompt.as_ref().map(|_| w.name.span.clone())),
        (
            "save_images",
            w.save_images.as_ref().map(|_| w.name.span.clone()),
        ),
    ];
    let set = |keys: &[(&'static str, Option<std::ops::Range<usize>>)]| {
        keys.iter()
            .filter_map(|(k, s)| s.clone().map(|s| (*k, s)))
            .collect()
    };
    (set(&llm), set(&image))
}

/// `url` and `metrics` belong to the samplers that read them, and those need them.
fn check_power(power: &PowerSection, at: &mut impl FnMut(std::ops::Range<usize>, String)) {
    let sampler = power.sampler.value;
    if let Some(url) = &power.url {
        if !matches!(
            sampler,
            SamplerKind::Prometheus | SamplerKind::Macmon | SamplerKind::Exo
        ) {
            at(
                url.span.clone(),
                format!(
                    "`url` is read only by the \"prometheus\", \"macmon\" and \"exo\" samplers, not by \"{}\"",
                    sampler.as_str()
                ),
            );
        } else if !url.value.starts_with("http://") {
            at(
                url.span.clone(),
                format!(
                    "`{}` is not an http:// URL; power endpoints are read over plain HTTP (https is not supported)",
                    url.value
                ),
            );
        }
    }
    match (&power.metrics, sampler) {
        (Some(metrics), SamplerKind::Prometheus) if metrics.value.is_empty() => at(
            metrics.span.clone(),
            "`metrics` is empty; name at least one power or energy metric".into(),
        ),
        (Some(metrics), s) if s != SamplerKind::Prometheus => at(
            metrics.span.clone(),
            format!(
                "`metrics` is read only by the \"prometheus\" sampler, not by \"{}\"",
                s.as_str()
            ),
        ),
        _ => {}
    }
    if sampler == SamplerKind::Prometheus {
        let missing: Vec<&str> = [
            ("url", power.url.is_none()),
            ("metrics", power.metrics.is_none()),
        ]
        .into_iter()
        .filter(|(_, missing)| *missing)
        .map(|(key, _)| key)
        .collect();
        if !missing.is_empty() {
            at(
                power.sampler.span.clone(),
                format!(
                    "the \"prometheus\" sampler needs {} in [power], e.g. url = \"http://gpu-host:9400/metrics\", metrics = [\"DCGM_FI_DEV_POWER_USAGE\"]",
                    missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
                ),
            );
        }
    }
}

/// `[[power.nodes]]`: unique names and endpoints, an endpoint for each measured node, and no
/// suite-wide sampler beside them; `sampler = "exo"` needs an exo API to read.
fn check_power_nodes(suite: &Suite, at: &mut impl FnMut(std::ops::Range<usize>, String)) {
    let power = &suite.power;
    if power.sampler.value == SamplerKind::Exo
        && power.url.is_none()
        && !suite
            .targets
            .iter()
            .any(|t| matches!(&t.engine.value, EngineKeys::Exo(exo) if exo.url.is_some()))
    {
        at(
            power.sampler.span.clone(),
            "the \"exo\" sampler reads exo's /state: give [power] a `url` (\"http://studio-1.local:52415\") or add an exo target with one".into(),
        );
    }
    let Some(first) = power.nodes.first() else {
        return;
    };
    if !matches!(power.sampler.value, SamplerKind::Auto) || power.url.is_some() {
        at(
            first.name.span.clone(),
            "[[power.nodes]] gives each node its own sampler; leave `sampler` and `url` out of [power] (found beside them)".into(),
        );
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut hosts: HashMap<String, &str> = HashMap::new();
    for (i, node) in power.nodes.iter().enumerate() {
        if let Some(j) = names.insert(&node.name.value.0, i) {
            at(
                node.name.span.clone(),
                format!(
                    "node `{}` is listed twice in [[power.nodes]] (entries {} and {}); node names must be unique",
                    node.name.value, j + 1, i + 1
                ),
            );
        }
        let sampler = node.sampler.value;
        match (&node.url, sampler) {
            (None, NodeSampler::Macmon | NodeSampler::Prometheus) => at(
                node.sampler.span.clone(),
                format!(
                    "node `{}`: the \"{}\" sampler needs `url`, its endpoint (e.g. \"http://{}:{}\")",
                    node.name.value,
                    sampler.as_str(),
                    node.name.value,
                    if sampler == NodeSampler::Macmon { "9090" } else { "9464/metrics" }
                ),
            ),
            (Some(url), NodeSampler::None) => at(
                url.span.clone(),
                format!("node `{}` has sampler \"none\": `url` is not read", node.name.value),
            ),
            (Some(url), _) if !url.value.starts_with("http://") => at(
                url.span.clone(),
                format!(
                    "`{}` is not an http:// URL; power endpoints are read over plain HTTP (https is not supported)",
                    url.value
                ),
            ),
            (Some(url), _) => {
                // Two nodes on one endpoint would count one machine twice.
                let host = url.value["http://".len()..]
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if let Some(other) = hosts.insert(host, &node.name.value.0) {
                    at(
                        url.span.clone(),
                        format!(
                            "node `{}` reads the same endpoint as node `{other}` ({}); each node needs its own",
                            node.name.value, url.value
                        ),
                    );
                }
            }
            (None, NodeSampler::None) => {}
        }
        if let Some(metrics) = &node.metrics {
            if sampler != NodeSampler::Prometheus {
                at(
                    metrics.span.clone(),
                    format!(
                        "`metrics` is read only by the \"prometheus\" sampler, not by \"{}\"",
                        sampler.as_str()
                    ),
                );
            }
        }
        if let (Some(token), NodeSampler::None) = (&node.token_file, sampler) {
            at(
                token.span.clone(),
                format!(
                    "node `{}` has sampler \"none\": `token_file` is not read",
                    node.name.value
                ),
            );
        }
    }
}
