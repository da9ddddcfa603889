//! Reading exo's JSON: the cluster from `GET /state` (camelCase keys, tagged unions as
//! one-key objects such as `{"MlxRingInstance": {...}}`), and placements from
//! `GET /instance/previews` (snake_case envelope around a camelCase instance). Shapes as of
//! exo-explore/exo `src/exo/shared/types/state.py` and `src/exo/api/types/api.py` (commit
//! b5375f8).

use serde::Serialize;
use serde_json::Value;

/// One node of the cluster, as `/state` describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// exo's node id (random on every exo start).
    pub id: String,
    /// Mac model (`Mac Studio`).
    pub model: Option<String>,
    /// Chip (`Apple M3 Ultra`).
    pub chip: Option<String>,
    /// Computer name.
    pub name: Option<String>,
    /// macOS version and build.
    pub os: Option<String>,
    /// RAM, bytes.
    pub ram_total_bytes: Option<u64>,
    /// RAM free, bytes.
    pub ram_available_bytes: Option<u64>,
    /// Whole-system power from macmon, W (`nodeSystem.sysPower`, updated about once a second).
    pub sys_power_w: Option<f64>,
    /// GPU temperature, °C.
    pub temp_c: Option<f64>,
    /// GPU use, 0 to 1.
    pub gpu_usage: Option<f64>,
    /// Thunderbolt interfaces with RDMA and their link speed.
    pub thunderbolt: Vec<String>,
}

/// A directed link between two nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// Source node id.
    pub from: String,
    /// Sink node id.
    pub to: String,
    /// `rdma` (Thunderbolt RDMA) or `socket` (TCP to the peer's API address).
    pub kind: &'static str,
    /// The interface or address.
    pub detail: String,
}

/// The cluster as bench records it in the run manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// Every node.
    pub nodes: Vec<Node>,
    /// Every link of the topology.
    pub links: Vec<Link>,
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn bytes(v: &Value) -> Option<u64> {
    v.get("inBytes").and_then(Value::as_u64)
}

