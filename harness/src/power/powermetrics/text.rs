//! `powermetrics` default text output, as people save it (`sudo powermetrics > log.txt`).
//!
//! Each sample starts with a header, `*** Sampled system activity (<date>) (<N>ms elapsed) ***`,
//! and its figures follow as `Label: value unit` lines. Two generations of power lines exist:
//!
//! - macOS 13 and later: `CPU Power`, `GPU Power`, `ANE Power` and
//!   `Combined Power (CPU + GPU + ANE)`, all in mW;
//! - Big Sur and Monterey: per-cluster `E-Cluster Power`/`P-Cluster Power`, `Clusters Total
//!   Power` (Big Sur) or `CPU Power` (Monterey), `GPU Power`, `ANE Power`, `DRAM Power` and
//!   `Package Power`;
//! - Intel Macs: `Intel energy model derived package power (CPUs+GT+SA): 2.48W`.
//!
//! Everything else (tasks, interrupts, per-CPU residencies) is skipped.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::power::{Imported, Position, PowerError, RailReading, Sample, Scope, Thermal};

/// The format name in errors about text captures.
pub(crate) const FORMAT: &str = "powermetrics-text";

/// How every sample's header starts.
const HEADER: &str = "*** Sampled system activity";

/// Where a power line's figure goes.
#[derive(Debug, Clone, PartialEq)]
enum Rail {
    Cpu,
    Gpu,
    Ane,
    Combined,
    Package,
    Dram,
    /// Big Sur's name for the CPU total (the sum of the cluster lines).
    ClustersTotal,
    /// One CPU cluster (`E-Cluster`, `P0-Cluster`, ...), named as the chip names it.
    Cluster(String),
}

/// A line this importer reads.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    /// A power figure (`mW` or `W`).
    Power(Rail),
    /// A clock in MHz, by domain (`gpu`, or the cluster's name).
    Clock(String),
    /// `Current pressure level: Nominal`.
    Pressure,
    /// `Battery: percent_charge: 36`.
    Battery,
}

/// What a line's label says it holds, if it is one this importer reads.
fn field(label: &str) -> Option<Field> {
    let power = |rail| Some(Field::Power(rail));
    match label {
        "CPU Power" => return power(Rail::Cpu),
        "GPU Power" => return power(Rail::Gpu),
        "ANE Power" => return power(Rail::Ane),
        "Package Power" => return power(Rail::Package),
        "DRAM Power" => return power(Rail::Dram),
        "Clusters Total Power" => return power(Rail::ClustersTotal),
        "GPU HW active frequency" | "GPU active frequency" => {
            return Some(Field::Clock("gpu".into()))
        }
        "Current pressure level" => return Some(Field::Pressure),
        "Battery" => return Some(Field::Battery),
        _ => {}
    }
    if label.starts_with("Combined Power") {
        return power(Rail::Combined);
    }
    if label.starts_with("Intel energy model derived package power") {
        return power(Rail::Package);
    }
    // Cluster names differ by chip, so match the shape, not the name.
    if let Some(name) = label.strip_suffix(" Power") {
        if name.ends_with("Cluster") {
            return power(Rail::Cluster(name.into()));
        }
    }
    if let Some(name) = label.strip_suffix(" HW active frequency") {
        if name.ends_with("Cluster") {
            return Some(Field::Clock(name.into()));
        }
    }
    None
}

/// The sample being read.
#[derive(Debug, Default)]
struct Pending {
    elapsed_s: f64,
    utc: Option<String>,
    /// Power figures in W, in the order they appeared; the first of a repeated label counts
    /// (current macOS prints `GPU Power` in both the CPU and the GPU section).
    powers: Vec<(Rail, f64)>,
    thermal: Thermal,
}

impl Pending {
    fn read(&mut self, field: Field, value: &str) -> Result<(), String> {
        match field {
            Field::Power(rail) => {
                let w = match quantity(value) {
                    Some((x, "mW")) => x / 1e3,
                    Some((x, "W")) => x,
                    _ => return Err(format!("expected a power in mW or W, found {value:?}")),
                };
                if !self.powers.iter().any(|(r, _)| *r == rail) {
                    self.powers.push((rail, w));
                }
            }
            Field::Clock(domain) => {
                let mhz = match quantity(value) {
                    Some((x, "MHz")) => x,
                    _ => return Err(format!("expected a frequency in MHz, found {value:?}")),
                };
                self.thermal.clocks_mhz.entry(domain).or_insert(mhz);
            }
            Field::Pressure => {
                if value.is_empty() {
                    return Err("empty pressure level".into());
                }
                self.thermal.pressure = Some(value.to_string());
            }
            Field::Battery => {
                // Only the charge is read; a battery line of another shape is not ours to judge.
                if let Some(charge) = value.strip_prefix("percent_charge:") {
                    let (percent, _) = quantity(charge)
                        .ok_or_else(|| format!("expected `percent_charge: N`, found {value:?}"))?;
                    self.thermal.battery_percent = Some(percent);
                }
            }
        }
        Ok(())
    }

