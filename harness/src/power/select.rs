//! Turning a suite's `[power]` section into a running source: the sampler it names, or for
//! `auto` the first that works here (powermetrics, then macmon on macOS; NVML, then RAPL
//! elsewhere), with a note of every candidate tried and why it was passed over.

use std::time::Duration;

use super::cluster::exo::ExoTelemetrySource;
use super::cluster::{ClusterSource, Member};
use super::macmon::{MacmonPipeSource, MacmonServeSource};
use super::nvml::NvmlSource;
use super::powermetrics::PowermetricsSource;
use super::prometheus::{HttpSettings, PrometheusSource};
use super::rapl::RaplSource;
use super::serve::auth::Token;
use super::{PowerError, Source};
use crate::suite::{NodeSampler, PowerSection, SamplerKind};

/// What `[power]` resolved to.
pub struct Selection {
    /// The source to sample, if any.
    pub source: Option<Box<dyn Source>>,
    /// The sampler used (`none` when nothing is sampled).
    pub used: SamplerKind,
    /// Why, in words: what is measured, or why nothing is.
    pub note: String,
    /// For `auto`: each candidate passed over and why.
    pub tried: Vec<String>,
}

/// Settings a source needs, read from `[power]` (or the `bench power` command line).
#[derive(Clone)]
pub struct SourceSettings {
    /// The sampler.
    pub sampler: SamplerKind,
    /// Sampling interval.
    pub interval: Duration,
    /// Endpoint of `prometheus`, of a remote `macmon serve`, or of exo's API.
    pub url: Option<String>,
    /// Metrics `prometheus` reads.
    pub metrics: Vec<String>,
    /// Bearer token sent to `url` (a `bench power serve` off loopback, or an endpoint behind
    /// an authenticating proxy).
    pub token: Option<String>,
    /// A cluster's nodes, each with its own endpoint (`sampler` is then unused).
    pub nodes: Vec<NodeSettings>,
}

/// One cluster node's power endpoint.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// The node's name.
    pub name: String,
    /// Its sampler.
    pub sampler: NodeSampler,
    /// Its endpoint.
    pub url: Option<String>,
    /// `prometheus`: the metrics to read (empty: detected).
    pub metrics: Vec<String>,
    /// A file with the bearer token the endpoint asks for (relative: to the working
    /// directory).
    pub token_file: Option<String>,
}

impl SourceSettings {
    /// The settings of a suite's `[power]`; `exo_url` is the exo target's API, which the `exo`
    /// sampler reads when `[power]` names no `url`.
    pub fn from_suite(power: &PowerSection, exo_url: Option<&str>) -> Self {
        let mut url = power.url.as_ref().map(|u| u.value.clone());
        if power.sampler.value == SamplerKind::Exo && url.is_none() {
            url = exo_url.map(str::to_string);
        }
        Self {
            sampler: power.sampler.value,
            interval: Duration::from_millis(u64::from(power.interval_ms.0)),
            url,
            metrics: power
                .metrics
                .as_ref()
                .map(|m| m.value.clone())
                .unwrap_or_default(),
            nodes: power
                .nodes
                .iter()
                .map(|n| NodeSettings {
                    name: n.name.value.0.clone(),
                    sampler: n.sampler.value,
                    url: n.url.as_ref().map(|u| u.value.clone()),
                    metrics: n
                        .metrics
                        .as_ref()
                        .map(|m| m.value.clone())
                        .unwrap_or_default(),
                    token_file: n.token_file.as_ref().map(|t| t.value.clone()),
                })
                .collect(),
            // Suites carry no secrets; a token comes from the command line.
            token: None,
        }
    }
}

// By hand, so that the token never reaches a log.
impl std::fmt::Debug for SourceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSettings")
            .field("sampler", &self.sampler)
            .field("interval", &self.interval)
            .field("url", &self.url)
            .field("metrics", &self.metrics)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("nodes", &self.nodes)
            .finish()
    }
}

