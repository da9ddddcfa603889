//! Power from a Prometheus text endpoint: NVIDIA's DCGM exporter, node exporter's RAPL
//! counters, `macmon serve`'s `/metrics`, another bench's `bench power serve`, or any exporter
//! with a power gauge or energy counter.
//!
//! A [`MetricSpec`] says which series to read and what they mean (unit, scope, rail name);
//! [`MetricSpec::infer`] knows the exporters above by metric name. [`PrometheusSource`]
//! scrapes the endpoint every interval over plain HTTP (no TLS: `https://` URLs are refused).

mod exposition;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::power::http::{self, GetError};

pub use crate::power::http::HttpSettings;
pub use exposition::{parse_exposition, MetricKind, MetricPoint};

use crate::clock::RunClock;
use crate::power::{PowerError, RailReading, Sample, Scope, Source, Thermal, Ticker};

const NAME: &str = "prometheus";

/// What the Accept header asks for: the classic text format, which every exporter serves.
const ACCEPT: &str = "text/plain;version=0.0.4;q=1,*/*;q=0.1";

/// The unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// A power gauge in watts.
    Watts,
    /// A power gauge in milliwatts.
    Milliwatts,
    /// A cumulative energy counter in joules.
    Joules,
    /// A cumulative energy counter in millijoules (DCGM's total energy).
    Millijoules,
    /// A cumulative energy counter in microjoules (raw RAPL `energy_uj`, Scaphandre).
    Microjoules,
}

impl Unit {
    /// Whether values are a cumulative energy counter (else a power gauge).
    pub fn is_counter(self) -> bool {
        matches!(self, Unit::Joules | Unit::Millijoules | Unit::Microjoules)
    }

    /// What one unit is in watts (gauges) or joules (counters).
    pub fn scale(self) -> f64 {
        match self {
            Unit::Watts | Unit::Joules => 1.0,
            Unit::Milliwatts | Unit::Millijoules => 1e-3,
            Unit::Microjoules => 1e-6,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Unit::Watts => "W",
            Unit::Milliwatts => "mW",
            Unit::Joules => "J counter",
            Unit::Millijoules => "mJ counter",
            Unit::Microjoules => "µJ counter",
        }
    }
}

/// Which series of an exposition to read as a power rail, and what they mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSpec {
    /// Metric name, exactly as exposed.
    pub name: String,
    /// Labels a series must have, with these exact values (empty: every series of the name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Unit of the values, and whether they are a counter.
    pub unit: Unit,
    /// What the rail covers.
    pub scope: Scope,
    /// Rail name. `{label}` is replaced by that label's value (`gpu{gpu}` → `gpu0`; a path
    /// keeps its last part); series that still share a name get the values of the labels that
    /// tell them apart appended (`pdu-outlet1`, `pdu-outlet2`).
    pub rail: String,
}

