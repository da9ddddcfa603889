//! The plan: a suite expanded into cases (target × workload × parameter grid), each run
//! `warmup` times unmeasured and then `repetitions` times measured.

use bench_workloads::load::{Arrival, LoadPattern, Stop};
use bench_workloads::prompts::LengthDist;
use serde::{Deserialize, Serialize};

use crate::rate_search::{self, SearchSpec};
use crate::suite::{ArrivalKind, PromptLengths, PromptOrder, Suite, Workload, WorkloadKind};

/// Everything a suite asks to run, in the order it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Cases grouped by target (so each model loads once), then in suite order.
    pub cases: Vec<Case>,
}

/// One point of the grid on one target.
///
/// Stored in manifests in the flat layout of earlier versions (`params`, `load`, `image`,
/// `slo`, `search`, `prompts` side by side; see [`CaseFile`]), so that runs written before and
/// after read alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "CaseFile", into = "CaseFile")]
pub struct Case {
    /// Stable identifier: `<target>/<workload>/p<prompt>-g<gen>-c<concurrency>`, with
    /// `-r<rate>` for open-loop patterns (and no `-c` when they have no concurrency cap), and
    /// `-n<nodes>` for cluster targets.
    pub id: String,
    /// Name of the `[[target]]`.
    pub target: String,
    /// Name of the `[[workload]]`.
    pub workload: String,
    /// What each repetition does: generate text, or make images.
    pub work: Work,
    /// Unmeasured runs first.
    pub warmup: u32,
    /// Measured runs.
    pub repetitions: u32,
    /// Cluster size the case runs on (exo targets).
    pub nodes: Option<u32>,
}

/// The planned work of one case, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Text generation (an llm workload).
    Text(TextWork),
    /// Image generation (a diffusion workload).
    Image(ImageParams),
}

/// The work of a text case: the point of the grid and how its requests are sent.
#[derive(Debug, Clone, PartialEq)]
pub struct TextWork {
    /// The parameters of this point.
    pub params: LlmParams,
    /// The arrival pattern each repetition runs; `None`: one request per repetition.
    pub load: Option<LoadPattern>,
    /// The service-level objectives each request is held to (the workload's `slo`).
    pub slo: Option<crate::suite::Slo>,
    /// `rate = "search"`: how the search for the highest rate within `slo` runs. `load` is
    /// then the pattern of its first probe; each probe runs it at the probe's rate.
    pub search: Option<SearchSpec>,
    /// Where each request's prompt comes from when it is not `params.prompt_tokens` tokens
    /// built by bench (`params.prompt_tokens` is then 0): a prompt file, or lengths drawn
    /// from a distribution.
    pub prompts: Option<PromptSource>,
}

/// The parameters records of an image case carry: no prompt, no generated tokens, one
/// request at a time (the layout of [`LlmParams`] has no room for image work).
const IMAGE_CASE_PARAMS: LlmParams = LlmParams {
    prompt_tokens: 0,
    gen_tokens: 0,
    concurrency: 1,
    rate_rps: None,
    depth: 0,
    turns: 0,
};

impl Case {
    /// The text work of a text case.
    pub fn text(&self) -> Option<&TextWork> {
        match &self.work {
            Work::Text(text) => Some(text),
            Work::Image(_) => None,
        }
    }

    /// The image request of an image case.
    pub fn image(&self) -> Option<&ImageParams> {
        match &self.work {
            Work::Image(image) => Some(image),
            Work::Text(_) => None,
        }
    }

    /// The arrival pattern each repetition of a text case runs; `None` for one request per
    /// repetition, and for image cases.
    pub fn load(&self) -> Option<&LoadPattern> {
        self.text()?.load.as_ref()
    }

    /// The parameters stored with each of the case's records: a text case's own, zeros for
    /// an image case (their layout predates image cases).
    pub fn stored_params(&self) -> LlmParams {
        match &self.work {
            Work::Text(text) => text.params,
            Work::Image(_) => IMAGE_CASE_PARAMS,
        }
    }
}

/// A [`Case`] as stored in manifests: every kind's fields side by side, those of the other
/// kind absent (`params` of an image case holds zeros).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CaseFile {
    id: String,
    target: String,
    workload: String,
    params: LlmParams,
    warmup: u32,
    repetitions: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    load: Option<LoadPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nodes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<ImageParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slo: Option<crate::suite::Slo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    search: Option<SearchSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prompts: Option<PromptSource>,
}

