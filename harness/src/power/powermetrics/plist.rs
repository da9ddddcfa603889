//! `powermetrics -f plist`: a stream of XML property lists, one per sample.
//!
//! powermetrics writes each sample as a complete XML plist and separates samples with a NUL
//! byte (`</plist>\n\0<?xml ...`), with no NUL after the last one. [`PlistStream`] cuts that
//! stream into documents as bytes arrive, in whatever chunks the pipe delivers them;
//! [`parse_document`] reads one document into a [`Reading`]; [`import_plist`] does both for a
//! saved capture.
//!
//! Units, as checked against real captures: `*_energy` keys are integer millijoules over the
//! window, `*_power` keys are milliwatt averages over it, `elapsed_ns` is the real window
//! (a little longer than the interval asked for), cluster `freq_hz` is in Hz but `gpu.freq_hz`
//! is in MHz despite its name.

use std::collections::BTreeMap;

use ::plist::{Dictionary, Value};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::power::{Imported, Position, PowerError, RailReading, Sample, Scope, Thermal};

/// The format name in errors about plist captures.
pub(crate) const FORMAT: &str = "powermetrics-plist";

/// What ends every document powermetrics writes.
const END: &[u8] = b"</plist>";

/// Splits a powermetrics plist stream into documents, incrementally.
///
/// Feed bytes as they arrive with [`PlistStream::feed`]; take each complete document with
/// [`PlistStream::next_document`] until it returns `None`; when the input has ended, ask
/// [`PlistStream::finish`] whether anything was left half-written.
#[derive(Debug, Default)]
pub struct PlistStream {
    /// Bytes received and not yet returned as a document.
    buf: Vec<u8>,
    /// Offset in the whole stream of `buf[0]`.
    base: u64,
    /// How much of `buf` is known to hold no `</plist>`, so that feeding one byte at a time
    /// does not rescan the whole pending document each time.
    scanned: usize,
}

impl PlistStream {
    /// An empty stream, at offset 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append bytes as they arrive.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete document, with the offset of its first byte in the whole stream;
    /// `None` until one has fully arrived. The NUL bytes and whitespace between documents are
    /// dropped; anything else before a document (garbage) is returned as part of it, so that
    /// parsing it fails at the garbage's offset.
    pub fn next_document(&mut self) -> Option<(u64, Vec<u8>)> {
        let lead = self.buf.iter().take_while(|&&b| is_separator(b)).count();
        if lead > 0 {
            self.buf.drain(..lead);
            self.base += lead as u64;
            self.scanned = self.scanned.saturating_sub(lead);
        }
        // Back off by less than the marker's length: it may straddle the previous scan's end.
        let from = self.scanned.saturating_sub(END.len() - 1);
        match find(&self.buf[from..], END) {
            Some(at) => {
                let end = from + at + END.len();
                let doc: Vec<u8> = self.buf.drain(..end).collect();
                let offset = self.base;
                self.base += end as u64;
                self.scanned = 0;
                Some((offset, doc))
            }
            None => {
                self.scanned = self.buf.len();
                None
            }
        }
    }

    /// Whether the input ended cleanly: `Err` with the offset of the first byte of a document
    /// that never reached its `</plist>` (a capture cut off mid-sample). Call it after
    /// [`PlistStream::next_document`] has returned `None`.
    pub fn finish(&self) -> Result<(), PowerError> {
        match self.buf.iter().position(|&b| !is_separator(b)) {
            None => Ok(()),
            Some(at) => Err(PowerError::Malformed {
                format: FORMAT,
                position: Position::Byte(self.base + at as u64),
                message: format!(
                    "truncated sample: {} bytes with no closing </plist>",
                    self.buf.len() - at
                ),
            }),
        }
    }
}

