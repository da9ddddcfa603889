//! Turning a suite's `[power]` section into a running source: the sampler it names, or for
//! `auto` the first that works here (powermetrics, then macmon on macOS; NVML, then RAPL
//! elsewhere), with a note of every candidate tried and why it was passed over.

use std::time::Duration;

use super::macmon::{MacmonPipeSource, MacmonServeSource};
use super::nvml::NvmlSource;
use super::powermetrics::PowermetricsSource;
use super::prometheus::{HttpSettings, PrometheusSource};
use super::rapl::RaplSource;
use super::{PowerError, Source};
use crate::suite::{PowerSection, SamplerKind};

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
    /// Endpoint of `prometheus`, or of a remote `macmon serve`.
    pub url: Option<String>,
    /// Metrics `prometheus` reads.
    pub metrics: Vec<String>,
    /// Bearer token sent to `url` (a `bench power serve` off loopback, or an endpoint behind
    /// an authenticating proxy).
    pub token: Option<String>,
}

impl SourceSettings {
    /// The settings of a suite's `[power]`.
    pub fn from_suite(power: &PowerSection) -> Self {
        Self {
            sampler: power.sampler.value,
            interval: Duration::from_millis(u64::from(power.interval_ms.0)),
            url: power.url.as_ref().map(|u| u.value.clone()),
            metrics: power
                .metrics
                .as_ref()
                .map(|m| m.value.clone())
                .unwrap_or_default(),
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
            return Err(PowerError::Unavailable {
                source_name: "exo",
                reason: "exo's per-node telemetry is not read by this version of bench".into(),
            })
        }
        SamplerKind::Auto | SamplerKind::None => {
            return Err(PowerError::Unavailable {
                source_name: "auto",
                reason: "not a single sampler".into(),
            })
        }
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