impl Cluster {
    /// Read the cluster from a `/state` document.
    pub fn from_state(state: &Value) -> Self {
        let mut ids: Vec<String> = state["topology"]["nodes"]
            .as_array()
            .map(|a| a.iter().filter_map(text).collect())
            .unwrap_or_default();
        if let Some(identities) = state["nodeIdentities"].as_object() {
            for id in identities.keys() {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        let nodes = ids
            .iter()
            .map(|id| {
                let who = &state["nodeIdentities"][id];
                let memory = &state["nodeMemory"][id];
                let system = &state["nodeSystem"][id];
                // macOS nodes give a version number and a build; exo on Linux says "Linux"
                // with build "Unknown".
                let os = match (text(&who["osVersion"]), text(&who["osBuildVersion"])) {
                    (Some(v), Some(b)) if v.starts_with(|c: char| c.is_ascii_digit()) => {
                        Some(format!("macOS {v} ({b})"))
                    }
                    (v, _) => v,
                };
                let thunderbolt = state["nodeThunderbolt"][id]["interfaces"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|i| {
                                format!(
                                    "{} {}",
                                    i["rdmaInterface"].as_str().unwrap_or("?"),
                                    i["linkSpeed"].as_str().unwrap_or("")
                                )
                                .trim()
                                .to_string()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Node {
                    id: id.clone(),
                    model: text(&who["modelId"]),
                    chip: text(&who["chipId"]),
                    name: text(&who["friendlyName"]),
                    os,
                    ram_total_bytes: bytes(&memory["ramTotal"]),
                    ram_available_bytes: bytes(&memory["ramAvailable"]),
                    sys_power_w: system["sysPower"].as_f64(),
                    temp_c: system["temp"].as_f64(),
                    gpu_usage: system["gpuUsage"].as_f64(),
                    thunderbolt,
                }
            })
            .collect();
        let mut links = Vec::new();
        if let Some(sources) = state["topology"]["connections"].as_object() {
            for (from, sinks) in sources {
                for (to, edges) in sinks.as_object().into_iter().flatten() {
                    for edge in edges.as_array().into_iter().flatten() {
                        let (kind, detail) = match edge.get("sourceRdmaIface") {
                            Some(iface) => ("rdma", iface.as_str().unwrap_or("?").to_string()),
                            None => (
                                "socket",
                                edge["sinkMultiaddr"]["address"]
                                    .as_str()
                                    .unwrap_or("?")
                                    .to_string(),
                            ),
                        };
                        links.push(Link {
                            from: from.clone(),
                            to: to.clone(),
                            kind,
                            detail,
                        });
                    }
                }
            }
        }
        Self { nodes, links }
    }
}

/// A tagged instance: its tag (`MlxRingInstance`) and body.
pub fn untag(instance: &Value) -> Option<(&str, &Value)> {
    let object = instance.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// How an instance is laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The tagged instance, to post back as `{"instance": ...}`.
    pub instance: Value,
    /// Its id.
    pub instance_id: String,
    /// `MlxRingInstance` or `MlxJacclInstance`.
    pub kind: String,
    /// `PipelineShardMetadata`, `TensorShardMetadata`, ...
    pub shard: String,
    /// Nodes it runs on.
    pub nodes: usize,
    /// Its runners.
    pub runners: Vec<String>,
}

impl Placement {
    /// Read a tagged instance (camelCase, as `/state` and `/instance/previews` give it).
    pub fn of(instance: &Value) -> Option<Self> {
        let (kind, body) = untag(instance)?;
        let assignments = &body["shardAssignments"];
        let runners: Vec<String> = assignments["runnerToShard"]
            .as_object()?
            .keys()
            .cloned()
            .collect();
        let shard = assignments["runnerToShard"]
            .as_object()?
            .values()
            .next()
            .and_then(untag)
            .map_or("?", |(tag, _)| tag)
            .to_string();
        Some(Self {
            instance: instance.clone(),
            instance_id: text(&body["instanceId"])?,
            kind: kind.to_string(),
            shard,
            nodes: assignments["nodeToRunner"]
                .as_object()
                .map_or(0, |m| m.len()),
            runners,
        })
    }

    /// The model the instance serves.
    pub fn model(&self) -> Option<&str> {
        untag(&self.instance)?.1["shardAssignments"]["modelId"].as_str()
    }
}

/// The usable placements of `/instance/previews`, and the errors of the others.
pub fn previews(doc: &Value) -> (Vec<Placement>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for p in doc["previews"].as_array().into_iter().flatten() {
        match p["error"].as_str() {
            Some(e) => errors.push(format!(
                "{}/{}: {e}",
                p["sharding"].as_str().unwrap_or("?"),
                p["instance_meta"].as_str().unwrap_or("?")
            )),
            None => {
                if let Some(placement) = Placement::of(&p["instance"]) {
                    if !ok.iter().any(|q: &Placement| {
                        q.kind == placement.kind
                            && q.shard == placement.shard
                            && q.nodes == placement.nodes
                    }) {
                        ok.push(placement);
                    }
                }
            }
        }
    }
    (ok, errors)
}

/// Where an instance's runners are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Every runner is ready (or already running a task).
    Ready,
    /// Some are still connecting, loading or warming up.
    Loading,
    /// The instance is not in the state (not applied yet, failed to place, or deleted).
    Missing,
    /// A runner failed, with exo's message.
    Failed(String),
}

/// The readiness of `placement`'s runners in a `/state` document.
pub fn readiness(state: &Value, placement: &Placement) -> Readiness {
    if state["instances"].get(&placement.instance_id).is_none() {
        return Readiness::Missing;
    }
    let mut ready = true;
    for runner in &placement.runners {
        match untag(&state["runners"][runner]) {
            Some(("RunnerReady" | "RunnerRunning", _)) => {}
            Some(("RunnerFailed", body)) => {
                return Readiness::Failed(format!(
                    "runner {runner} failed: {}",
                    body["errorMessage"].as_str().unwrap_or("no message")
                ))
            }
            _ => ready = false,
        }
    }
    if ready {
        Readiness::Ready
    } else {
        Readiness::Loading
    }
}
