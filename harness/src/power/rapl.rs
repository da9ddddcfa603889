//! Linux energy counters: RAPL zones under `/sys/class/powercap` (package, core, uncore, DRAM,
//! platform) and hwmon sensors that report power (`power*_input`, `power*_average`, µW) or
//! energy (`energy*_input`, µJ).
//!
//! RAPL counters wrap at `max_energy_range_uj`; each rail keeps a running total that undoes
//! the wrap, so energy over any span is a plain difference. Since 2020 most kernels let only
//! root read `energy_uj`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{PowerError, RailReading, Sample, Scope, Source, Ticker};
use crate::clock::RunClock;

const NAME: &str = "rapl";

/// Where the kernel publishes power.
pub const POWERCAP: &str = "/sys/class/powercap";
/// Where hwmon sensors live.
pub const HWMON: &str = "/sys/class/hwmon";

/// One file read per sample.
#[derive(Debug)]
struct Rail {
    rail: String,
    scope: Scope,
    file: PathBuf,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// A µJ counter that wraps at this many µJ (0: never seen to wrap).
    Counter {
        wrap_uj: u64,
        last_uj: Option<u64>,
        total_j: f64,
    },
    /// A power reading in µW.
    Power,
}

/// RAPL zones and hwmon power sensors, polled every interval.
pub struct RaplSource {
    rails: Vec<Rail>,
    ticker: Ticker,
    last: Option<(f64, Vec<Option<f64>>)>,
}

impl RaplSource {
    /// Find the readable rails under the standard sysfs folders.
    pub fn open(interval: Duration) -> Result<Self, PowerError> {
        Self::open_at(Path::new(POWERCAP), Path::new(HWMON), interval)
    }

    /// Find the readable rails under `powercap` and `hwmon` (folders laid out as in sysfs).
    pub fn open_at(powercap: &Path, hwmon: &Path, interval: Duration) -> Result<Self, PowerError> {
        let mut rails = Vec::new();
        let mut unreadable = Vec::new();
        find_rapl(powercap, &mut rails, &mut unreadable);
        find_hwmon(hwmon, &mut rails, &mut unreadable);
        if rails.is_empty() {
            let reason = if unreadable.is_empty() {
                format!(
                    "no RAPL zone under {} and no hwmon power sensor under {}",
                    powercap.display(),
                    hwmon.display()
                )
            } else {
                format!(
                    "{} cannot be read (RAPL counters are root-only on most kernels: run as root, or `chmod o+r` them)",
                    unreadable.join(", ")
                )
            };
            return Err(PowerError::Unavailable {
                source_name: NAME,
                reason,
            });
        }
        Ok(Self {
            rails,
            ticker: Ticker::new(interval),
            last: None,
        })
    }

    fn read(&mut self, clock: &RunClock) -> Result<Sample, PowerError> {
        let t = clock.now_s();
        let mut sample = Sample {
            t_s: t,
            source: NAME.into(),
            ..Sample::default()
        };
        let mut counters = Vec::with_capacity(self.rails.len());
        for rail in &mut self.rails {
            let value = read_u64(&rail.file).map_err(|e| PowerError::Failed {
                source_name: NAME,
                reason: format!("{}: {e}", rail.file.display()),
            })?;
            match &mut rail.kind {
                Kind::Counter {
                    wrap_uj,
                    last_uj,
                    total_j,
                } => {
                    if let Some(last) = *last_uj {
                        let delta = if value >= last {
                            value - last
                        } else {
                            // Wrapped: the counter restarted from 0 after reaching its range.
                            wrap_uj.saturating_sub(last) + value
                        };
                        *total_j += delta as f64 * 1e-6;
                    }
                    *last_uj = Some(value);
                    counters.push(Some(*total_j));
                    sample.rails.push(RailReading {
                        rail: rail.rail.clone(),
                        scope: rail.scope,
                        watts: None,
                        counter_j: Some(*total_j),
                    });
                }
                Kind::Power => {
                    counters.push(None);
                    sample.rails.push(RailReading::watts(
                        rail.rail.clone(),
                        rail.scope,
                        value as f64 * 1e-6,
                    ));
                }
            }
        }
        // Average power since the previous sample, for display; energy uses the counters.
        if let Some((last_t, last_counters)) = &self.last {
            let dt = t - last_t;
            if dt > 0.0 {
                sample.window_s = dt;
                for ((reading, now), before) in
                    sample.rails.iter_mut().zip(&counters).zip(last_counters)
                {
                    if let (Some(now), Some(before)) = (now, before) {
                        reading.watts = Some((now - before) / dt);
                    }
                }
            }
        }
        self.last = Some((t, counters));
        Ok(sample)
    }
}

