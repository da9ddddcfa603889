//! The plan: a suite expanded into cases (target × workload × parameter grid), each run
//! `warmup` times unmeasured and then `repetitions` times measured.

use serde::{Deserialize, Serialize};

use crate::suite::{Suite, WorkloadKind};

/// Everything a suite asks to run, in the order it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Cases grouped by target (so each model loads once), then in suite order.
    pub cases: Vec<Case>,
}

/// One point of the grid on one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Stable identifier: `<target>/<workload>/p<prompt>-g<gen>-c<concurrency>`.
    pub id: String,
    /// Name of the `[[target]]`.
    pub target: String,
    /// Name of the `[[workload]]`.
    pub workload: String,
    /// The parameters of this point.
    pub params: LlmParams,
    /// Unmeasured runs first.
    pub warmup: u32,
    /// Measured runs.
    pub repetitions: u32,
}

/// Parameters of one LLM case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmParams {
    /// Exact prompt length in tokens.
    pub prompt_tokens: u32,
    /// Exact number of generated tokens.
    pub gen_tokens: u32,
    /// Requests in flight at once.
    pub concurrency: u32,
}

impl Plan {
    /// Expand a checked suite.
    pub fn expand(suite: &Suite) -> Self {
        let mut cases = Vec::new();
        for target in &suite.targets {
            for workload in &suite.workloads {
                if workload.kind.value != WorkloadKind::Llm {
                    continue;
                }
                let (Some(prompts), Some(gens)) = (&workload.prompt_tokens, &workload.gen_tokens)
                else {
                    continue;
                };
                let concurrency = workload
                    .concurrency
                    .as_ref()
                    .map_or(&[1][..], |c| c.value.values());
                for &prompt_tokens in prompts.values() {
                    for &gen_tokens in gens.values() {
                        for &concurrency in concurrency {
                            let params = LlmParams {
                                prompt_tokens,
                                gen_tokens,
                                concurrency,
                            };
                            cases.push(Case {
                                id: format!(
                                    "{}/{}/p{prompt_tokens}-g{gen_tokens}-c{concurrency}",
                                    target.name.value, workload.name.value
                                ),
                                target: target.name.value.to_string(),
                                workload: workload.name.value.to_string(),
                                params,
                                warmup: workload.warmup.unwrap_or(suite.suite.warmup),
                                repetitions: workload
                                    .repetitions
                                    .unwrap_or(suite.suite.repetitions)
                                    .0,
                            });
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