/// What may sit between documents: powermetrics' NUL separator and line breaks.
fn is_separator(b: u8) -> bool {
    b == 0 || b.is_ascii_whitespace()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One powermetrics sample, in the units results use (W, MHz, s).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// The window the sample averages over, seconds (`elapsed_ns`).
    pub elapsed_s: f64,
    /// When the sample was taken (`timestamp`), RFC 3339 UTC.
    pub timestamp: Option<String>,
    /// The Mac's model identifier (`hw_model`, e.g. `MacBookPro17,1`).
    pub hw_model: Option<String>,
    /// The macOS build (`kern_osversion`, e.g. `22E252`).
    pub os_build: Option<String>,
    /// CPU power, W (`processor.cpu_power`, else `cpu_energy` over the window).
    pub cpu_w: Option<f64>,
    /// GPU power, W (`processor.gpu_power`, else `gpu_energy` over the window).
    pub gpu_w: Option<f64>,
    /// Neural Engine power, W (`processor.ane_power`, else `ane_energy` over the window).
    pub ane_w: Option<f64>,
    /// CPU + GPU + ANE power, W (`processor.combined_power`): not the whole machine.
    pub combined_w: Option<f64>,
    /// macOS thermal pressure (`thermal_pressure`: `Nominal`, `Moderate`, `Heavy`, ...).
    pub thermal_pressure: Option<String>,
    /// Battery charge, percent (`battery.percent_charge`).
    pub battery_percent: Option<f64>,
    /// Whether the Mac ran on battery. powermetrics does not report it (its `battery` sampler
    /// gives only the charge); [`super::PowermetricsSource`] fills it in from `pmset`.
    pub on_battery: Option<bool>,
    /// GPU active frequency, MHz (`gpu.freq_hz`, which is MHz despite its name).
    pub gpu_mhz: Option<f64>,
    /// Active frequency of each CPU cluster, MHz, by the cluster's name as the chip reports it
    /// (`E-Cluster`, `P0-Cluster`, ...): `processor.clusters[].freq_hz`, which is in Hz.
    pub clusters_mhz: BTreeMap<String, f64>,
}

impl Reading {
    /// The reading as a [`Sample`] ending at `t_s`: rails `cpu`, `gpu`, `ane` and `combined`
    /// (those reported), thermal pressure, clocks (`gpu` and each cluster) and battery state.
    pub fn to_sample(&self, t_s: f64) -> Sample {
        let rails = [
            ("cpu", Scope::Cpu, self.cpu_w),
            ("gpu", Scope::Gpu, self.gpu_w),
            ("ane", Scope::Ane, self.ane_w),
            ("combined", Scope::CpuGpuAne, self.combined_w),
        ]
        .into_iter()
        .filter_map(|(rail, scope, w)| w.map(|w| RailReading::watts(rail, scope, w)))
        .collect();
        let mut clocks_mhz = self.clusters_mhz.clone();
        if let Some(mhz) = self.gpu_mhz {
            clocks_mhz.insert("gpu".into(), mhz);
        }
        Sample {
            t_s,
            window_s: self.elapsed_s,
            utc: self.timestamp.clone(),
            source: "powermetrics".into(),
            host: None,
            rails,
            thermal: Thermal {
                pressure: self.thermal_pressure.clone(),
                clocks_mhz,
                on_battery: self.on_battery,
                battery_percent: self.battery_percent,
                ..Thermal::default()
            },
            scrapes: Vec::new(),
        }
    }
}