impl From<CaseFile> for Case {
    fn from(file: CaseFile) -> Self {
        let work = match file.image {
            Some(image) => Work::Image(image),
            None => Work::Text(TextWork {
                params: file.params,
                load: file.load,
                slo: file.slo,
                search: file.search,
                prompts: file.prompts,
            }),
        };
        Self {
            id: file.id,
            target: file.target,
            workload: file.workload,
            work,
            warmup: file.warmup,
            repetitions: file.repetitions,
            nodes: file.nodes,
        }
    }
}

impl From<Case> for CaseFile {
    fn from(case: Case) -> Self {
        let params = case.stored_params();
        let (text, image) = match case.work {
            Work::Text(text) => (Some(text), None),
            Work::Image(image) => (None, Some(image)),
        };
        let text = text.as_ref();
        Self {
            id: case.id,
            target: case.target,
            workload: case.workload,
            params,
            warmup: case.warmup,
            repetitions: case.repetitions,
            load: text.and_then(|t| t.load),
            nodes: case.nodes,
            image,
            slo: text.and_then(|t| t.slo),
            search: text.and_then(|t| t.search),
            prompts: text.and_then(|t| t.prompts.clone()),
        }
    }
}

/// Where a case's prompts come from, request by request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum PromptSource {
    /// A user's prompt file.
    File {
        /// The path as the suite gives it (relative to the suite file's folder).
        path: String,
        /// The order its prompts are sent in.
        order: PromptOrder,
        /// Seed of the `random` order.
        seed: u64,
    },
    /// Lengths drawn from a distribution, prompts built to each by bench.
    Drawn {
        /// The distribution.
        lengths: LengthDist,
        /// Seed of the draws.
        seed: u64,
    },
}

impl PromptSource {
    /// The prompt part of case ids: `pfile`, `plognormal-m512-sd128`.
    fn label(&self) -> String {
        match self {
            PromptSource::File { .. } => "pfile".into(),
            PromptSource::Drawn { lengths, .. } => format!("p{}", lengths.label()),
        }
    }
}

/// The prompt points of an llm workload: a length bench builds prompts to, or a source of
/// prompts request by request (with length 0).
fn prompt_points(workload: &Workload) -> Vec<(u32, Option<PromptSource>)> {
    let seed = workload.seed.as_ref().map_or(0, |s| s.value);
    if let Some(path) = &workload.prompts {
        let order = workload
            .prompt_order
            .as_ref()
            .map(|o| o.value)
            .unwrap_or_default();
        return vec![(
            0,
            Some(PromptSource::File {
                path: path.value.clone(),
                order,
                seed,
            }),
        )];
    }
    match workload.prompt_tokens.as_ref().map(|p| &p.value) {
        Some(PromptLengths::Swept(grid)) => grid.values().iter().map(|&n| (n, None)).collect(),
        Some(PromptLengths::Drawn(lengths)) => vec![(
            0,
            Some(PromptSource::Drawn {
                lengths: *lengths,
                seed,
            }),
        )],
        None => Vec::new(),
    }
}

#[cfg(test)]
impl Case {
    /// A one-request text case `<target>/<workload>/p8-g2-c1` with `repetitions`, for tests.
    pub(crate) fn example(target: &str, workload: &str, repetitions: u32) -> Self {
        Self {
            id: format!("{target}/{workload}/p8-g2-c1"),
            target: target.into(),
            workload: workload.into(),
            work: Work::Text(TextWork {
                params: LlmParams {
                    prompt_tokens: 8,
                    gen_tokens: 2,
                    concurrency: 1,
                    rate_rps: None,
                    depth: 0,
                    turns: 0,
                },
                load: None,
                slo: None,
                search: None,
                prompts: None,
            }),
            warmup: 0,
            repetitions,
            nodes: None,
        }
    }

    /// The text work of a text case, to change in tests.
    ///
    /// # Panics
    /// On an image case.
    pub(crate) fn text_mut(&mut self) -> &mut TextWork {
        match &mut self.work {
            Work::Text(text) => text,
            Work::Image(_) => panic!("{} is not a text case", self.id),
        }
    }
}

/// Parameters of one image case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageParams {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Denoising steps.
    pub steps: u32,
    /// Images per request.
    pub batch: u32,
    /// Guidance strength.
    pub guidance: f64,
    /// Seed of the starting noise.
    pub seed: u64,
    /// The prompt.
    pub prompt: String,
    /// Whether each image is saved as PNG.
    pub save: bool,
}