impl SourceSettings {
    /// How the HTTP sources reach `url`: the default timeout, and the token.
    pub fn http(&self) -> HttpSettings {
        HttpSettings::with_token(self.token.clone())
    }
}

/// Open the source `settings` name. An explicitly named sampler that cannot run is an error
/// (the user asked for it); `auto` falls back through the candidates to none.
pub fn select(settings: &SourceSettings) -> Result<Selection, PowerError> {
    if !settings.nodes.is_empty() {
        return Ok(cluster(settings));
    }
    match settings.sampler {
        SamplerKind::None => Ok(Selection {
            source: None,
            used: SamplerKind::None,
            note: "power sampling was turned off by the suite".into(),
            tried: Vec::new(),
        }),
        SamplerKind::Auto => Ok(auto(settings)),
        kind => {
            let source = open(kind, settings)?;
            Ok(Selection {
                note: source.describe(),
                source: Some(source),
                used: kind,
                tried: Vec::new(),
            })
        }
    }
}

/// Open one named sampler.
pub fn open(kind: SamplerKind, settings: &SourceSettings) -> Result<Box<dyn Source>, PowerError> {
    let interval = settings.interval;
    Ok(match kind {
        SamplerKind::Powermetrics => {
            Box::new(PowermetricsSource::open(interval.as_millis() as u64)?)
        }
        SamplerKind::Macmon => match &settings.url {
            Some(url) => Box::new(MacmonServeSource::open_with(
                url,
                interval,
                &settings.http(),
            )?),
            None => Box::new(MacmonPipeSource::open(interval.as_millis() as u64)?),
        },
        SamplerKind::Nvml => Box::new(NvmlSource::open(interval)?),
        SamplerKind::Rapl => Box::new(RaplSource::open(interval)?),
        SamplerKind::Prometheus => {
            let url = settings.url.as_deref().ok_or(PowerError::Unavailable {
                source_name: "prometheus",
                reason: "no `url` to scrape".into(),
            })?;
            Box::new(PrometheusSource::open_names_with(
                url,
                &settings.metrics,
                interval,
                &settings.http(),
            )?)
        }
        SamplerKind::Exo => {
            let url = settings.url.as_deref().ok_or(PowerError::Unavailable {
                source_name: "exo",
                reason: "no exo API to read (`url`, or an exo target)".into(),
            })?;
            let exo = ExoTelemetrySource::open(url, interval)?;
            let member = Member {
                node: None,
                nodes: exo.nodes(),
                source: Box::new(exo),
            };
            Box::new(ClusterSource::new(vec![member], interval, &[]))
        }
        SamplerKind::Auto | SamplerKind::None => {
            return Err(PowerError::Unavailable {
                source_name: "auto",
                reason: "not a single sampler".into(),
            })
        }
    })
}

/// `[[power.nodes]]`: each node's source, opened now; a node whose endpoint does not answer is
/// left out with a warning (the run goes on without it, and the total says it does not cover
/// it). No node answering: nothing is sampled.
fn cluster(settings: &SourceSettings) -> Selection {
    let mut members = Vec::new();
    let mut left_out = Vec::new();
    for node in &settings.nodes {
        match open_node(node, settings.interval) {
            Ok(source) => members.push(Member {
                node: Some(node.name.clone()),
                nodes: vec![node.name.clone()],
                source,
            }),
            Err(why) => {
                tracing::warn!("power: node {} is left out: {why}", node.name);
                left_out.push(format!("{} ({why})", node.name));
            }
        }
    }
    if members.is_empty() {
        return Selection {
            source: None,
            used: SamplerKind::None,
            note: format!("no node's power could be read: {}", left_out.join("; ")),
            tried: left_out,
        };
    }
    let source = ClusterSource::new(members, settings.interval, &left_out);
    Selection {
        note: source.describe(),
        source: Some(Box::new(source)),
        used: SamplerKind::Auto,
        tried: left_out,
    }
}

