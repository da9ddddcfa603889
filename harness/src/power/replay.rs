//! Replays a recorded power JSONL file (a run's `power.jsonl`, `bench power record`'s output)
//! as a live [`Source`]: for demos and tests of what consumes samples, and to reproduce a
//! capture.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::RunClock;
use crate::power::{Position, PowerError, Sample, Source};

const NAME: &str = "replay";

/// The format named in errors about the file.
const FORMAT: &str = "power-jsonl";

/// The longest one sleep lasts, so that an interrupt is noticed soon even across long gaps.
const SLEEP_SLICE: Duration = Duration::from_millis(50);

/// Plays back the samples of a power JSONL file in real time.
///
/// The gaps between successive samples' `t_s` are kept; the samples are re-stamped on the run
/// clock, the first at the moment it is asked for, each later one exactly its gap after the
/// previous (the stamp is the scheduled time, not the moment the sleep ended, so the gaps are
/// the file's to the float). `utc` is dropped: it is the capture's. A sample earlier than the
/// one before it follows with no gap. With looping, the file starts over one average interval
/// after its last sample, and energy counters keep rising: each loop adds the counter's rise
/// over the file plus one average interval's worth, so the counter goes on at its average rate
/// across the seam.
#[derive(Debug)]
pub struct ReplaySource {
    path: PathBuf,
    samples: Vec<Sample>,
    /// Per sample: seconds after the first at which it is due (never decreasing).
    offsets: Vec<f64>,
    looping: bool,
    /// Seconds from the first sample's `t_s` to the next loop's first sample.
    period_s: f64,
    /// Per rail: joules added to `counter_j` at each new loop.
    counter_step: BTreeMap<String, f64>,
    /// Where the playback is: the next sample's index, and the loops completed.
    next: usize,
    loops: u32,
    /// Run-clock time of the first sample, once played.
    start_s: Option<f64>,
    interrupted: Arc<AtomicBool>,
}