    fn into_sample(self, t_s: f64) -> Sample {
        let get = |rail: &Rail| self.powers.iter().find(|(r, _)| r == rail).map(|p| p.1);
        let mut rails = Vec::new();
        let mut push = |name: &str, scope, w: Option<f64>| {
            if let Some(w) = w {
                rails.push(RailReading::watts(name, scope, w));
            }
        };
        push(
            "cpu",
            Scope::Cpu,
            get(&Rail::Cpu).or_else(|| get(&Rail::ClustersTotal)),
        );
        push("gpu", Scope::Gpu, get(&Rail::Gpu));
        push("ane", Scope::Ane, get(&Rail::Ane));
        push("combined", Scope::CpuGpuAne, get(&Rail::Combined));
        push("package", Scope::Package, get(&Rail::Package));
        push("dram", Scope::Dram, get(&Rail::Dram));
        for (rail, w) in &self.powers {
            if let Rail::Cluster(name) = rail {
                push(name, Scope::Other, Some(*w));
            }
        }
        Sample {
            t_s,
            window_s: self.elapsed_s,
            utc: self.utc,
            source: "powermetrics".into(),
            host: None,
            rails,
            thermal: self.thermal,
            scrapes: Vec::new(),
        }
    }
}

/// A number and the unit after it (`954 mW`, `2.48W`, `36`).
fn quantity(value: &str) -> Option<(f64, &str)> {
    let value = value.trim();
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(value.len());
    let x: f64 = value[..end].parse().ok()?;
    x.is_finite().then_some((x, value[end..].trim()))
}

/// The window and wall-clock time of a header, from what follows `*** Sampled system activity`:
/// ` (Sat Nov  8 15:54:21 2025 +0900) (5021.96ms elapsed) ***`.
fn header(rest: &str) -> Result<(f64, Option<String>), String> {
    let mut elapsed_s = None;
    let mut utc = None;
    let mut s = rest;
    while let Some(open) = s.find('(') {
        let Some(len) = s[open..].find(')') else {
            break;
        };
        let group = s[open + 1..open + len].trim();
        s = &s[open + len + 1..];
        if let Some(ms) = group.strip_suffix("elapsed") {
            let ms = ms.trim();
            let ms = ms.strip_suffix("ms").unwrap_or(ms).trim();
            match ms.parse::<f64>() {
                Ok(ms) if ms.is_finite() && ms > 0.0 => elapsed_s = Some(ms / 1e3),
                _ => return Err(format!("unreadable sample window ({group})")),
            }
        } else if utc.is_none() {
            utc = wall_clock(group);
        }
    }
    let elapsed_s = elapsed_s.ok_or("sample header without its `(N ms elapsed)` window")?;
    Ok((elapsed_s, utc))
}

