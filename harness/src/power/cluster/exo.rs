//! exo's per-node telemetry: the whole-system power each node reports in exo's `/state`
//! (`nodeSystem.<id>.sysPower`, from macmon on macOS, updated about once a second), read for
//! every node at once.

use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::Url;
use serde_json::Value;

use crate::clock::RunClock;
use crate::power::http;
use crate::power::{PowerError, RailReading, Sample, Scope, Source, Ticker};
use bench_workloads::serving::exo::state::Cluster;

const NAME: &str = "exo";

/// Polls `GET /state` of an exo node; one sample holds a `<node>/sys` rail per node that
/// reports power.
#[derive(Debug)]
pub struct ExoTelemetrySource {
    url: Url,
    client: Client,
    ticker: Ticker,
    /// exo node id → the name bench gives it.
    names: Vec<(String, String)>,
    description: String,
}

/// Names for the nodes of `cluster`: the computer's name, or its exo id where that is missing
/// or shared (nodes in network namespaces of one machine share a hostname).
pub fn node_names(cluster: &Cluster) -> Vec<(String, String)> {
    let name_of = |n: &bench_workloads::serving::exo::state::Node| {
        n.name.clone().filter(|name| {
            cluster
                .nodes
                .iter()
                .filter(|m| m.name.as_deref() == Some(name))
                .count()
                == 1
        })
    };
    cluster
        .nodes
        .iter()
        .map(|n| (n.id.clone(), name_of(n).unwrap_or_else(|| n.id.clone())))
        .collect()
}

impl ExoTelemetrySource {
    /// Poll the exo API at `endpoint` (`http://studio-1.local:52415`). Checks it now: not
    /// answering, or no node reporting power, is [`PowerError::Unavailable`].
    pub fn open(endpoint: &str, interval: Duration) -> Result<Self, PowerError> {
        let unavailable = |reason: String| PowerError::Unavailable {
            source_name: NAME,
            reason,
        };
        let url = http::endpoint_url(NAME, endpoint, "/state")?;
        let client = http::client(NAME, http::DEFAULT_TIMEOUT)?;
        let body = http::get_text(&client, &url, "application/json", None)
            .map_err(|e| unavailable(format!("cannot read exo's state at {url}: {e}")))?;
        let state: Value = serde_json::from_str(&body)
            .map_err(|e| unavailable(format!("{url} did not answer with JSON: {e}")))?;
        let cluster = Cluster::from_state(&state);
        let names = node_names(&cluster);
        let reporting: Vec<&str> = cluster
            .nodes
            .iter()
            .zip(&names)
            .filter(|(n, _)| n.sys_power_w.is_some())
            .map(|(_, (_, name))| name.as_str())
            .collect();
        if reporting.is_empty() {
            return Err(unavailable(format!(
                "none of the {} node(s) in {url} reports power (exo reads it with macmon, on \
                 macOS only); give each node its own source in [[power.nodes]]",
                cluster.nodes.len()
            )));
        }
        let description = format!(
            "exo's per-node telemetry at {url}: whole-system power (macmon's sys_power, W) of {}",
            reporting.join(", ")
        );
        Ok(Self {
            url,
            client,
            ticker: Ticker::new(interval),
            names,
            description,
        })
    }

    /// The names of the nodes read.
    pub fn nodes(&self) -> Vec<String> {
        self.names.iter().map(|(_, name)| name.clone()).collect()
    }
}

/// The sample of one `/state` document: a `<name>/sys` rail per node that reports power, and
/// its GPU temperature.
pub fn sample_of(state: &Value, names: &[(String, String)], t_s: f64) -> Sample {
    let cluster = Cluster::from_state(state);
    let mut sample = Sample {
        t_s,
        source: NAME.into(),
        ..Sample::default()
    };
    for node in &cluster.nodes {
        let Some((_, name)) = names.iter().find(|(id, _)| *id == node.id) else {
            continue; // joined after the start: not one of the nodes the total covers
        };
        if let Some(w) = node.sys_power_w {
            sample
                .rails
                .push(RailReading::watts(format!("{name}/sys"), Scope::System, w));
        }
        if let Some(c) = node.temp_c {
            sample.thermal.temps_c.insert(format!("{name}/gpu"), c);
        }
    }
    sample
}

impl Source for ExoTelemetrySource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        self.ticker.wait();
        let body = http::poll(NAME, &self.client, &self.url, "application/json", None)?;
        let state: Value = serde_json::from_str(&body).map_err(|e| PowerError::Failed {
            source_name: NAME,
            reason: format!("{} did not answer with JSON: {e}", self.url),
        })?;
        Ok(Some(sample_of(&state, &self.names, clock.now_s())))
    }
}
