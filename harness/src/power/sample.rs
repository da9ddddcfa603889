//! What every power source produces: timestamped readings of named rails, plus the thermal
//! state where the source has it. One line of `power.jsonl` is one [`Sample`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One reading of a power source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds on the run's clock (the one measurements use) at the end of the reading's window.
    /// For imported captures: seconds since the start of the capture's first window.
    pub t_s: f64,
    /// Seconds the reading averages over, ending at `t_s`; 0 for an instantaneous reading.
    pub window_s: f64,
    /// Wall-clock time of the reading (RFC 3339), where the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc: Option<String>,
    /// The source: `powermetrics`, `macmon`, `nvml`, `rapl`, `prometheus`.
    pub source: String,
    /// The machine the reading describes when it is not this one (remote endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Power and energy per rail.
    pub rails: Vec<RailReading>,
    /// Thermal and supply state, where the source reports it.
    #[serde(default, skip_serializing_if = "Thermal::is_empty")]
    pub thermal: Thermal,
    /// A cluster's reading: how each node's endpoint answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scrapes: Vec<Scrape>,
}

/// How one node's power endpoint answered one tick of a cluster reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scrape {
    /// The node.
    pub node: String,
    /// Milliseconds from asking to the answer (or the failure), on the coordinator.
    pub latency_ms: f64,
    /// Why there was no reading, when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The rail that repeats `rail`'s power readings without its energy counter. Integrated, its
/// energy cross-checks the counter's: both are kept, and the counter's is the headline.
pub fn integrated_power_rail(rail: &str) -> String {
    format!("{rail}-power")
}

/// Power of one rail in one reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RailReading {
    /// Rail name, unique within its source (`cpu`, `gpu`, `ane`, `combined`, `gpu0`,
    /// `package-0`, `sys`).
    pub rail: String,
    /// What the rail covers; figures of different scopes are never added together.
    pub scope: Scope,
    /// Average watts over the window (instantaneous when the window is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watts: Option<f64>,
    /// A cumulative energy counter in joules (wrap-arounds already undone), where the hardware
    /// keeps one: preferred over integrating `watts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter_j: Option<f64>,
}

impl RailReading {
    /// A rail with an average power.
    pub fn watts(rail: impl Into<String>, scope: Scope, watts: f64) -> Self {
        Self {
            rail: rail.into(),
            scope,
            watts: Some(watts),
            counter_j: None,
        }
    }
}

/// What a rail measures. Rails of different scopes overlap or cover different parts of the
/// machine, so they are reported side by side, never summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// CPU cores and clusters (powermetrics `cpu_power`, macmon `cpu_power`).
    Cpu,
    /// An integrated GPU (Apple Silicon `gpu_power`).
    Gpu,
    /// Apple Neural Engine.
    Ane,
    /// CPU + GPU + ANE of an Apple SoC (powermetrics `combined_power`, macmon `all_power`):
    /// not the whole machine.
    CpuGpuAne,
    /// Memory (macmon `ram_power`, RAPL `dram`, old powermetrics `DRAM Power`).
    Dram,
    /// A CPU package (RAPL `package-N`, old powermetrics `Package Power`).
    Package,
    /// CPU cores only (RAPL `core`).
    Core,
    /// Integrated graphics and uncore (RAPL `uncore`).
    Uncore,
    /// The whole platform as the SoC sees it (RAPL `psys`).
    Platform,
    /// The whole machine as its power controller sees it (macmon `sys_power` from the SMC).
    System,
    /// A discrete GPU's whole board (NVML).
    GpuBoard,
    /// Anything else a user named (Prometheus metrics, hwmon sensors).
    Other,
    /// A cluster: the sum of every node's widest rail, taken only where every node was read.
    /// What each node's part covers is in the node's own rails.
    Cluster,
}