/// Read one document (as cut by [`PlistStream`]) into a [`Reading`]; `Err` says what is
/// wrong with it: not a plist, no `elapsed_ns`, a figure that is not a number.
pub fn parse_document(doc: &[u8]) -> Result<Reading, String> {
    let start = doc
        .iter()
        .position(|&b| !is_separator(b))
        .unwrap_or(doc.len());
    if !doc[start..].starts_with(b"<") {
        // Say what was found rather than let the XML reader report a confusing position.
        let preview = String::from_utf8_lossy(&doc[start..doc.len().min(start + 32)]);
        return Err(format!(
            "expected a plist document (`<?xml`), found {preview:?}"
        ));
    }
    let value = Value::from_reader_xml(doc).map_err(|e| format!("not a readable plist: {e}"))?;
    let root = value
        .as_dictionary()
        .ok_or("the document's top level is not a dictionary")?;

    let elapsed_ns =
        number(root, "elapsed_ns")?.ok_or("no elapsed_ns: the sample's window is unknown")?;
    if !elapsed_ns.is_finite() || elapsed_ns <= 0.0 {
        return Err(format!(
            "elapsed_ns is {elapsed_ns}: the sample has no window"
        ));
    }
    let elapsed_s = elapsed_ns / 1e9;

    let timestamp = match root.get("timestamp") {
        None => None,
        Some(Value::Date(date)) => {
            let utc: DateTime<Utc> = std::time::SystemTime::from(*date).into();
            Some(utc.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        }
        Some(_) => return Err("timestamp is not a date".into()),
    };

    let processor = dict(root, "processor")?;
    let gpu = dict(root, "gpu")?;
    let battery = dict(root, "battery")?;

    // A rail from its mW power key, else from its mJ energy key over the window: gpu-only
    // captures (`--samplers gpu_power`) carry `gpu.gpu_energy` and no power key at all.
    let rail = |power_key: &str, energy_key: &str| -> Result<Option<f64>, String> {
        if let Some(p) = processor {
            if let Some(mw) = number(p, power_key)? {
                return Ok(Some(mw / 1e3));
            }
        }
        for d in [processor, gpu].into_iter().flatten() {
            if let Some(mj) = number(d, energy_key)? {
                return Ok(Some(mj / 1e3 / elapsed_s));
            }
        }
        Ok(None)
    };
    let cpu_w = rail("cpu_power", "cpu_energy")?;
    let gpu_w = rail("gpu_power", "gpu_energy")?;
    let ane_w = rail("ane_power", "ane_energy")?;
    let combined_w = match processor {
        Some(p) => number(p, "combined_power")?.map(|mw| mw / 1e3),
        None => None,
    };

    let mut clusters_mhz = BTreeMap::new();
    if let Some(clusters) = processor.and_then(|p| p.get("clusters")) {
        let clusters = clusters
            .as_array()
            .ok_or("processor.clusters is not an array")?;
        for cluster in clusters {
            let Some(cluster) = cluster.as_dictionary() else {
                return Err("a processor.clusters entry is not a dictionary".into());
            };
            // Names differ by chip (E-Cluster, P0-Cluster, M0-Cluster...): take them as given.
            if let (Some(name), Some(hz)) = (string(cluster, "name")?, number(cluster, "freq_hz")?)
            {
                clusters_mhz.insert(name, hz / 1e6);
            }
        }
    }

    Ok(Reading {
        elapsed_s,
        timestamp,
        hw_model: string(root, "hw_model")?,
        os_build: string(root, "kern_osversion")?,
        cpu_w,
        gpu_w,
        ane_w,
        combined_w,
        thermal_pressure: string(root, "thermal_pressure")?,
        battery_percent: match battery {
            Some(b) => number(b, "percent_charge")?,
            None => None,
        },
        on_battery: None,
        gpu_mhz: match gpu {
            Some(g) => number(g, "freq_hz")?,
            None => None,
        },
        clusters_mhz,
    })
}

/// A numeric key: integer or real; absent is `None`, any other type is an error.
fn number(d: &Dictionary, key: &str) -> Result<Option<f64>, String> {
    match d.get(key) {
        None => Ok(None),
        Some(Value::Real(x)) => Ok(Some(*x)),
        Some(Value::Integer(i)) => i
            .as_signed()
            .map(|i| i as f64)
            .or_else(|| i.as_unsigned().map(|u| u as f64))
            .map(Some)
            .ok_or_else(|| format!("{key} is out of range")),
        Some(_) => Err(format!("{key} is not a number")),
    }
}

/// A string key; absent is `None`, any other type is an error.
fn string(d: &Dictionary, key: &str) -> Result<Option<String>, String> {
    match d.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

/// A dictionary key; absent is `None`, any other type is an error.
fn dict<'a>(d: &'a Dictionary, key: &str) -> Result<Option<&'a Dictionary>, String> {
    match d.get(key) {
        None => Ok(None),
        Some(Value::Dictionary(inner)) => Ok(Some(inner)),
        Some(_) => Err(format!("{key} is not a dictionary")),
    }
}