/// A header date (`Sat Nov  8 15:54:21 2025 +0900`) as RFC 3339 UTC; `None` if it is in
/// another form, as a date is a nicety, not needed to place the sample.
fn wall_clock(date: &str) -> Option<String> {
    let local = DateTime::parse_from_str(date, "%a %b %e %H:%M:%S %Y %z").ok()?;
    Some(
        local
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// Read a saved `powermetrics` text log.
///
/// Rails: `cpu` (`CPU Power`, or Big Sur's `Clusters Total Power`), `gpu`, `ane`, `combined`
/// (scope CPU + GPU + ANE), `package` and `dram` (older macOS and Intel), and one rail per CPU
/// cluster power line (scope other, named after the cluster, e.g. `E-Cluster`). Clocks: `gpu`
/// and each cluster's `HW active frequency`; also the thermal pressure and battery charge.
///
/// Each sample's `t_s` is the time since the start of the first window (the first sample's is
/// its own window). Reading stops at a header without its window, a figure that does not
/// parse, or a power line before any header, keeping the samples completed before it.
pub fn import_text(text: &str) -> Imported {
    let mut imported = Imported::default();
    let mut pending: Option<Pending> = None;
    let mut t_s = 0.0;
    let fail = |mut imported: Imported, line: usize, message: String| {
        imported.error = Some(PowerError::Malformed {
            format: FORMAT,
            position: Position::Line(line),
            message,
        });
        imported
    };
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim();
        if let Some(rest) = line.strip_prefix(HEADER) {
            if let Some(done) = pending.take() {
                t_s += done.elapsed_s;
                imported.samples.push(done.into_sample(t_s));
            }
            match header(rest) {
                Ok((elapsed_s, utc)) => {
                    pending = Some(Pending {
                        elapsed_s,
                        utc,
                        ..Pending::default()
                    })
                }
                Err(message) => return fail(imported, number, message),
            }
            continue;
        }
        let Some((label, value)) = line.split_once(':') else {
            continue;
        };
        let Some(field) = field(label.trim()) else {
            continue;
        };
        let Some(sample) = pending.as_mut() else {
            let message = format!(
                "`{}` before any `{HEADER}` header: the sample's window is unknown",
                label.trim()
            );
            return fail(imported, number, message);
        };
        if let Err(message) = sample.read(field, value.trim()) {
            return fail(imported, number, format!("{}: {message}", label.trim()));
        }
    }
    if let Some(done) = pending {
        t_s += done.elapsed_s;
        imported.samples.push(done.into_sample(t_s));
    }
    imported
}

#[cfg(test)]
mod tests {
    use super::*;

    const M4_MAX: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/apple/text_m4max_Mac16-6_BinSquare-powermetrics-go.log"
    );

    use crate::power::testing::{close, rails};

    fn line_of(err: &Option<PowerError>) -> usize {
        match err {
            Some(PowerError::Malformed {
                format,
                position: Position::Line(n),
                ..
            }) => {
                assert_eq!(*format, FORMAT);
                *n
            }
            other => panic!("expected a malformed-text error, got {other:?}"),
        }
    }

    #[test]
    fn m4_max_log_reads_its_sample() {
        let text = std::fs::read_to_string(M4_MAX).unwrap();
        let imported = import_text(&text);
        assert!(imported.error.is_none(), "{:?}", imported.error);
        // The log holds one sample.
        assert_eq!(imported.samples.len(), 1);
        let s = &imported.samples[0];
        // (5021.96ms elapsed); 15:54:21 at +0900 is 06:54:21 UTC.
        assert!(close(s.window_s, 5.02196));
        assert!(close(s.t_s, 5.02196));
        assert_eq!(s.utc.as_deref(), Some("2025-11-08T06:54:21Z"));
        assert_eq!(s.source, "powermetrics");
        // CPU 954 mW, GPU 28 mW (printed twice, equal), ANE 0 mW, Combined 983 mW.
        assert_eq!(
            rails(s),
            [
                ("cpu", Scope::Cpu, 0.954),
                ("gpu", Scope::Gpu, 0.028),
                ("ane", Scope::Ane, 0.0),
                ("combined", Scope::CpuGpuAne, 0.983)
            ]
        );
        // Cluster clocks are MHz already; per-CPU `frequency` lines are not clocks here.
        let clocks = &s.thermal.clocks_mhz;
        assert_eq!(clocks.len(), 4, "{clocks:?}");
        assert_eq!(clocks["E-Cluster"], 1293.0);
        assert_eq!(clocks["P0-Cluster"], 2507.0);
        assert_eq!(clocks["P1-Cluster"], 2316.0);
        assert_eq!(clocks["gpu"], 338.0);
        // `Battery: percent_charge: 36`; no thermal sampler ran, so no pressure.
        assert_eq!(s.thermal.battery_percent, Some(36.0));
        assert_eq!(s.thermal.on_battery, None);
        assert_eq!(s.thermal.pressure, None);
    }

    /// Big Sur on an M1 (macOS 11): per-cluster powers, `Clusters Total Power`, DRAM and
    /// Package; `GPU Power` printed in the processor and the GPU section. Two samples, the
    /// second one under pressure.
    const BIG_SUR: &str = "\
Machine model: MacBookAir10,1
SMC version: Unknown
EFI version: Unknown
OS version: 20D91
Boot arguments:
Boot time: Mon Mar  8 09:12:03 2021



*** Sampled system activity (Wed Mar 10 10:08:53 2021 -0800) (1004.38ms elapsed) ***

*** Running tasks ***

Name                               ID     CPU ms/s  User%  Deadlines (<2 ms, 2-5 ms)  Wakeups (Intr, Pkg idle)
WindowServer                       143    20.13     44.20  13.94   0.00               48.79   0.00
ALL_TASKS                          -2     61.72     50.15  27.88   0.00               398.26  0.00

**** Processor usage ****

E-Cluster Power: 26 mW
E-Cluster HW active frequency: 1035 MHz
E-Cluster HW active residency:  30.80% (600 MHz:   0% 972 MHz:  79% 1332 MHz: 6.8% 1704 MHz: 3.2% 2064 MHz:  11%)
E-Cluster idle residency:  69.20%
CPU 0 frequency: 1071 MHz
CPU 0 active residency:  21.48% (600 MHz:   0% 972 MHz:  17% 1332 MHz: 1.5% 1704 MHz: .77% 2064 MHz: 2.3%)
CPU 0 idle residency:  78.52%
P-Cluster Power: 7 mW
P-Cluster HW active frequency: 600 MHz
P-Cluster HW active residency:   0.38% (600 MHz: 100% 828 MHz:   0% 1056 MHz:   0%)
P-Cluster idle residency:  99.62%
CPU 4 frequency: 2138 MHz
CPU 4 active residency:   0.30% (600 MHz: .13% 828 MHz:   0% 1056 MHz:   0%)
CPU 4 idle residency:  99.70%

ANE Power: 0 mW
DRAM Power: 13 mW
Clusters Total Power: 33 mW
GPU Power: 2 mW
Package Power: 56 mW

**** GPU usage ****

GPU active frequency: 396 MHz
GPU active residency:   0.52% (396 MHz: .52% 528 MHz:   0% 720 MHz:   0% 924 MHz:   0% 1128 MHz:   0% 1278 MHz:   0%)
GPU requested frequency: (396 MHz: .52% 528 MHz:   0% 720 MHz:   0% 924 MHz:   0% 1128 MHz:   0% 1278 MHz:   0%)
GPU idle residency:  99.48%
GPU Power: 2 mW

**** Thermal pressure ****

Current pressure level: Nominal


*** Sampled system activity (Wed Mar 10 10:08:54 2021 -0800) (1001.12ms elapsed) ***

**** Processor usage ****

E-Cluster Power: 412 mW
E-Cluster HW active frequency: 2064 MHz
P-Cluster Power: 6931 mW
P-Cluster HW active frequency: 3204 MHz

ANE Power: 0 mW
DRAM Power: 702 mW
Clusters Total Power: 7343 mW
GPU Power: 1150 mW
Package Power: 9630 mW

**** GPU usage ****

GPU active frequency: 1278 MHz
GPU Power: 1150 mW

**** Thermal pressure ****

Current pressure level: Moderate
";

    #[test]
    fn big_sur_log_reads_package_dram_and_cluster_rails() {
        let imported = import_text(BIG_SUR);
        assert!(imported.error.is_none(), "{:?}", imported.error);
        assert_eq!(imported.samples.len(), 2);
        let (a, b) = (&imported.samples[0], &imported.samples[1]);
        // Windows 1004.38 ms and 1001.12 ms; t_s adds them up.
        assert!(close(a.t_s, 1.00438));
        assert!(close(b.t_s, 1.00438 + 1.00112));
        assert!(close(b.window_s, 1.00112));
        // 10:08:53 at -0800 is 18:08:53 UTC.
        assert_eq!(a.utc.as_deref(), Some("2021-03-10T18:08:53Z"));
        // cpu from `Clusters Total Power` (26 + 7 = 33 mW), then the clusters as `other`.
        assert_eq!(
            rails(a),
            [
                ("cpu", Scope::Cpu, 0.033),
                ("gpu", Scope::Gpu, 0.002),
                ("ane", Scope::Ane, 0.0),
                ("package", Scope::Package, 0.056),
                ("dram", Scope::Dram, 0.013),
                ("E-Cluster", Scope::Other, 0.026),
                ("P-Cluster", Scope::Other, 0.007),
            ]
        );
        assert_eq!(a.thermal.pressure.as_deref(), Some("Nominal"));
        assert_eq!(a.thermal.clocks_mhz["E-Cluster"], 1035.0);
        assert_eq!(a.thermal.clocks_mhz["P-Cluster"], 600.0);
        assert_eq!(a.thermal.clocks_mhz["gpu"], 396.0);
        assert_eq!(a.thermal.clocks_mhz.len(), 3);
        assert_eq!(
            rails(b),
            [
                ("cpu", Scope::Cpu, 7.343),
                ("gpu", Scope::Gpu, 1.15),
                ("ane", Scope::Ane, 0.0),
                ("package", Scope::Package, 9.63),
                ("dram", Scope::Dram, 0.702),
                ("E-Cluster", Scope::Other, 0.412),
                ("P-Cluster", Scope::Other, 6.931),
            ]
        );
        assert_eq!(b.thermal.pressure.as_deref(), Some("Moderate"));
        assert_eq!(b.thermal.flags(), ["thermal-pressure:moderate"]);
    }

    #[test]
    fn monterey_cpu_power_wins_over_clusters_total() {
        // Monterey prints `CPU Power`; were both present, `CPU Power` is the CPU figure.
        let text = "\
*** Sampled system activity (Thu Jan 13 11:02:07 2022 +0100) (5003.52ms elapsed) ***
E-Cluster Power: 31 mW
P-Cluster Power: 208 mW
ANE Power: 0 mW
DRAM Power: 41 mW
CPU Power: 239 mW
Clusters Total Power: 240 mW
GPU Power: 12 mW
Package Power: 318 mW
";
        let imported = import_text(text);
        assert!(imported.error.is_none(), "{:?}", imported.error);
        let s = &imported.samples[0];
        assert_eq!(rails(s)[0], ("cpu", Scope::Cpu, 0.239));
        assert_eq!(s.utc.as_deref(), Some("2022-01-13T10:02:07Z"));
    }

    #[test]
    fn intel_package_power_is_the_package_rail() {
        let text = "\
*** Sampled system activity (Tue Oct  3 09:41:12 2023 +0000) (1003.51ms elapsed) ***

**** Processor usage ****

Intel energy model derived package power (CPUs+GT+SA): 2.48W
";
        let imported = import_text(text);
        assert!(imported.error.is_none(), "{:?}", imported.error);
        assert_eq!(
            rails(&imported.samples[0]),
            [("package", Scope::Package, 2.48)]
        );
    }

    #[test]
    fn a_figure_that_does_not_parse_stops_there() {
        let text = "\
*** Sampled system activity (Wed Mar 10 10:08:53 2021 -0800) (1004.38ms elapsed) ***
CPU Power: 33 mW
*** Sampled system activity (Wed Mar 10 10:08:54 2021 -0800) (1001.12ms elapsed) ***
CPU Power: 40 mW
GPU Power: n/a mW
*** Sampled system activity (Wed Mar 10 10:08:55 2021 -0800) (1001.12ms elapsed) ***
CPU Power: 41 mW
";
        let imported = import_text(text);
        // The first sample is kept; the second, with the bad line 5, is dropped.
        assert_eq!(imported.samples.len(), 1);
        assert_eq!(rails(&imported.samples[0]), [("cpu", Scope::Cpu, 0.033)]);
        assert_eq!(line_of(&imported.error), 5);
        let message = imported.error.unwrap().to_string();
        assert!(message.contains("GPU Power"), "{message}");

        // A unit that is not a power is an error too.
        let imported = import_text(&text.replace("n/a mW", "12 MHz"));
        assert_eq!(line_of(&imported.error), 5);
    }

    #[test]
    fn a_header_without_its_window_stops_there() {
        let text = "\
*** Sampled system activity (Wed Mar 10 10:08:53 2021 -0800) (1004.38ms elapsed) ***
CPU Power: 33 mW

*** Sampled system activity (Wed Mar 10 10:08:54 2021 -0800) ***
CPU Power: 40 mW
";
        let imported = import_text(text);
        assert_eq!(imported.samples.len(), 1);
        assert_eq!(line_of(&imported.error), 4);
        let imported =
            import_text(&text.replace("***\nCPU Power: 40", "(soon elapsed) ***\nCPU Power: 40"));
        assert_eq!(imported.samples.len(), 1);
        assert_eq!(line_of(&imported.error), 4);
    }

    #[test]
    fn power_before_any_header_is_an_error() {
        // A log cut at its start: its first sample's window is lost.
        let text = "GPU Power: 28 mW\nCombined Power (CPU + GPU + ANE): 983 mW\n";
        let imported = import_text(text);
        assert!(imported.samples.is_empty());
        assert_eq!(line_of(&imported.error), 1);
    }

    #[test]
    fn empty_or_header_only_text() {
        let imported = import_text("");
        assert!(imported.samples.is_empty());
        assert!(imported.error.is_none());
        // A preamble alone is not damage.
        let imported = import_text("Machine model: Mac16,6\nOS version: 24F74\n");
        assert!(imported.samples.is_empty());
        assert!(imported.error.is_none());
    }

    #[test]
    fn unreadable_header_date_leaves_utc_empty() {
        let text =
            "*** Sampled system activity (sometime) (1000ms elapsed) ***\r\nCPU Power: 1 W\r\n";
        let imported = import_text(text);
        assert!(imported.error.is_none(), "{:?}", imported.error);
        let s = &imported.samples[0];
        assert_eq!(s.utc, None);
        assert_eq!(rails(s), [("cpu", Scope::Cpu, 1.0)]);
        assert!(close(s.window_s, 1.0));
    }
}