impl ReplaySource {
    /// Read `path` whole. A line that is not a [`Sample`] is [`PowerError::Malformed`] naming
    /// the file and line; an unreadable or empty file is [`PowerError::Unavailable`].
    pub fn open(path: &Path, looping: bool) -> Result<Self, PowerError> {
        let text = std::fs::read_to_string(path).map_err(|e| PowerError::Unavailable {
            source_name: NAME,
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        let samples = parse(&text, path)?;
        if samples.is_empty() {
            return Err(PowerError::Unavailable {
                source_name: NAME,
                reason: format!("{} holds no samples", path.display()),
            });
        }
        let t0 = samples[0].t_s;
        let offsets: Vec<f64> = samples
            .iter()
            .scan(0.0_f64, |latest, s| {
                *latest = latest.max(s.t_s - t0);
                Some(*latest)
            })
            .collect();
        let (period_s, counter_step) = seam(&samples, &offsets);
        Ok(Self {
            path: path.to_path_buf(),
            samples,
            offsets,
            looping,
            period_s,
            counter_step,
            next: 0,
            loops: 0,
            start_s: None,
            interrupted: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The samples as read from the file.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Seconds the file spans, first sample to last.
    pub fn span_s(&self) -> f64 {
        self.offsets.last().copied().unwrap_or(0.0)
    }

    /// Seconds into the playback at which sample `index` of loop `loops` is due.
    fn due_s(&self, index: usize, loops: u32) -> f64 {
        f64::from(loops) * self.period_s + self.offsets[index]
    }

    /// Sleep until `t_s` on `clock`; false if interrupted first.
    fn sleep_until(&self, clock: &RunClock, t_s: f64) -> bool {
        let due = clock.instant(t_s);
        loop {
            if self.interrupted.load(Ordering::SeqCst) {
                return false;
            }
            let now = Instant::now();
            if now >= due {
                return true;
            }
            std::thread::sleep((due - now).min(SLEEP_SLICE));
        }
    }
}

/// Every line of `text` as a sample; blank lines are skipped.
fn parse(text: &str, path: &Path) -> Result<Vec<Sample>, PowerError> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let sample: Sample = serde_json::from_str(line).map_err(|e| {
            // serde's message ends with its own "at line 1 column N": the column is kept, the
            // line is this file's.
            let what = e.to_string();
            let what = what.split(" at line ").next().unwrap_or(&what).to_string();
            PowerError::Malformed {
                format: FORMAT,
                position: Position::Line(index + 1),
                message: format!(
                    "{}: not a power sample (column {}): {what}",
                    path.display(),
                    e.column()
                ),
            }
        })?;
        samples.push(sample);
    }
    Ok(samples)
}

/// The loop period and each counter rail's rise per loop.
fn seam(samples: &[Sample], offsets: &[f64]) -> (f64, BTreeMap<String, f64>) {
    let n = samples.len();
    let span = offsets.last().copied().unwrap_or(0.0);
    // One average interval closes the loop; a single sample repeats at its own window, or
    // every second.
    let gap = if n > 1 && span > 0.0 {
        span / (n - 1) as f64
    } else if samples[0].window_s > 0.0 {
        samples[0].window_s
    } else {
        1.0
    };
    let mut first_last: BTreeMap<&str, (f64, f64, usize)> = BTreeMap::new();
    for sample in samples {
        for rail in &sample.rails {
            if let Some(c) = rail.counter_j {
                first_last
                    .entry(&rail.rail)
                    .and_modify(|e| {
                        e.1 = c;
                        e.2 += 1;
                    })
                    .or_insert((c, c, 1));
            }
        }
    }
    let steps = first_last
        .into_iter()
        .map(|(rail, (first, last, count))| {
            let rise = (last - first).max(0.0);
            let seam = if count > 1 {
                rise / (count - 1) as f64
            } else {
                0.0
            };
            (rail.to_string(), rise + seam)
        })
        .collect();
    (span + gap, steps)
}

impl Source for ReplaySource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        let first = &self.samples[0];
        let rails: Vec<&str> = first.rails.iter().map(|r| r.rail.as_str()).collect();
        format!(
            "replay of {} ({} samples of {} over {:.1} s{}): rails {}",
            self.path.display(),
            self.samples.len(),
            first.source,
            self.span_s(),
            if self.looping { ", looping" } else { "" },
            rails.join(", ")
        )
    }

    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        if self.next == self.samples.len() {
            if !self.looping {
                return Ok(None);
            }
            self.next = 0;
            self.loops += 1;
        }
        let start = *self.start_s.get_or_insert_with(|| clock.now_s());
        let t_s = start + self.due_s(self.next, self.loops);
        if !self.sleep_until(clock, t_s) {
            return Ok(None);
        }
        let mut sample = self.samples[self.next].clone();
        self.next += 1;
        sample.t_s = t_s;
        sample.utc = None;
        for rail in &mut sample.rails {
            if let (Some(c), Some(step)) = (rail.counter_j, self.counter_step.get(&rail.rail)) {
                rail.counter_j = Some(c + f64::from(self.loops) * step);
            }
        }
        Ok(Some(sample))
    }