impl Scope {
    /// Every scope, in declaration order (for readers that match a scope written as text).
    pub const ALL: &'static [Scope] = &[
        Scope::Cpu,
        Scope::Gpu,
        Scope::Ane,
        Scope::CpuGpuAne,
        Scope::Dram,
        Scope::Package,
        Scope::Core,
        Scope::Uncore,
        Scope::Platform,
        Scope::System,
        Scope::GpuBoard,
        Scope::Other,
    ];

    /// The scope as written in results.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Cpu => "cpu",
            Scope::Gpu => "gpu",
            Scope::Ane => "ane",
            Scope::CpuGpuAne => "cpu-gpu-ane",
            Scope::Dram => "dram",
            Scope::Package => "package",
            Scope::Core => "core",
            Scope::Uncore => "uncore",
            Scope::Platform => "platform",
            Scope::System => "system",
            Scope::GpuBoard => "gpu-board",
            Scope::Other => "other",
            Scope::Cluster => "cluster",
        }
    }

    /// How much of the machine the scope covers, for picking the rail that headline figures
    /// use: the widest one measured.
    pub fn breadth(self) -> u8 {
        match self {
            Scope::Cluster => 10,
            Scope::System => 9,
            Scope::Platform => 8,
            Scope::CpuGpuAne => 7,
            Scope::Package => 6,
            Scope::GpuBoard => 5,
            Scope::Gpu => 4,
            Scope::Cpu => 3,
            Scope::Core => 2,
            Scope::Other => 1,
            Scope::Ane | Scope::Dram | Scope::Uncore => 0,
        }
    }
}

/// The power of successive readings of each rail: its watts, or, for a rail with only an
/// energy counter, the counter's growth over the time since that rail's previous reading
/// (none for its first reading, or across a counter reset).
#[derive(Debug, Default)]
pub struct RailPower {
    last_counter: BTreeMap<String, (f64, f64)>,
}

impl RailPower {
    /// Watts of `reading`, taken at `t_s`, of the rail called `key`.
    pub fn watts(&mut self, key: &str, t_s: f64, reading: &RailReading) -> Option<f64> {
        if let Some(w) = reading.watts {
            return Some(w);
        }
        let joules = reading.counter_j?;
        let (t0, j0) = self.last_counter.insert(key.to_string(), (t_s, joules))?;
        (t_s > t0 && joules >= j0).then(|| (joules - j0) / (t_s - t0))
    }
}

/// Of `items`, the one of the widest scope (one that headline figures can use: breadth above 0),
/// ties to the first by name: the rule of the headline rail, wherever a rail is picked.
pub fn widest<'a, T>(
    items: impl IntoIterator<Item = &'a T>,
    scope: impl Fn(&T) -> Scope,
    name: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    items
        .into_iter()
        .filter(|item| scope(item).breadth() > 0)
        .max_by(|a, b| {
            scope(a)
                .breadth()
                .cmp(&scope(b).breadth())
                .then_with(|| name(b).cmp(name(a)))
        })
}

/// Thermal and supply state at a reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thermal {
    /// macOS thermal pressure (`Nominal`, `Moderate`, `Heavy`, `Trapping`, `Sleeping`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<String>,
    /// Temperatures in °C by sensor (`cpu_avg`, `gpu_avg`, `gpu0`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub temps_c: BTreeMap<String, f64>,
    /// Clock frequencies in MHz by domain (`gpu`, `gpu0_sm`, `E-Cluster`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clocks_mhz: BTreeMap<String, f64>,
    /// Active clock-throttle reasons, as the source names them (NVML: `sw_power_cap`,
    /// `hw_slowdown`, `sw_thermal_slowdown`, ...), prefixed with the device where there are
    /// several (`gpu0:sw_power_cap`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle: Vec<String>,
    /// Whether the machine ran on battery (false: on AC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_battery: Option<bool>,
    /// Battery charge, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_percent: Option<f64>,
    /// Whether macOS Low Power Mode was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_power_mode: Option<bool>,
}