/// The prompt of diffusion workloads that give none (the one candle's FLUX example uses).
pub const DEFAULT_IMAGE_PROMPT: &str = "a rusty robot walking on a beach holding a small torch, the robot has the word rust written on it, high quality, 4k";

/// Guidance of diffusion workloads that give none (FLUX.1-dev's usual value).
pub const DEFAULT_GUIDANCE: f64 = 3.5;

/// The cases of a diffusion `workload` on an image `target`: width × height × steps × batch.
fn image_cases(
    cases: &mut Vec<Case>,
    suite: &Suite,
    target: &crate::suite::Target,
    workload: &Workload,
    nodes: Option<u32>,
) {
    let (Some(widths), Some(heights), Some(steps)) =
        (&workload.width, &workload.height, &workload.steps)
    else {
        return;
    };
    let batches = workload
        .batch
        .as_ref()
        .map_or(vec![1], |b| b.values().to_vec());
    for &width in widths.values() {
        for &height in heights.values() {
            for &steps in steps.values() {
                for &batch in &batches {
                    cases.push(Case {
                        id: format!(
                            "{}/{}/{width}x{height}-s{steps}-b{batch}{}",
                            target.name.value,
                            workload.name.value,
                            nodes.map_or(String::new(), |n| format!("-n{n}"))
                        ),
                        target: target.name.value.to_string(),
                        workload: workload.name.value.to_string(),
                        warmup: workload.warmup.unwrap_or(suite.suite.warmup),
                        repetitions: workload.repetitions.unwrap_or(suite.suite.repetitions).0,
                        nodes,
                        work: Work::Image(ImageParams {
                            width,
                            height,
                            steps,
                            batch,
                            guidance: workload
                                .guidance
                                .as_ref()
                                .map_or(DEFAULT_GUIDANCE, |g| g.value),
                            seed: workload.seed.as_ref().map_or(0, |s| s.value),
                            prompt: workload
                                .prompt
                                .clone()
                                .unwrap_or_else(|| DEFAULT_IMAGE_PROMPT.into()),
                            save: workload.save_images.unwrap_or(false),
                        }),
                    });
                }
            }
        }
    }
}

/// Parameters of one LLM case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LlmParams {
    /// Exact prompt length in tokens; 0 where each request has a prompt of its own (the case's
    /// `prompts`).
    pub prompt_tokens: u32,
    /// Exact number of generated tokens; with a prompt file, for prompts whose line gives no
    /// `max_tokens` (0: every line gives one).
    pub gen_tokens: u32,
    /// Requests in flight at once (with a rate: the most in flight; 0 for no limit).
    pub concurrency: u32,
    /// Requests per second of an open-loop pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_rps: Option<f64>,
    /// Context already in the KV cache before the measured prompt, tokens.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u32,
    /// Turns of each conversation (a repetition is one conversation); 0: requests of their own.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub turns: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Requests per repetition when the suite does not say: 10 per worker, or 10 seconds' worth
/// at the rate.
const DEFAULT_REQUESTS_PER_SLOT: u32 = 10;
const DEFAULT_RATE_SECONDS: f64 = 10.0;

/// The load pattern of one point of `workload`, or `None` for one request per repetition.
fn load_pattern(workload: &Workload, concurrency: u32, rate: Option<f64>) -> Option<LoadPattern> {
    if !workload.is_load() {
        return None;
    }
    let arrival = match rate {
        None => Arrival::Closed,
        Some(rate) => match workload
            .arrival
            .as_ref()
            .map(|a| a.value)
            .unwrap_or_default()
        {
            ArrivalKind::Constant => Arrival::Constant { rate },
            ArrivalKind::Poisson => Arrival::Poisson {
                rate,
                seed: workload.seed.as_ref().map_or(0, |s| s.value),
            },
        },
    };
    let stop = match (&workload.requests, &workload.duration_s) {
        (Some(n), _) => Stop::Requests(n.value.0),
        (None, Some(d)) => Stop::DurationS(d.value.0),
        (None, None) => Stop::Requests(match rate {
            None => DEFAULT_REQUESTS_PER_SLOT.saturating_mul(concurrency.max(1)),
            Some(rate) => {
                ((rate * DEFAULT_RATE_SECONDS).ceil() as u32).max(DEFAULT_REQUESTS_PER_SLOT)
            }
        }),
    };
    Some(LoadPattern {
        arrival,
        concurrency: (concurrency > 0).then_some(concurrency),
        stop,
        warmup_requests: workload.warmup_requests.as_ref().map_or(0, |w| w.value),
    })
}