fn open_node(node: &NodeSettings, interval: Duration) -> Result<Box<dyn Source>, String> {
    let url = node.url.as_deref().unwrap_or_default();
    let token = match &node.token_file {
        Some(path) => {
            let loaded = Token::from_file(std::path::Path::new(path)).map_err(|e| e.to_string())?;
            if let Some(warning) = &loaded.warning {
                tracing::warn!("power: node {}: {warning}", node.name);
            }
            Some(loaded.token.expose().to_string())
        }
        None => None,
    };
    let http = HttpSettings::with_token(token);
    Ok(match node.sampler {
        NodeSampler::None => return Err("its sampler is \"none\"".into()),
        NodeSampler::Macmon => {
            Box::new(MacmonServeSource::open_with(url, interval, &http).map_err(|e| e.to_string())?)
        }
        NodeSampler::Prometheus => Box::new(
            PrometheusSource::open_names_with(url, &node.metrics, interval, &http)
                .map_err(|e| e.to_string())?,
        ),
    })
}

/// The candidates `auto` tries here, in order.
pub fn auto_candidates() -> &'static [SamplerKind] {
    if cfg!(target_os = "macos") {
        &[SamplerKind::Powermetrics, SamplerKind::Macmon]
    } else {
        &[SamplerKind::Nvml, SamplerKind::Rapl]
    }
}

fn auto(settings: &SourceSettings) -> Selection {
    let mut tried = Vec::new();
    for &kind in auto_candidates() {
        match open(kind, settings) {
            Ok(source) => {
                return Selection {
                    note: source.describe(),
                    source: Some(source),
                    used: kind,
                    tried,
                }
            }
            Err(e) => tried.push(e.to_string()),
        }
    }
    Selection {
        source: None,
        used: SamplerKind::None,
        note: format!(
            "no power sampler works on this machine: {}",
            tried.join("; ")
        ),
        tried,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::http::test_server::{self, Then};

    fn node(name: &str, sampler: NodeSampler, url: Option<String>) -> NodeSettings {
        NodeSettings {
            name: name.into(),
            sampler,
            url,
            metrics: Vec::new(),
            token_file: None,
        }
    }

    fn settings(nodes: Vec<NodeSettings>) -> SourceSettings {
        SourceSettings {
            sampler: SamplerKind::Auto,
            interval: Duration::from_millis(100),
            url: None,
            metrics: Vec::new(),
            token: None,
            nodes,
        }
    }

    #[test]
    fn a_node_not_answering_at_the_start_is_left_out_and_named() {
        let body = "bench_power_watts{rail=\"sys\",scope=\"system\"} 12.5\n".to_string();
        let up = test_server::start(vec![(200, body)], Then::Hang);
        let down = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/metrics", l.local_addr().unwrap())
        };
        let selection = select(&settings(vec![
            node("a", NodeSampler::Prometheus, Some(format!("{up}/metrics"))),
            node("b", NodeSampler::Prometheus, Some(down)),
            node("c", NodeSampler::None, None),
        ]))
        .unwrap();
        assert!(selection.source.is_some(), "node a is still read");
        assert!(selection.note.contains("left out"), "{}", selection.note);
        assert!(selection.note.contains("b ("), "{}", selection.note);
        assert!(
            selection.note.contains("c (its sampler is \"none\")"),
            "{}",
            selection.note
        );
        assert_eq!(selection.tried.len(), 2);
    }

    #[test]
    fn no_node_answering_means_nothing_is_sampled_and_says_why() {
        let selection = select(&settings(vec![node("c", NodeSampler::None, None)])).unwrap();
        assert!(selection.source.is_none());
        assert_eq!(selection.used, SamplerKind::None);
        assert!(selection.note.contains("no node's power could be read"));
    }
}