    fn interrupter(&self) -> Option<Box<dyn FnOnce() + Send>> {
        let flag = Arc::clone(&self.interrupted);
        Some(Box::new(move || flag.store(true, Ordering::SeqCst)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::testing::close;
    use crate::power::{RailReading, Scope};

    fn write(lines: &[String]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("power.jsonl");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        (dir, path)
    }

    fn line(t_s: f64, watts: f64, counter_j: Option<f64>) -> String {
        let sample = Sample {
            t_s,
            window_s: 0.01,
            utc: Some("2025-01-01T00:00:00Z".into()),
            source: "nvml".into(),
            rails: vec![RailReading {
                counter_j,
                ..RailReading::watts("gpu0", Scope::GpuBoard, watts)
            }],
            ..Sample::default()
        };
        serde_json::to_string(&sample).unwrap()
    }

    fn play(source: &mut ReplaySource, n: usize) -> Vec<Sample> {
        let clock = RunClock::resumed(500.0);
        (0..n)
            .map(|_| source.next(&clock).unwrap().expect("a sample"))
            .collect()
    }

    #[test]
    fn keeps_order_and_gaps_on_the_run_clock() {
        let (_dir, path) = write(&[
            line(100.0, 1.0, None),
            line(100.01, 2.0, None),
            line(100.03, 3.0, None),
        ]);
        let mut source = ReplaySource::open(&path, false).unwrap();
        let clock = RunClock::resumed(500.0);
        let played: Vec<Sample> = std::iter::from_fn(|| source.next(&clock).unwrap()).collect();
        let watts: Vec<f64> = played.iter().map(|s| s.rails[0].watts.unwrap()).collect();
        assert_eq!(watts, [1.0, 2.0, 3.0]);
        assert!(played[0].t_s >= 500.0, "stamped on the run clock");
        assert!(close(played[1].t_s - played[0].t_s, 0.01));
        assert!(close(played[2].t_s - played[1].t_s, 0.02));
        assert!(played.iter().all(|s| s.utc.is_none() && s.source == "nvml"));
        assert!(source.next(&clock).unwrap().is_none(), "ended");
    }

    #[test]
    fn looping_continues_counters_and_time() {
        let (_dir, path) = write(&[
            line(0.0, 10.0, Some(100.0)),
            line(0.01, 10.0, Some(110.0)),
            line(0.02, 10.0, Some(120.0)),
        ]);
        let mut source = ReplaySource::open(&path, true).unwrap();
        let played = play(&mut source, 7);
        let counters: Vec<f64> = played
            .iter()
            .map(|s| s.rails[0].counter_j.unwrap())
            .collect();
        // 20 J of rise over the file, 10 J over the seam: 30 J per loop.
        let expected = [100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 160.0];
        for (got, want) in counters.iter().zip(expected) {
            assert!(close(*got, want), "{counters:?}");
        }
        // The seam is one average interval: every gap is 10 ms.
        for pair in played.windows(2) {
            assert!(close(pair[1].t_s - pair[0].t_s, 0.01), "{played:?}");
        }
    }

    #[test]
    fn a_malformed_line_names_the_file_and_line() {
        let (_dir, path) = write(&[
            line(0.0, 1.0, None),
            String::new(),
            r#"{"t_s": 1.0, "window_s": 0.1, "source": "x"}"#.into(),
        ]);
        let err = ReplaySource::open(&path, false).unwrap_err();
        match &err {
            PowerError::Malformed {
                format: "power-jsonl",
                position: Position::Line(3),
                message,
            } => assert!(
                message.contains(&path.display().to_string()) && message.contains("rails"),
                "{message}"
            ),
            other => panic!("not a line error: {other:?}"),
        }
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn an_empty_or_missing_file_is_unavailable() {
        let (_dir, path) = write(&[String::new()]);
        let err = ReplaySource::open(&path, false).unwrap_err();
        assert!(err.to_string().contains("holds no samples"), "{err}");
        let err = ReplaySource::open(&path.with_extension("nope"), false).unwrap_err();
        assert!(matches!(err, PowerError::Unavailable { .. }), "{err}");
    }

    #[test]
    fn an_interrupt_ends_a_long_wait() {
        let (_dir, path) = write(&[line(0.0, 1.0, None), line(3600.0, 1.0, None)]);
        let mut source = ReplaySource::open(&path, false).unwrap();
        let clock = RunClock::start();
        assert!(source.next(&clock).unwrap().is_some());
        let interrupt = source.interrupter().unwrap();
        let waiter = std::thread::spawn(move || source.next(&clock).map(|s| s.is_none()));
        interrupt();
        assert!(
            waiter.join().unwrap().unwrap(),
            "no sample after the interrupt"
        );
    }
}