/// The search a workload with `rate = "search"` runs, its keys' defaults filled in.
fn search_spec(workload: &Workload) -> Option<SearchSpec> {
    workload.rate.as_ref().filter(|r| r.value.is_search())?;
    Some(SearchSpec {
        target_attainment: workload
            .target_attainment
            .as_ref()
            .map_or(rate_search::DEFAULT_TARGET_ATTAINMENT, |t| t.value),
        start_rps: workload
            .search_start_rps
            .as_ref()
            .map_or(rate_search::DEFAULT_START_RPS, |s| s.value),
        max_requests: workload
            .search_max_requests
            .as_ref()
            .map_or(rate_search::DEFAULT_MAX_REQUESTS, |m| m.value.0),
        max_s: workload
            .search_max_s
            .as_ref()
            .map_or(rate_search::DEFAULT_MAX_S, |m| m.value.0),
        requests: workload.requests.as_ref().map(|n| n.value.0),
        warmup_requests: workload.warmup_requests.as_ref().map_or(0, |w| w.value),
    })
}

/// `2`, `0.5`, `2.25`: a rate as short as it can be written, for case ids.
fn rate_label(rate: f64) -> String {
    let text = format!("{rate}");
    text.trim_end_matches(".0").to_string()
}

/// The cases of one target on one node count, in plan order: what one engine, once opened,
/// runs.
#[derive(Debug, Clone)]
pub struct CaseGroup<'a> {
    /// Name of the `[[target]]`.
    pub target: &'a str,
    /// Cluster size (exo targets with `nodes`).
    pub nodes: Option<u32>,
    /// The cases, in plan order.
    pub cases: Vec<&'a Case>,
}