impl Source for RaplSource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        let rails: Vec<String> = self
            .rails
            .iter()
            .map(|r| format!("{} ({})", r.rail, r.scope.as_str()))
            .collect();
        format!("Linux powercap/hwmon: {}", rails.join(", "))
    }

    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        self.ticker.wait();
        self.read(clock).map(Some)
    }
}

fn read_u64(path: &Path) -> std::io::Result<u64> {
    let text = fs::read_to_string(path)?;
    text.trim().parse().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an integer: {:?}", text.trim()),
        )
    })
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map(|it| it.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

fn find_rapl(powercap: &Path, rails: &mut Vec<Rail>, unreadable: &mut Vec<String>) {
    for zone in sorted_entries(powercap) {
        let Some(dir_name) = zone.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // `intel-rapl:0` is a package, `intel-rapl:0:1` a subzone of it; the `intel-rapl`
        // control folder itself has no counter. AMD CPUs use the same driver and names.
        if !dir_name.contains(':') {
            continue;
        }
        let Ok(name) = fs::read_to_string(zone.join("name")) else {
            continue;
        };
        let name = name.trim().to_string();
        let file = zone.join("energy_uj");
        if let Err(e) = read_u64(&file) {
            unreadable.push(format!("{} ({e})", file.display()));
            continue;
        }
        let wrap_uj = read_u64(&zone.join("max_energy_range_uj")).unwrap_or(0);
        let parent = dir_name.rsplit_once(':').map(|(p, _)| p).unwrap_or("");
        let rail = if parent.contains(':') {
            // A subzone: qualify it with its package so two sockets' `core` rails differ.
            let package = fs::read_to_string(powercap.join(parent).join("name"))
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|_| parent.to_string());
            format!("{package}/{name}")
        } else {
            name.clone()
        };
        let base = name.split('-').next().unwrap_or(&name);
        let scope = match base {
            "package" => Scope::Package,
            "core" => Scope::Core,
            "uncore" => Scope::Uncore,
            "dram" => Scope::Dram,
            "psys" => Scope::Platform,
            _ => Scope::Other,
        };
        rails.push(Rail {
            rail,
            scope,
            file,
            kind: Kind::Counter {
                wrap_uj,
                last_uj: None,
                total_j: 0.0,
            },
        });
    }
}

