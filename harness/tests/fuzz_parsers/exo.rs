//! exo's JSON: the cluster of `/state` (`Cluster::from_state`), placements of
//! `/instance/previews` (`previews`, `Placement::of`), runner readiness, and the answers of the
//! bench endpoints (`BenchReply::read`, `ImagesReply::read`). Each input is read by all of
//! them, so a state document also goes through the answer readers and the other way round.

use bench_workloads::serving::exo::images::ImagesReply;
use bench_workloads::serving::exo::state::{previews, readiness, untag, Cluster, Placement};
use bench_workloads::serving::exo::BenchReply;
use serde_json::Value;

use crate::corpus;
use crate::engine::{Target, Verdict};

/// exo's keys and tags, and JSON edge values.
const TOKENS: &[&str] = &[
    "\"instances\":{",
    "\"runners\":{",
    "\"topology\":{\"nodes\":[",
    "\"connections\":{",
    "\"nodeIdentities\":{",
    "\"nodeMemory\":{",
    "\"nodeSystem\":{",
    "\"nodeThunderbolt\":{",
    "\"MlxRingInstance\":{",
    "\"shardAssignments\":{",
    "\"runnerToShard\":{",
    "\"nodeToRunner\":{",
    "\"instanceId\":",
    "\"RunnerReady\":{}",
    "\"RunnerFailed\":{",
    "\"errorMessage\":",
    "\"sourceRdmaIface\":",
    "\"sinkMultiaddr\":{\"address\":",
    "\"previews\":[",
    "\"error\":",
    "\"generation_stats\":{",
    "\"prompt_tokens\":",
    "\"generation_tokens\":",
    "\"power_usage\":",
    "\"data\":[{\"b64_json\":\"",
    "\"iVBORw0KGgo=\"",
    "\"total_generation_time\":",
    "\"inBytes\":",
    "{\"a\":{\"a\":{\"a\":",
    "[[[[[[[[",
    "1.7976931348623157e308",
    "-1",
    "\"\\ud800\"",
];

fn check(input: &[u8]) -> Verdict {
    let doc: Value = match serde_json::from_slice(input) {
        Ok(doc) => doc,
        Err(e) if e.line() > 0 => return Ok(()),
        Err(e) => return Err(format!("a JSON error without its line: {e}")),
    };
    let _ = Cluster::from_state(&doc);
    let (mut placements, _errors) = previews(&doc);
    if let Some(instances) = doc["instances"].as_object() {
        placements.extend(instances.values().filter_map(Placement::of));
    }
    for placement in &placements {
        let _ = readiness(&doc, placement);
        let _ = placement.model();
        let _ = untag(&placement.instance);
    }
    let _ = BenchReply::read(&doc);
    match ImagesReply::read(&doc) {
        Ok(_) => Ok(()),
        Err(e) if e == "no `data` list" || e.starts_with("data[") => Ok(()),
        Err(e) => Err(format!("an image error that names no item: {e}")),
    }
}

#[test]
fn exo_json() {
    let mut seeds = corpus::files("harness/tests/fixtures/exo", "", &[".json"]);
    seeds.extend(corpus::written("exo"));
    Target {
        name: "exo",
        seeds,
        tokens: TOKENS,
        cases: 30_000,
        check,
    }
    .run();
}