impl Plan {
    /// The cases grouped by target and node count, groups in the order their first case
    /// comes (the order of the suite's targets, then of their node counts).
    pub fn groups(&self) -> Vec<CaseGroup<'_>> {
        let mut groups: Vec<CaseGroup<'_>> = Vec::new();
        for case in &self.cases {
            match groups
                .iter_mut()
                .find(|g| g.target == case.target && g.nodes == case.nodes)
            {
                Some(group) => group.cases.push(case),
                None => groups.push(CaseGroup {
                    target: &case.target,
                    nodes: case.nodes,
                    cases: vec![case],
                }),
            }
        }
        groups
    }

    /// Expand a checked suite.
    pub fn expand(suite: &Suite) -> Self {
        let mut cases = Vec::new();
        for target in &suite.targets {
            let node_counts: Vec<Option<u32>> = match target.nodes() {
                Some(nodes) => nodes.values().iter().copied().map(Some).collect(),
                None => vec![None],
            };
            for &nodes in &node_counts {
                for workload in &suite.workloads {
                    if !workload.runs_on(&target.name.value.to_string()) {
                        continue;
                    }
                    if target.makes_images() {
                        if workload.kind.value == WorkloadKind::Diffusion {
                            image_cases(&mut cases, suite, target, workload, nodes);
                        }
                        continue;
                    }
                    if workload.kind.value != WorkloadKind::Llm {
                        continue;
                    }
                    let prompts = prompt_points(workload);
                    // A prompt file may give every prompt its own `max_tokens`.
                    let gens = match &workload.gen_tokens {
                        Some(gens) => gens.values().to_vec(),
                        None if workload.prompts.is_some() => vec![0],
                        None => continue,
                    };
                    // With a rate and no cap, concurrency is unlimited (0).
                    let uncapped = if workload.rate.is_some() { 0 } else { 1 };
                    let concurrency = workload
                        .concurrency
                        .as_ref()
                        .map_or(vec![uncapped], |c| c.value.values().to_vec());
                    let search = search_spec(workload);
                    // A search's case runs its first probe's pattern; later probes change the rate.
                    let rates: Vec<Option<f64>> = match (&workload.rate, &search) {
                        (_, Some(spec)) => vec![Some(spec.start_rps)],
                        (Some(r), None) => r.values().iter().copied().map(Some).collect(),
                        (None, None) => vec![None],
                    };
                    let turns = workload.turns.as_ref().map_or(0, |t| t.value.0);
                    let depths = workload
                        .depth
                        .as_ref()
                        .map_or(vec![0], |d| d.value.values().to_vec());
                    for (prompt_tokens, source) in &prompts {
                        let prompt_tokens = *prompt_tokens;
                        for (&gen_tokens, &depth) in
                            gens.iter().flat_map(|g| depths.iter().map(move |d| (g, d)))
                        {
                            for (&concurrency, &rate_rps) in concurrency
                                .iter()
                                .flat_map(|c| rates.iter().map(move |r| (c, r)))
                            {
                                let params = LlmParams {
                                    prompt_tokens,
                                    gen_tokens,
                                    concurrency,
                                    // A search has no one rate: each probe has its own.
                                    rate_rps: rate_rps.filter(|_| search.is_none()),
                                    depth,
                                    turns,
                                };
                                let rate_id = |r: f64| {
                                    if search.is_some() {
                                        "search".to_string()
                                    } else {
                                        rate_label(r)
                                    }
                                };
                                // Depth 0 keeps the ids of runs made before `depth` existed.
                                let depth_id = if depth > 0 {
                                    format!("-d{depth}")
                                } else {
                                    String::new()
                                };
                                let turns_id = match turns {
                                    0 => String::new(),
                                    t => format!("-t{t}"),
                                };
                                let mut load = match rate_rps {
                                    None => format!("-c{concurrency}"),
                                    Some(r) if concurrency == 0 => format!("-r{}", rate_id(r)),
                                    Some(r) => format!("-r{}-c{concurrency}", rate_id(r)),
                                };
                                if let Some(n) = nodes {
                                    load.push_str(&format!("-n{n}"));
                                }
                                let prompt_id = match source {
                                    Some(source) => source.label(),
                                    None => format!("p{prompt_tokens}"),
                                };
                                let gen_id = match gen_tokens {
                                    0 => String::new(),
                                    g => format!("-g{g}"),
                                };
                                cases.push(Case {
                                    id: format!(
                                        "{}/{}/{prompt_id}{gen_id}{depth_id}{turns_id}{load}",
                                        target.name.value, workload.name.value
                                    ),
                                    target: target.name.value.to_string(),
                                    workload: workload.name.value.to_string(),
                                    work: Work::Text(TextWork {
                                        params,
                                        load: load_pattern(workload, concurrency, rate_rps),
                                        slo: workload.slo.as_ref().map(|s| s.value),
                                        search,
                                        prompts: source.clone(),
                                    }),
                                    warmup: workload.warmup.unwrap_or(suite.suite.warmup),
                                    repetitions: workload
                                        .repetitions
                                        .unwrap_or(suite.suite.repetitions)
                                        .0,
                                    nodes,
                                });
                            }
                        }
                    }
                }
            }
        }
        Self { cases }
    }

    /// Measured runs in the whole plan.
    pub fn measured_runs(&self) -> u64 {
        self.cases.iter().map(|c| u64::from(c.repetitions)).sum()
    }

    /// Measured plus warmup runs in the whole plan.
    pub fn total_runs(&self) -> u64 {
        self.cases
            .iter()
            .map(|c| u64::from(c.repetitions) + u64::from(c.warmup))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_stored_in_the_flat_layout_of_earlier_versions() {
        let text = Case::example("t", "w", 2);
        let json = serde_json::to_value(&text).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({
                "id": "t/w/p8-g2-c1", "target": "t", "workload": "w",
                "params": { "prompt_tokens": 8, "gen_tokens": 2, "concurrency": 1 },
                "warmup": 0, "repetitions": 2,
            })
        );
        let image = Case {
            work: Work::Image(ImageParams {
                width: 64,
                height: 32,
                steps: 2,
                batch: 1,
                guidance: 3.5,
                seed: 0,
                prompt: "p".into(),
                save: false,
            }),
            ..text.clone()
        };
        let json = serde_json::to_value(&image).expect("serialize");
        assert_eq!(
            json["params"],
            serde_json::json!({ "prompt_tokens": 0, "gen_tokens": 0, "concurrency": 1 })
        );
        assert_eq!(json["image"]["width"], 64);
        for case in [text, image] {
            let back: Case =
                serde_json::from_str(&serde_json::to_string(&case).expect("serialize"))
                    .expect("read back");
            assert_eq!(back, case);
        }
    }
}