impl Thermal {
    /// Nothing reported.
    pub fn is_empty(&self) -> bool {
        self == &Thermal::default()
    }

    /// Why a measurement overlapping this reading is not representative, if it is not:
    /// thermal pressure above nominal, a thermal or power-brake throttle, or running on battery.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(p) = &self.pressure {
            if !p.eq_ignore_ascii_case("nominal") {
                flags.push(format!("thermal-pressure:{}", p.to_ascii_lowercase()));
            }
        }
        for reason in &self.throttle {
            let bare = reason.rsplit(':').next().unwrap_or(reason);
            if THROTTLE_FLAGGED.contains(&bare) {
                flags.push(format!("throttle:{reason}"));
            }
        }
        if self.on_battery == Some(true) {
            flags.push("on-battery".into());
        }
        if self.low_power_mode == Some(true) {
            flags.push("low-power-mode".into());
        }
        flags
    }
}

/// NVML throttle reasons that mean the clocks were held down by heat or the power limit, as
/// opposed to idling or a user's clock setting.
pub const THROTTLE_FLAGGED: &[&str] = &[
    "sw_power_cap",
    "hw_slowdown",
    "hw_thermal_slowdown",
    "hw_power_brake_slowdown",
    "sw_thermal_slowdown",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_round_trips_through_json_and_omits_empty_parts() {
        let sample = Sample {
            t_s: 1.5,
            window_s: 0.1,
            source: "nvml".into(),
            rails: vec![RailReading {
                counter_j: Some(12.0),
                ..RailReading::watts("gpu0", Scope::GpuBoard, 300.0)
            }],
            ..Sample::default()
        };
        let line = serde_json::to_string(&sample).unwrap();
        assert!(!line.contains("thermal"), "{line}");
        assert!(line.contains(r#""scope":"gpu-board""#), "{line}");
        assert_eq!(serde_json::from_str::<Sample>(&line).unwrap(), sample);
    }

    #[test]
    fn every_scope_is_listed_once_and_as_str_is_its_serde_name() {
        let mut seen = std::collections::BTreeSet::new();
        for scope in Scope::ALL {
            assert!(seen.insert(scope), "{scope:?} twice");
            let json = serde_json::to_string(scope).unwrap();
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
        }
        assert_eq!(seen.len(), 12);
    }

    #[test]
    fn flags_name_pressure_thermal_throttles_and_battery_but_not_idle_clocks() {
        let thermal = Thermal {
            pressure: Some("Heavy".into()),
            throttle: vec!["gpu0:gpu_idle".into(), "gpu1:sw_thermal_slowdown".into()],
            on_battery: Some(true),
            ..Thermal::default()
        };
        assert_eq!(
            thermal.flags(),
            [
                "thermal-pressure:heavy",
                "throttle:gpu1:sw_thermal_slowdown",
                "on-battery"
            ]
        );
        let calm = Thermal {
            pressure: Some("Nominal".into()),
            on_battery: Some(false),
            ..Thermal::default()
        };
        assert!(calm.flags().is_empty());
    }

    #[test]
    fn rail_power_is_the_watts_or_the_counters_growth() {
        let counter = |j: f64| RailReading {
            rail: "pkg".into(),
            scope: Scope::Package,
            watts: None,
            counter_j: Some(j),
        };
        let mut power = RailPower::default();
        assert_eq!(
            power.watts("pkg", 1.0, &counter(100.0)),
            None,
            "no rate yet"
        );
        assert_eq!(power.watts("pkg", 3.0, &counter(150.0)), Some(25.0));
        assert_eq!(power.watts("pkg", 4.0, &counter(10.0)), None, "a reset");
        assert_eq!(power.watts("pkg", 5.0, &counter(20.0)), Some(10.0));
        let gauge = RailReading::watts("sys", Scope::System, 7.5);
        assert_eq!(power.watts("sys", 5.0, &gauge), Some(7.5));
    }
}