/// Read a saved `powermetrics -f plist` capture.
///
/// Each sample's `t_s` is the time since the start of the first sample's window (the sum of
/// the windows so far: the first sample's `t_s` is its own window), and its `utc` the
/// capture's timestamp. Reading stops at the first damage (a document cut short, garbage, a
/// document that is not a plist or has no `elapsed_ns`), keeping the samples before it and
/// saying where in `error`.
pub fn import_plist(bytes: &[u8]) -> Imported {
    let mut stream = PlistStream::new();
    stream.feed(bytes);
    let mut imported = Imported::default();
    let mut t_s = 0.0;
    while let Some((offset, doc)) = stream.next_document() {
        match parse_document(&doc) {
            Ok(reading) => {
                t_s += reading.elapsed_s;
                imported.samples.push(reading.to_sample(t_s));
            }
            Err(message) => {
                imported.error = Some(PowerError::Malformed {
                    format: FORMAT,
                    position: Position::Byte(offset),
                    message: format!("sample {}: {message}", imported.samples.len() + 1),
                });
                return imported;
            }
        }
    }
    imported.error = stream.finish().err();
    imported
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::power::testing::{close, fixture_bytes as fixture};

    const M1_FULL: &str = "plist_full_m1_MacBookPro17-1_graelo-pumas.xml";
    const GPU_ONE: &str = "plist_gpu_power_m4pro_Mac16-8_matiasinsaurralde-powermetrics.xml";
    const GPU_FIVE: &str =
        "plist_gpu_power_multiple_samples_m4pro_Mac16-8_matiasinsaurralde-powermetrics.xml";
    const BATTERY_ONE: &str = "plist_battery_m4pro_Mac16-8_matiasinsaurralde-powermetrics.xml";
    const BATTERY_THREE: &str =
        "plist_battery_multiple_samples_m4pro_Mac16-8_matiasinsaurralde-powermetrics.xml";

    fn watts(sample: &Sample, rail: &str) -> Option<f64> {
        sample
            .rails
            .iter()
            .find(|r| r.rail == rail)
            .and_then(|r| r.watts)
    }

    fn byte_offset(err: &Option<PowerError>) -> u64 {
        match err {
            Some(PowerError::Malformed {
                format,
                position: Position::Byte(b),
                ..
            }) => {
                assert_eq!(*format, FORMAT);
                *b
            }
            other => panic!("expected a malformed-plist error, got {other:?}"),
        }
    }

    /// Offsets of each `<?xml` in a capture: where its documents start.
    fn starts(bytes: &[u8]) -> Vec<u64> {
        (0..bytes.len())
            .filter(|&i| bytes[i..].starts_with(b"<?xml"))
            .map(|i| i as u64)
            .collect()
    }

    #[test]
    fn m1_full_sample_reads_rails_pressure_and_clocks() {
        let imported = import_plist(&fixture(M1_FULL));
        assert!(imported.error.is_none(), "{:?}", imported.error);
        assert_eq!(imported.samples.len(), 1);
        let s = &imported.samples[0];
        // elapsed_ns 2019178750.
        assert!(close(s.window_s, 2.019178750));
        assert!(close(s.t_s, 2.019178750));
        assert_eq!(s.source, "powermetrics");
        assert_eq!(s.utc.as_deref(), Some("2023-04-01T13:18:36Z"));
        // cpu_power 44.0773 mW; it agrees with cpu_energy 89 mJ / 2.019178750 s = 44.08 mW.
        let cpu = watts(s, "cpu").unwrap();
        assert!(close(cpu, 0.0440773));
        assert!((cpu - 0.089 / 2.019178750).abs() < 1e-5);
        // gpu_power 15.3528 mW, ane_power 0, combined_power 59.4301 mW.
        assert!(close(watts(s, "gpu").unwrap(), 0.0153528));
        assert_eq!(watts(s, "ane"), Some(0.0));
        assert!(close(watts(s, "combined").unwrap(), 0.0594301));
        let scopes: Vec<_> = s.rails.iter().map(|r| (r.rail.as_str(), r.scope)).collect();
        assert_eq!(
            scopes,
            [
                ("cpu", Scope::Cpu),
                ("gpu", Scope::Gpu),
                ("ane", Scope::Ane),
                ("combined", Scope::CpuGpuAne)
            ]
        );
        assert_eq!(s.thermal.pressure.as_deref(), Some("Nominal"));
        // Cluster freq_hz is Hz (E 1.02287e+09, P 6.18173e+08); gpu freq_hz is MHz (714.836).
        let clocks = &s.thermal.clocks_mhz;
        assert_eq!(clocks.len(), 3, "{clocks:?}");
        assert!(close(clocks["E-Cluster"], 1022.87));
        assert!(close(clocks["P-Cluster"], 618.173));
        assert!(close(clocks["gpu"], 714.836));
        assert_eq!(s.thermal.battery_percent, None);
        assert_eq!(s.thermal.on_battery, None);

        let reading = parse_document(&fixture(M1_FULL)).unwrap();
        assert_eq!(reading.hw_model.as_deref(), Some("MacBookPro17,1"));
        assert_eq!(reading.os_build.as_deref(), Some("22E252"));
    }

    #[test]
    fn gpu_only_sample_derives_watts_from_energy() {
        let imported = import_plist(&fixture(GPU_ONE));
        assert!(imported.error.is_none(), "{:?}", imported.error);
        assert_eq!(imported.samples.len(), 1);
        let s = &imported.samples[0];
        // No processor dict: gpu_energy 9 mJ over elapsed_ns 5005449083 = 1.798 mW.
        assert_eq!(s.rails.len(), 1, "{:?}", s.rails);
        assert!(close(watts(s, "gpu").unwrap(), 0.009 / 5.005449083));
        assert_eq!(s.rails[0].scope, Scope::Gpu);
        assert!(close(s.window_s, 5.005449083));
        assert_eq!(s.utc.as_deref(), Some("2025-07-06T04:15:28Z"));
        // gpu freq_hz 338 is MHz; no clusters, no thermal sampler.
        assert_eq!(s.thermal.clocks_mhz.len(), 1);
        assert!(close(s.thermal.clocks_mhz["gpu"], 338.0));
        assert_eq!(s.thermal.pressure, None);
    }

    #[test]
    fn five_gpu_samples_have_cumulative_times() {
        let bytes = fixture(GPU_FIVE);
        let imported = import_plist(&bytes);
        assert!(imported.error.is_none(), "{:?}", imported.error);
        // (elapsed_ns, gpu_energy mJ, gpu freq_hz MHz, timestamp) of each sample in the file.
        let raw = [
            (5004758375u64, 19.0, 426.525, "2025-07-06T05:15:15Z"),
            (5014447083, 107.0, 479.398, "2025-07-06T05:15:21Z"),
            (5010073541, 788.0, 867.616, "2025-07-06T05:15:26Z"),
            (5014230916, 146.0, 483.431, "2025-07-06T05:15:31Z"),
            (5009178500, 126.0, 458.421, "2025-07-06T05:15:36Z"),
        ];
        assert_eq!(imported.samples.len(), raw.len());
        let mut t = 0.0;
        for (s, (ns, mj, mhz, utc)) in imported.samples.iter().zip(raw) {
            let window = ns as f64 / 1e9;
            t += window;
            assert!(close(s.window_s, window));
            assert!(close(s.t_s, t), "{} vs {t}", s.t_s);
            assert!(close(watts(s, "gpu").unwrap(), mj / 1e3 / window));
            assert!(close(s.thermal.clocks_mhz["gpu"], mhz));
            assert_eq!(s.utc.as_deref(), Some(utc));
        }
        // The third sample's 788 mJ in 5.01 s is 157 mW.
        assert!((watts(&imported.samples[2], "gpu").unwrap() - 0.1573).abs() < 1e-4);
    }

    #[test]
    fn battery_samples_read_the_charge() {
        let one = import_plist(&fixture(BATTERY_ONE));
        assert!(one.error.is_none(), "{:?}", one.error);
        assert_eq!(one.samples.len(), 1);
        let s = &one.samples[0];
        // Only `battery.percent_charge` (20) is reported: no rails, no AC/battery state.
        assert!(s.rails.is_empty());
        assert_eq!(s.thermal.battery_percent, Some(20.0));
        assert_eq!(s.thermal.on_battery, None);
        assert!(close(s.window_s, 1.002058208));
        assert_eq!(s.utc.as_deref(), Some("2025-07-08T05:36:13Z"));

        let three = import_plist(&fixture(BATTERY_THREE));
        assert!(three.error.is_none(), "{:?}", three.error);
        let windows = [1.002093500, 1.004160750, 1.001210833];
        assert_eq!(three.samples.len(), 3);
        let mut t = 0.0;
        for (i, (s, w)) in three.samples.iter().zip(windows).enumerate() {
            t += w;
            assert!(close(s.t_s, t));
            assert_eq!(s.thermal.battery_percent, Some(20.0));
            let utc = format!("2025-07-08T05:36:{}Z", 24 + i);
            assert_eq!(s.utc.as_deref(), Some(utc.as_str()));
        }
    }

    #[test]
    fn feeding_one_byte_at_a_time_cuts_the_same_documents() {
        for name in [GPU_FIVE, BATTERY_THREE, M1_FULL] {
            let bytes = fixture(name);
            let mut stream = PlistStream::new();
            let mut docs = Vec::new();
            for b in &bytes {
                stream.feed(std::slice::from_ref(b));
                while let Some(doc) = stream.next_document() {
                    docs.push(doc);
                }
            }
            stream.finish().unwrap();
            let offsets: Vec<u64> = docs.iter().map(|(o, _)| *o).collect();
            assert_eq!(offsets, starts(&bytes), "{name}");
            for (offset, doc) in &docs {
                let at = *offset as usize;
                assert_eq!(&bytes[at..at + doc.len()], doc.as_slice());
                assert!(doc.ends_with(b"</plist>"));
                parse_document(doc).unwrap();
            }
        }
    }

    #[test]
    fn uneven_chunks_cut_the_same_documents() {
        let bytes = fixture(GPU_FIVE);
        let mut stream = PlistStream::new();
        let mut offsets = Vec::new();
        // Chunk sizes that land the marker across chunk edges somewhere.
        for chunk in bytes.chunks(7) {
            stream.feed(chunk);
            while let Some((offset, _)) = stream.next_document() {
                offsets.push(offset);
            }
        }
        assert_eq!(offsets, starts(&bytes));
        assert!(stream.finish().is_ok());
    }

    #[test]
    fn truncated_last_document_keeps_the_samples_before_it() {
        let bytes = fixture(GPU_FIVE);
        let last = *starts(&bytes).last().unwrap();
        // Cut the fifth document in the middle.
        let cut = &bytes[..last as usize + 500];
        let imported = import_plist(cut);
        assert_eq!(imported.samples.len(), 4);
        assert_eq!(byte_offset(&imported.error), last);
        let message = imported.error.unwrap().to_string();
        assert!(message.contains("truncated"), "{message}");
    }

    #[test]
    fn trailing_separators_are_not_damage() {
        let mut bytes = fixture(BATTERY_THREE);
        bytes.extend_from_slice(b"\n\0\n");
        let imported = import_plist(&bytes);
        assert!(imported.error.is_none(), "{:?}", imported.error);
        assert_eq!(imported.samples.len(), 3);
    }

    #[test]
    fn garbage_between_documents_stops_there() {
        let bytes = fixture(BATTERY_THREE);
        let second = starts(&bytes)[1] as usize;
        let mut damaged = bytes[..second].to_vec();
        damaged.extend_from_slice(b"Killed: 9\n");
        damaged.extend_from_slice(&bytes[second..]);
        let imported = import_plist(&damaged);
        assert_eq!(imported.samples.len(), 1);
        // The error points at the garbage, which starts where the second document did.
        assert_eq!(byte_offset(&imported.error), second as u64);
        let message = imported.error.unwrap().to_string();
        assert!(message.contains("Killed: 9"), "{message}");
    }

    #[test]
    fn a_document_that_is_not_a_plist_is_reported() {
        let bytes = fixture(BATTERY_THREE);
        let third = starts(&bytes)[2] as usize;
        let mut damaged = bytes[..third].to_vec();
        damaged.extend_from_slice(b"<?xml version=\"1.0\"?><plist><dict><key>x</key></plist>");
        let imported = import_plist(&damaged);
        assert_eq!(imported.samples.len(), 2);
        assert_eq!(byte_offset(&imported.error), third as u64);
    }

    #[test]
    fn empty_input_gives_nothing_and_no_error() {
        for input in [&b""[..], b"\0", b"\n\n"] {
            let imported = import_plist(input);
            assert!(imported.samples.is_empty());
            assert!(imported.error.is_none(), "{:?}", imported.error);
        }
    }

    #[test]
    fn a_document_without_elapsed_ns_is_an_error() {
        let text = String::from_utf8(fixture(BATTERY_THREE)).unwrap();
        let second = starts(text.as_bytes())[1];
        // Drop the elapsed_ns line of the second sample only.
        let (head, tail) = text.split_at(second as usize);
        let tail = tail.replacen(
            "<key>elapsed_ns</key><integer>1004160750</integer>\n",
            "",
            1,
        );
        let imported = import_plist(format!("{head}{tail}").as_bytes());
        assert_eq!(imported.samples.len(), 1);
        assert_eq!(byte_offset(&imported.error), second);
        let message = imported.error.unwrap().to_string();
        assert!(message.contains("sample 2: no elapsed_ns"), "{message}");
    }

    #[test]
    fn a_figure_that_is_not_a_number_is_an_error() {
        let text = String::from_utf8(fixture(M1_FULL)).unwrap();
        let bad = text.replacen("<real>44.0773</real>", "<string>44</string>", 1);
        let err = parse_document(bad.as_bytes()).unwrap_err();
        assert_eq!(err, "cpu_power is not a number");
    }
}