impl MetricSpec {
    /// A spec reading every series of `name`.
    pub fn new(name: impl Into<String>, unit: Unit, scope: Scope, rail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            labels: BTreeMap::new(),
            unit,
            scope,
            rail: rail.into(),
        }
    }

    /// The spec, reading only series whose label `key` is `value`.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// The specs for a metric known by name; empty when the name says nothing of its unit.
    ///
    /// Known: DCGM exporter `DCGM_FI_DEV_POWER_USAGE` (W) and
    /// `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION` (mJ counter), both as rail `gpu<gpu label>` of
    /// scope gpu-board (so one GPU's power and energy land on one rail); node exporter
    /// `node_rapl_<zone>_joules_total` (rail `<zone>-<index>`), and its
    /// `--collector.rapl.enable-zone-label` form `node_rapl_joules_total{rapl_zone=...}` (one
    /// spec per zone, hence the `Vec`); `macmon serve`'s `macmon_<part>_power_watts` (rails as
    /// `macmon pipe` names them); `bench power serve`'s `bench_power_watts` and
    /// `bench_energy_joules_total` (rail from the `rail` label, scope from the `scope` label:
    /// one spec per scope); and by suffix, `_watts`, `_milliwatts`, `_joules[_total]`,
    /// `_millijoules[_total]`, `_microjoules[_total]` (scope other, rail named after the metric).
    pub fn infer(name: &str) -> Vec<MetricSpec> {
        let one = |unit, scope, rail: &str| vec![MetricSpec::new(name, unit, scope, rail)];
        match name {
            "DCGM_FI_DEV_POWER_USAGE" => return one(Unit::Watts, Scope::GpuBoard, "gpu{gpu}"),
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" => {
                return one(Unit::Millijoules, Scope::GpuBoard, "gpu{gpu}")
            }
            // `bench power serve`: its labels carry the rail and its scope.
            "bench_power_watts" | "bench_energy_joules_total" => {
                let unit = if name == "bench_power_watts" {
                    Unit::Watts
                } else {
                    Unit::Joules
                };
                return Scope::ALL
                    .iter()
                    .map(|&scope| {
                        MetricSpec::new(name, unit, scope, "{rail}")
                            .with_label("scope", scope.as_str())
                    })
                    .collect();
            }
            "node_rapl_joules_total" => {
                return RAPL_ZONES
                    .iter()
                    .map(|&(zone, scope)| {
                        MetricSpec::new(name, Unit::Joules, scope, format!("{zone}-{{index}}"))
                            .with_label("rapl_zone", zone)
                    })
                    .collect()
            }
            _ => {}
        }
        if let Some(zone) = name
            .strip_prefix("node_rapl_")
            .and_then(|rest| rest.strip_suffix("_joules_total"))
        {
            let scope = RAPL_ZONES
                .iter()
                .find(|(z, _)| *z == zone)
                .map_or(Scope::Other, |(_, scope)| *scope);
            return one(Unit::Joules, scope, &format!("{zone}-{{index}}"));
        }
        if let Some(part) = name
            .strip_prefix("macmon_")
            .and_then(|rest| rest.strip_suffix("_power_watts"))
        {
            let key = format!("{part}_power");
            return match crate::power::macmon::RAILS.iter().find(|r| r.0 == key) {
                Some(&(_, rail, scope)) => one(Unit::Watts, scope, rail),
                None => one(Unit::Watts, Scope::Other, part),
            };
        }
        for (suffix, unit) in [
            ("_microjoules_total", Unit::Microjoules),
            ("_microjoules", Unit::Microjoules),
            ("_millijoules_total", Unit::Millijoules),
            ("_millijoules", Unit::Millijoules),
            ("_joules_total", Unit::Joules),
            ("_joules", Unit::Joules),
            ("_milliwatts", Unit::Milliwatts),
            ("_watts", Unit::Watts),
        ] {
            if let Some(stem) = name.strip_suffix(suffix).filter(|s| !s.is_empty()) {
                return one(unit, Scope::Other, stem);
            }
        }
        Vec::new()
    }

    /// The specs [`MetricSpec::infer`] gives for the metrics present in `points` that match
    /// at least one series, in order of first appearance.
    pub fn detect(points: &[MetricPoint]) -> Vec<MetricSpec> {
        let mut seen = BTreeSet::new();
        let mut specs = Vec::new();
        for point in points {
            if seen.insert(point.name.as_str()) {
                specs.extend(
                    MetricSpec::infer(&point.name)
                        .into_iter()
                        .filter(|spec| points.iter().any(|p| spec.matches(p))),
                );
            }
        }
        specs
    }

    /// Whether a series is one this spec reads.
    pub fn matches(&self, point: &MetricPoint) -> bool {
        point.name == self.name
            && self
                .labels
                .iter()
                .all(|(k, v)| point.labels.get(k) == Some(v))
    }
}