fn find_hwmon(hwmon: &Path, rails: &mut Vec<Rail>, unreadable: &mut Vec<String>) {
    for dev in sorted_entries(hwmon) {
        let device = fs::read_to_string(dev.join("name"))
            .map(|n| n.trim().to_string())
            .unwrap_or_else(|_| {
                dev.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        for file in sorted_entries(&dev) {
            let Some(fname) = file.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let kind = if fname.starts_with("energy") && fname.ends_with("_input") {
                Kind::Counter {
                    wrap_uj: 0,
                    last_uj: None,
                    total_j: 0.0,
                }
            } else if fname.starts_with("power")
                && (fname.ends_with("_input") || fname.ends_with("_average"))
            {
                Kind::Power
            } else {
                continue;
            };
            if let Err(e) = read_u64(&file) {
                unreadable.push(format!("{} ({e})", file.display()));
                continue;
            }
            let sensor = fname.split('_').next().unwrap_or(fname);
            let label = fs::read_to_string(dev.join(format!("{sensor}_label")))
                .map(|l| l.trim().to_string())
                .unwrap_or_else(|_| sensor.to_string());
            rails.push(Rail {
                rail: format!("hwmon:{device}/{label}"),
                scope: Scope::Other,
                file,
                kind,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn sysfs() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let pc = root.path().join("powercap");
        write(&pc.join("intel-rapl/enabled"), "1\n");
        write(&pc.join("intel-rapl:0/name"), "package-0\n");
        write(&pc.join("intel-rapl:0/energy_uj"), "999000000\n");
        write(&pc.join("intel-rapl:0/max_energy_range_uj"), "1000000000\n");
        write(&pc.join("intel-rapl:0:0/name"), "core\n");
        write(&pc.join("intel-rapl:0:0/energy_uj"), "5000000\n");
        write(
            &pc.join("intel-rapl:0:0/max_energy_range_uj"),
            "1000000000\n",
        );
        let hw = root.path().join("hwmon");
        write(&hw.join("hwmon0/name"), "amdgpu\n");
        write(&hw.join("hwmon0/power1_average"), "35000000\n");
        write(&hw.join("hwmon0/power1_label"), "PPT\n");
        write(&hw.join("hwmon0/temp1_input"), "40000\n");
        root
    }

    #[test]
    fn counters_wrap_subzones_are_qualified_and_hwmon_power_is_read() {
        let root = sysfs();
        let pc = root.path().join("powercap");
        let mut source =
            RaplSource::open_at(&pc, &root.path().join("hwmon"), Duration::from_millis(1)).unwrap();
        let description = source.describe();
        assert!(description.contains("package-0 (package)"), "{description}");
        assert!(
            description.contains("package-0/core (core)"),
            "{description}"
        );
        assert!(
            description.contains("hwmon:amdgpu/PPT (other)"),
            "{description}"
        );

        let clock = RunClock::start();
        let first = source.next(&clock).unwrap().unwrap();
        assert_eq!(first.rails[0].counter_j, Some(0.0));
        // The package counter wraps: 999 J → 1000 J (range) → 3 J: 4 J were used.
        fs::write(pc.join("intel-rapl:0/energy_uj"), "3000000\n").unwrap();
        fs::write(pc.join("intel-rapl:0:0/energy_uj"), "6500000\n").unwrap();
        let second = source.next(&clock).unwrap().unwrap();
        let by_name = |name: &str| second.rails.iter().find(|r| r.rail == name).unwrap();
        assert!((by_name("package-0").counter_j.unwrap() - 4.0).abs() < 1e-9);
        assert!((by_name("package-0/core").counter_j.unwrap() - 1.5).abs() < 1e-9);
        assert_eq!(by_name("hwmon:amdgpu/PPT").watts, Some(35.0));
        assert!(second.window_s > 0.0);
        let w = by_name("package-0").watts.unwrap();
        assert!((w - 4.0 / second.window_s).abs() < 1e-6);
    }

    #[test]
    fn nothing_readable_is_unavailable_with_the_reason() {
        let root = tempfile::tempdir().unwrap();
        let err = RaplSource::open_at(
            &root.path().join("none"),
            &root.path().join("none"),
            Duration::from_millis(1),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("no RAPL zone"), "{err}");

        let pc = root.path().join("powercap");
        write(&pc.join("intel-rapl:0/name"), "package-0\n");
        fs::create_dir_all(pc.join("intel-rapl:0/energy_uj")).unwrap(); // unreadable as a file
        let err = RaplSource::open_at(&pc, &root.path().join("none"), Duration::from_millis(1))
            .err()
            .unwrap();
        assert!(err.to_string().contains("root"), "{err}");
    }

    #[test]
    fn a_counter_that_vanishes_fails_the_source() {
        let root = sysfs();
        let pc = root.path().join("powercap");
        let mut source =
            RaplSource::open_at(&pc, &root.path().join("hwmon"), Duration::from_millis(1)).unwrap();
        let clock = RunClock::start();
        source.next(&clock).unwrap();
        fs::remove_file(pc.join("intel-rapl:0/energy_uj")).unwrap();
        assert!(matches!(
            source.next(&clock),
            Err(PowerError::Failed { .. })
        ));
    }
}
