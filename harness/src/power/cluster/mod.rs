//! Power of a cluster: every node read on each tick of the coordinator's clock, and the
//! cluster's total taken only where every node answered.
//!
//! Each node has its own source (a `macmon serve`, a Prometheus endpoint such as
//! `bench power serve`, or exo's per-node telemetry in `/state`, which covers every node in one
//! read). On each tick all sources are read at once, on their own threads; every reading is
//! stamped on the run clock when it arrives, and each node's answer time is kept in the
//! sample's `scrapes`. One sample per tick holds every node's rails, named `<node>/<rail>`,
//! and a `cluster` rail: the sum of each node's widest rail, in W. A node that does not answer
//! makes that tick a gap, for its rails and for the total: nothing is interpolated across it
//! (see [`energy`](super::energy)), and the measurements it overlaps say so.

pub mod exo;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{PowerError, RailPower, RailReading, Sample, Scope, Scrape, Source, Ticker};
use crate::clock::RunClock;

/// The rail that holds the cluster's total.
pub const CLUSTER_RAIL: &str = "cluster";

/// One source of node power and the nodes it reads.
pub struct Member {
    /// The node's name, when the source reads one node: its rails become `<node>/<rail>`.
    /// `None` for a source whose rails already name their node (exo's telemetry).
    pub node: Option<String>,
    /// The nodes it reads.
    pub nodes: Vec<String>,
    /// The source.
    pub source: Box<dyn Source>,
}

/// Reads every member on each tick; see the module docs.
pub struct ClusterSource {
    members: Vec<Member>,
    ticker: Ticker,
    description: String,
    /// Rails seen per node (`<node>/<rail>` → scope), so a silent node's rails become gaps.
    known: BTreeMap<String, BTreeMap<String, Scope>>,
    /// Power of each rail reading, counter-only rails included.
    power: RailPower,
    /// Whether each node answered the previous tick (to log changes once).
    answering: BTreeMap<String, bool>,
}

impl ClusterSource {
    /// Read `members` every `interval`. `left_out` names nodes that could not be opened (said
    /// in the description: the total does not cover them).
    pub fn new(members: Vec<Member>, interval: Duration, left_out: &[String]) -> Self {
        let mut description = format!(
            "cluster of {} node(s), read every {} ms; total = sum of each node's widest rail, \
             only where every node answered: ",
            members.iter().map(|m| m.nodes.len()).sum::<usize>(),
            interval.as_millis()
        );
        let parts: Vec<String> = members
            .iter()
            .map(|m| format!("{} from {}", m.nodes.join(", "), m.source.describe()))
            .collect();
        description.push_str(&parts.join("; "));
        if !left_out.is_empty() {
            description.push_str(&format!(
                "; left out (not answering at start, not in the total): {}",
                left_out.join(", ")
            ));
        }
        Self {
            members,
            ticker: Ticker::new(interval),
            description,
            known: BTreeMap::new(),
            power: RailPower::default(),
            answering: BTreeMap::new(),
        }
    }

    /// The nodes read.
    pub fn nodes(&self) -> Vec<String> {
        self.members
            .iter()
            .flat_map(|m| m.nodes.iter().cloned())
            .collect()
    }

    /// One tick: read every member at once.
    fn read_all(&mut self, clock: &RunClock) -> Vec<(usize, Result<Sample, String>, f64)> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .members
                .iter_mut()
                .enumerate()
                .map(|(i, member)| {
                    scope.spawn(move || {
                        let started = Instant::now();
                        let read = match member.source.next(clock) {
                            Ok(Some(sample)) => Ok(sample),
                            Ok(None) => Err("the source ended".to_string()),
                            Err(e) => Err(e.to_string()),
                        };
                        (i, read, started.elapsed().as_secs_f64() * 1e3)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        })
    }

    fn note_answer(&mut self, node: &str, answered: bool, error: Option<&str>) {
        let before = self.answering.insert(node.to_string(), answered);
        match (before, answered) {
            (Some(true), false) => tracing::warn!(
                "power: node {node} stopped answering ({}); its power is a gap until it answers",
                error.unwrap_or("no reading")
            ),
            (Some(false), true) => tracing::warn!("power: node {node} answers again"),
            _ => {}
        }
    }
}

impl Source for ClusterSource {
    fn name(&self) -> &'static str {
        "cluster"
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        self.ticker.wait();
        let reads = self.read_all(clock);
        let t_s = clock.now_s();
        let mut rails: Vec<RailReading> = Vec::new();
        let mut scrapes = Vec::new();
        // Per node: its rails this tick as (key, scope, watts).
        let mut per_node: BTreeMap<String, Vec<(String, Scope, Option<f64>)>> = BTreeMap::new();
        let mut thermal = super::Thermal::default();
        for (i, read, latency_ms) in reads {
            let member = &self.members[i];
            let node_label = member.node.clone();
            let nodes = member.nodes.clone();
            match read {
                Ok(sample) => {
                    let sample_t = sample.t_s;
                    for reading in sample.rails {
                        let key = match &node_label {
                            Some(node) => format!("{node}/{}", reading.rail),
                            None => reading.rail.clone(),
                        };
                        let Some(node) = nodes
                            .iter()
                            .find(|n| node_label.is_some() || key.starts_with(&format!("{n}/")))
                        else {
                            continue;
                        };
                        let node = node.clone();
                        let watts = self.power.watts(&key, sample_t, &reading);
                        self.known
                            .entry(node.clone())
                            .or_default()
                            .insert(key.clone(), reading.scope);
                        per_node
                            .entry(node)
                            .or_default()
                            .push((key.clone(), reading.scope, watts));
                        rails.push(RailReading {
                            rail: key,
                            ..reading
                        });
                    }
                    for (name, temp) in sample.thermal.temps_c {
                        let label = node_label.as_deref().unwrap_or("node");
                        thermal.temps_c.insert(format!("{label}/{name}"), temp);
                    }
                    for node in &nodes {
                        let answered = per_node.contains_key(node);
                        let error = (!answered).then(|| "no reading of this node".to_string());
                        self.note_answer(node, answered, error.as_deref());
                        scrapes.push(Scrape {
                            node: node.clone(),
                            latency_ms,
                            error,
                        });
                    }
                }
                Err(error) => {
                    for node in &nodes {
                        self.note_answer(node, false, Some(&error));
                        scrapes.push(Scrape {
                            node: node.clone(),
                            latency_ms,
                            error: Some(error.clone()),
                        });
                    }
                }
            }
        }
        // A node that gave no reading: each rail it had before becomes a gap.
        let mut total = Some(0.0);
        for node in self.nodes() {
            match per_node
                .get(&node)
                .and_then(|r| super::widest(r, |r| r.1, |r| &r.0))
            {
                Some((_, _, Some(w))) => total = total.map(|t| t + w),
                _ => total = None,
            }
            if !per_node.contains_key(&node) {
                for (key, &scope) in self.known.get(&node).into_iter().flatten() {
                    rails.push(RailReading {
                        rail: key.clone(),
                        scope,
                        watts: None,
                        counter_j: None,
                    });
                }
            }
        }
        rails.push(RailReading {
            rail: CLUSTER_RAIL.into(),
            scope: Scope::Cluster,
            watts: total,
            counter_j: None,
        });
        Ok(Some(Sample {
            t_s,
            window_s: 0.0,
            utc: None,
            source: "cluster".into(),
            host: None,
            rails,
            thermal,
            scrapes,
        }))
    }
}

#[cfg(test)]
mod tests;