/// RAPL zones as node exporter names them, and their scopes.
const RAPL_ZONES: &[(&str, Scope)] = &[
    ("package", Scope::Package),
    ("dram", Scope::Dram),
    ("core", Scope::Core),
    ("uncore", Scope::Uncore),
    ("psys", Scope::Platform),
];

/// DCGM writes "blank" (no reading) as huge sentinels: 140737488355328 for floats,
/// 0x7ffffffffffffff0 and up for integers. No real watts, °C or since-boot mJ come near.
const DCGM_BLANK: f64 = 1.4e14;

/// NVML's clock-throttle reason bits (DCGM passes the mask through), by the names results use.
const THROTTLE_BITS: &[(u64, &str)] = &[
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks_setting"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal_slowdown"),
    (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"),
];

/// One scrape as a sample (source `prometheus`): gauges into `watts`, counters into
/// `counter_j` (joules, raw: resets are not undone here, [`PrometheusSource`] does that), and
/// the temperatures, clocks and throttle reasons the exporter has (DCGM GPU temperature,
/// SM/memory clocks, throttle mask; macmon temperatures and cluster clocks) into `thermal`.
/// Series whose value is NaN, infinite or a DCGM blank are left out.
pub fn to_sample(points: &[MetricPoint], specs: &[MetricSpec], t_s: f64, window_s: f64) -> Sample {
    let mut rails: Vec<RailReading> = Vec::new();
    for spec in specs {
        let series: Vec<&MetricPoint> = points.iter().filter(|p| spec.matches(p)).collect();
        // Named before dropping unusable values, so that one blank reading does not rename
        // the other rails.
        let names = rail_names(spec, &series);
        for (point, rail) in series.into_iter().zip(names) {
            if usable(point) {
                put(&mut rails, rail, spec, point.value * spec.unit.scale());
            }
        }
    }
    Sample {
        t_s,
        window_s,
        utc: None,
        source: NAME.into(),
        host: None,
        rails,
        thermal: thermal(points),
        scrapes: Vec::new(),
    }
}

fn usable(point: &MetricPoint) -> bool {
    let v = point.value;
    if !v.is_finite() {
        return false;
    }
    if point.name.starts_with("DCGM_FI_") && v.abs() >= DCGM_BLANK {
        return false;
    }
    // macmon writes 0 when it cannot read the SMC's system power (it is at least all_power
    // otherwise), so 0 means "not measured".
    !(point.name == "macmon_sys_power_watts" && v == 0.0)
}

/// A series' reading into its rail: power and energy of one rail (DCGM's power gauge and
/// energy counter for one GPU) share a reading; anything else that collides gets a new name.
fn put(rails: &mut Vec<RailReading>, rail: String, spec: &MetricSpec, value: f64) {
    let counter = spec.unit.is_counter();
    let mut name = rail.clone();
    let mut attempt = 1;
    while let Some(existing) = rails.iter_mut().find(|r| r.rail == name) {
        let slot = if counter {
            &mut existing.counter_j
        } else {
            &mut existing.watts
        };
        if existing.scope == spec.scope && slot.is_none() {
            *slot = Some(value);
            return;
        }
        attempt += 1;
        name = format!("{rail}-{attempt}");
    }
    rails.push(RailReading {
        rail: name,
        scope: spec.scope,
        watts: (!counter).then_some(value),
        counter_j: counter.then_some(value),
    });
}

/// Rail names for the series of one spec, in order.
fn rail_names(spec: &MetricSpec, series: &[&MetricPoint]) -> Vec<String> {
    let mut names: Vec<String> = series
        .iter()
        .map(|p| render(&spec.rail, &p.labels))
        .collect();
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        groups.entry(name.clone()).or_default().push(i);
    }
    for (name, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
        let keys: BTreeSet<&String> = members
            .iter()
            .flat_map(|&i| series[i].labels.keys())
            .collect();
        let differing: Vec<&String> = keys
            .into_iter()
            .filter(|k| {
                let first = series[members[0]].labels.get(*k);
                members.iter().any(|&i| series[i].labels.get(*k) != first)
            })
            .collect();
        for &i in &members {
            let suffix: Vec<String> = differing
                .iter()
                .map(|k| label_part(series[i].labels.get(*k).map_or("", String::as_str)))
                .collect();
            if !differing.is_empty() {
                names[i] = format!("{name}-{}", suffix.join("-"));
            }
        }
    }
    names
}

/// The rail template with `{label}` replaced.
fn render(template: &str, labels: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        let key = &rest[open + 1..open + close];
        out.push_str(&label_part(labels.get(key).map_or("", String::as_str)));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// A label value as part of a rail name: a path's last part, no blanks.
fn label_part(value: &str) -> String {
    let value = value
        .rsplit('/')
        .find(|part| !part.is_empty())
        .unwrap_or(value);
    value.replace(char::is_whitespace, "_")
}

fn thermal(points: &[MetricPoint]) -> Thermal {
    let mut thermal = Thermal::default();
    for point in points.iter().filter(|p| usable(p)) {
        let gpu = || format!("gpu{}", point.labels.get("gpu").map_or("", String::as_str));
        let v = point.value;
        match point.name.as_str() {
            "DCGM_FI_DEV_GPU_TEMP" => {
                thermal.temps_c.entry(gpu()).or_insert(v);
            }
            "DCGM_FI_DEV_SM_CLOCK" => {
                thermal
                    .clocks_mhz
                    .entry(format!("{}_sm", gpu()))
                    .or_insert(v);
            }
            "DCGM_FI_DEV_MEM_CLOCK" => {
                thermal
                    .clocks_mhz
                    .entry(format!("{}_mem", gpu()))
                    .or_insert(v);
            }
            "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS" | "DCGM_FI_DEV_CLOCKS_EVENT_REASONS" => {
                let mask = v as u64;
                let device = gpu();
                for (bit, reason) in THROTTLE_BITS {
                    let entry = format!("{device}:{reason}");
                    if mask & bit != 0 && !thermal.throttle.contains(&entry) {
                        thermal.throttle.push(entry);
                    }
                }
            }
            // macmon averages only valid sensors and writes 0 when it has none.
            "macmon_cpu_temp_celsius" if v > 0.0 => {
                thermal.temps_c.entry("cpu_avg".into()).or_insert(v);
            }
            "macmon_gpu_temp_celsius" if v > 0.0 => {
                thermal.temps_c.entry("gpu_avg".into()).or_insert(v);
            }
            "macmon_ecpu_freq_mhz" | "macmon_pcpu_freq_mhz" | "macmon_gpu_freq_mhz" => {
                let domain = &point.name["macmon_".len()..point.name.len() - "_freq_mhz".len()];
                thermal.clocks_mhz.entry(domain.into()).or_insert(v);
            }
            _ => {}
        }
    }
    thermal
}

/// Distinct metric names that look like power or energy, for error messages.
fn power_like_names(points: &[MetricPoint]) -> Vec<&str> {
    let mut names: Vec<&str> = points
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| {
            let n = n.to_ascii_lowercase();
            ["power", "energy", "joule", "watt"]
                .iter()
                .any(|w| n.contains(w))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    names.truncate(40);
    names
}

/// Per rail: the last raw counter value and the running total that undoes resets.
#[derive(Debug, Clone, Copy)]
struct Continued {
    last_raw: f64,
    total: f64,
}

/// Scrapes a Prometheus text endpoint every interval (plain HTTP only, no TLS).
///
/// Samples are stamped on arrival of the response with window 0: exporters' gauges are
/// current readings, and their own averaging window is not known. Counters are continued
/// across resets (an exporter restart, a RAPL wrap-around: the drop is taken as a restart from
/// 0, which loses at most one interval's energy at a wrap). Mind the exporter's own update
/// period: DCGM exporter collects every 30 s unless started with `-c <ms>`, and polling
/// faster only repeats its values.
#[derive(Debug)]
pub struct PrometheusSource {
    url: Url,
    client: Client,
    specs: Vec<MetricSpec>,
    ticker: Ticker,
    host: Option<String>,
    description: String,
    counters: HashMap<String, Continued>,
    token: Option<String>,
}

impl PrometheusSource {
    /// Scrape `url` (`http://host:9400/metrics`; `http://` and `/metrics` are added when
    /// missing) for `specs`, or, with no specs, for every metric [`MetricSpec::infer`] knows.
    /// Checks the endpoint now: unreachable, or a spec matching no series, is
    /// [`PowerError::Unavailable`] naming the power-like metrics the endpoint does have.
    pub fn open(url: &str, specs: Vec<MetricSpec>, interval: Duration) -> Result<Self, PowerError> {
        Self::open_with_timeout(url, specs, interval, http::DEFAULT_TIMEOUT)
    }

    /// [`PrometheusSource::open`] for metrics given by name (a suite's `metrics`), each
    /// understood through [`MetricSpec::infer`]; a name it does not know is `Unavailable`.
    pub fn open_names(
        url: &str,
        names: &[impl AsRef<str>],
        interval: Duration,
    ) -> Result<Self, PowerError> {
        Self::open_names_with(url, names, interval, &HttpSettings::default())
    }

    /// [`PrometheusSource::open_names`] with a timeout or bearer token of its own.
    pub fn open_names_with(
        url: &str,
        names: &[impl AsRef<str>],
        interval: Duration,
        http: &HttpSettings,
    ) -> Result<Self, PowerError> {
        let mut specs = Vec::new();
        for name in names {
            let name = name.as_ref();
            let inferred = MetricSpec::infer(name);
            if inferred.is_empty() {
                return Err(unavailable(format!(
                    "cannot tell the unit of `{name}` from its name: known are the DCGM, \
                     node exporter RAPL and macmon metrics, and names ending in _watts, \
                     _milliwatts, _joules_total, _millijoules_total or _microjoules_total"
                )));
            }
            specs.extend(inferred);
        }
        Self::open_with(url, specs, interval, http)
    }

    /// [`PrometheusSource::open`] with a per-request timeout other than 2 s.
    pub fn open_with_timeout(
        url: &str,
        specs: Vec<MetricSpec>,
        interval: Duration,
        timeout: Duration,
    ) -> Result<Self, PowerError> {
        let settings = HttpSettings {
            timeout,
            token: None,
        };
        Self::open_with(url, specs, interval, &settings)
    }

    /// [`PrometheusSource::open`] with the timeout and bearer token of `settings`. An endpoint
    /// answering 401 is [`PowerError::Unavailable`] saying whether it wants a token or refused
    /// the one sent.
    pub fn open_with(
        url: &str,
        specs: Vec<MetricSpec>,
        interval: Duration,
        settings: &HttpSettings,
    ) -> Result<Self, PowerError> {
        let url = http::endpoint_url(NAME, url, "/metrics")?;
        let client = http::client(NAME, settings.timeout)?;
        let token = settings.token.clone();
        let body = match http::get_text(&client, &url, ACCEPT, token.as_deref()) {
            Ok(body) => body,
            Err(GetError::Status(401, why)) => {
                return Err(unavailable(http::refusal(&url, token.is_some(), &why)))
            }
            Err(e) => return Err(unavailable(format!("cannot scrape {url}: {e}"))),
        };
        let points = parse_exposition(&body).map_err(|e| {
            unavailable(format!(
                "{url} does not serve the Prometheus text format: {e}"
            ))
        })?;
        let have = || {
            let names = power_like_names(&points);
            if names.is_empty() {
                "it has no metric whose name contains power, energy, joule or watt".to_string()
            } else {
                format!("power-like metrics it has: {}", names.join(", "))
            }
        };
        let specs = if specs.is_empty() {
            let detected = MetricSpec::detect(&points);
            if detected.is_empty() {
                return Err(unavailable(format!(
                    "{url} has no power or energy metric this harness knows; name the ones to \
                     read ({})",
                    have()
                )));
            }
            detected
        } else {
            specs
        };
        // Only some of the node_rapl_joules_total zone specs need to match: a machine without
        // a psys zone is normal.
        let mut unmatched = Vec::new();
        for (name, group) in group_by_name(&specs) {
            if !group.iter().any(|s| points.iter().any(|p| s.matches(p))) {
                let filter: Vec<String> = group
                    .iter()
                    .filter(|s| !s.labels.is_empty())
                    .map(|s| {
                        let l: Vec<String> = s
                            .labels
                            .iter()
                            .map(|(k, v)| format!("{k}=\"{v}\""))
                            .collect();
                        format!("{{{}}}", l.join(","))
                    })
                    .collect();
                unmatched.push(format!("`{name}`{}", filter.join(" or ")));
            }
        }
        if !unmatched.is_empty() {
            return Err(unavailable(format!(
                "{url} has no series for {}; {}",
                unmatched.join(", "),
                have()
            )));
        }
        let description = describe(&url, &specs, &points);
        Ok(Self {
            host: crate::net::remote_host(&url),
            url,
            client,
            specs,
            ticker: Ticker::new(interval),
            description,
            counters: HashMap::new(),
            token,
        })
    }

    /// The URL scraped.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The specs read (the detected ones, when none were given).
    pub fn specs(&self) -> &[MetricSpec] {
        &self.specs
    }

    /// Continue counters across resets, in place.
    fn continue_counters(&mut self, sample: &mut Sample) {
        for rail in &mut sample.rails {
            let Some(raw) = rail.counter_j else { continue };
            let state = self.counters.entry(rail.rail.clone()).or_insert(Continued {
                last_raw: raw,
                total: raw,
            });
            if raw >= state.last_raw {
                state.total += raw - state.last_raw;
            } else {
                state.total += raw;
            }
            state.last_raw = raw;
            rail.counter_j = Some(state.total);
        }
    }
}

fn group_by_name(specs: &[MetricSpec]) -> Vec<(&str, Vec<&MetricSpec>)> {
    let mut groups: Vec<(&str, Vec<&MetricSpec>)> = Vec::new();
    for spec in specs {
        match groups.iter_mut().find(|(n, _)| *n == spec.name) {
            Some((_, group)) => group.push(spec),
            None => groups.push((&spec.name, vec![spec])),
        }
    }
    groups
}

fn describe(url: &Url, specs: &[MetricSpec], points: &[MetricPoint]) -> String {
    let parts: Vec<String> = group_by_name(specs)
        .into_iter()
        .map(|(name, group)| {
            let scopes: BTreeSet<&str> = group.iter().map(|s| s.scope.as_str()).collect();
            let rails: Vec<String> = group
                .iter()
                .flat_map(|spec| {
                    let series: Vec<&MetricPoint> =
                        points.iter().filter(|p| spec.matches(p)).collect();
                    rail_names(spec, &series)
                })
                .collect();
            format!(
                "{name} ({}, {}) as {}",
                group[0].unit.symbol(),
                scopes.into_iter().collect::<Vec<_>>().join("/"),
                rails.join(", ")
            )
        })
        .collect();
    format!("Prometheus endpoint {url}: {}", parts.join("; "))
}

fn unavailable(reason: String) -> PowerError {
    PowerError::Unavailable {
        source_name: NAME,
        reason,
    }
}

impl Source for PrometheusSource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        self.ticker.wait();
        let body = http::poll(NAME, &self.client, &self.url, ACCEPT, self.token.as_deref())?;
        let t_s = clock.now_s();
        let points = parse_exposition(&body)?;
        let mut sample = to_sample(&points, &self.specs, t_s, 0.0);
        sample.host = self.host.clone();
        self.continue_counters(&mut sample);
        Ok(Some(sample))
    }
}

#[cfg(test)]
mod tests;
