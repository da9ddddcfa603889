//! Runs one power source on its own thread while the suite runs: keeps every sample in memory
//! (for energy figures), appends each to `power.jsonl` as it arrives, and notes when the
//! source fails so the run can go on without it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::account::{Baseline, MeasurementEnergy, Phase};
use super::energy::Trace;
use super::{Sample, Source};
use crate::clock::RunClock;

/// Whether the source is still producing samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Sampling.
    Running,
    /// The source stopped by itself, or was stopped.
    Ended,
    /// The source failed; the message says how. Samples before the failure are kept.
    Failed(String),
}

#[derive(Default)]
struct State {
    samples: Vec<Sample>,
    trace: Trace,
    health: Option<Health>,
    write_error: Option<String>,
    /// CPU seconds the sampling thread used, once it has ended (where the OS tells).
    thread_cpu_s: Option<f64>,
}

struct Shared {
    state: Mutex<State>,
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on the sampler thread must not take the measurements down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A source sampling on a background thread.
pub struct Monitor {
    name: &'static str,
    max_gap: Duration,
    description: String,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    interrupter: Option<Box<dyn FnOnce() + Send>>,
    thread: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Start sampling `source` on the run `clock`, appending samples to `sink` when given.
    pub fn start(source: Box<dyn Source>, clock: RunClock, sink: Option<File>) -> Self {
        let name = source.name();
        let description = source.describe();
        let max_gap = source.max_gap();
        let interrupter = source.interrupter();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            arrived: Condvar::new(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("power-{name}"))
                .spawn(move || sample_loop(source, clock, sink, &shared, &stop))
                .ok()
        };
        if thread.is_none() {
            shared.lock().health = Some(Health::Failed("cannot start a sampling thread".into()));
        }
        Self {
            name,
            max_gap,
            description,
            shared,
            stop,
            interrupter,
            thread,
        }
    }

    /// The sampler's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The longest time between two readings of every rail.
    pub fn max_gap(&self) -> Duration {
        self.max_gap
    }

    /// What the source measures, in words.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the source still samples.
    pub fn health(&self) -> Health {
        self.shared.lock().health.clone().unwrap_or(Health::Running)
    }

    /// A failure to write `power.jsonl`, if one happened (sampling goes on in memory).
    pub fn write_error(&self) -> Option<String> {
        self.shared.lock().write_error.clone()
    }

    /// Wait until every rail's energy is settled at or after `t_s` (a reading, or for a counter
    /// slower than its reads, its next update: see [`Trace::settled_until`]), the source
    /// stops, or `timeout` passes. Returns whether the samples reach `t_s`.
    pub fn wait_until(&self, t_s: f64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if state.trace.settled_until().is_some_and(|t| t >= t_s) {
                return true;
            }
            if state.health.is_some() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = match self.shared.arrived.wait_timeout(state, deadline - now) {
                Ok((s, _)) => s,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// Energy figures for `phases` (the first spans the whole measurement).
    pub fn energy(
        &self,
        phases: &[Phase],
        baseline: Option<&Baseline>,
    ) -> Option<MeasurementEnergy> {
        let state = self.shared.lock();
        let whole = phases.first()?;
        // Only the samples near the measurement matter for its flags.
        let from = state
            .samples
            .partition_point(|s| s.t_s < whole.start_s - 60.0);
        MeasurementEnergy::compute(
            self.name,
            &state.trace,
            &state.samples[from..],
            phases,
            baseline,
        )
    }

    /// The idle baseline over `[start_s, end_s]`.
    pub fn baseline(&self, start_s: f64, end_s: f64) -> Baseline {
        Baseline::measure(&self.shared.lock().trace, start_s, end_s)
    }

    /// The most recent sample.
    pub fn latest(&self) -> Option<Sample> {
        self.shared.lock().samples.last().cloned()
    }

    /// Every sample received so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.shared.lock().samples.clone()
    }

    /// Samples received so far.
    pub fn sample_count(&self) -> usize {
        self.shared.lock().samples.len()
    }

    /// Stop sampling and wait for the thread (a blocked source is interrupted).
    pub fn stop(mut self) -> Health {
        self.shutdown();
        self.health()
    }

    /// Stop sampling; also return the CPU seconds the sampling thread used (source reads,
    /// encoding, writing), where the OS tells.
    pub fn stop_with_cost(mut self) -> (Health, Option<f64>) {
        self.shutdown();
        (self.health(), self.shared.lock().thread_cpu_s)
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(interrupt) = self.interrupter.take() {
            interrupt();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn sample_loop(
    mut source: Box<dyn Source>,
    clock: RunClock,
    sink: Option<File>,
    shared: &Shared,
    stop: &AtomicBool,
) {
    let mut sink = sink.map(BufWriter::new);
    let end = loop {
        if stop.load(Ordering::SeqCst) {
            break Health::Ended;
        }
        match source.next(&clock) {
            Ok(Some(sample)) => {
                let write_error = sink
                    .as_mut()
                    .and_then(|w| write_line(w, &sample).err())
                    .map(|e| format!("cannot write power samples: {e}"));
                let mut state = shared.lock();
                if write_error.is_some() && state.write_error.is_none() {
                    state.write_error = write_error;
                    sink = None;
                }
                state.trace.push(&sample);
                state.samples.push(sample);
                drop(state);
                shared.arrived.notify_all();
            }
            Ok(None) => break Health::Ended,
            Err(e) if stop.load(Ordering::SeqCst) => {
                tracing::debug!("power source stopped: {e}");
                break Health::Ended;
            }
            Err(e) => break Health::Failed(e.to_string()),
        }
    };
    if let Some(w) = sink.as_mut() {
        let _ = w.flush();
        let _ = w.get_ref().sync_data();
    }
    let mut state = shared.lock();
    state.health = Some(end);
    state.thread_cpu_s = crate::cpu_time::thread_cpu_seconds();
    drop(state);
    shared.arrived.notify_all();
}

fn write_line(w: &mut BufWriter<File>, sample: &Sample) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, sample)?;
    w.write_all(b"\n")?;
    // Every line reaches the OS as it is made: a killed bench keeps what it sampled.
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::testing::slow_counter_read;
    use crate::power::{PowerError, RailReading, Scope};

    /// A source reading 10 W every 10 ms, failing after `fail_after` samples.
    struct Fake {
        n: usize,
        fail_after: usize,
    }

    impl Source for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn describe(&self) -> String {
            "a fake".into()
        }
        fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
            if self.n == self.fail_after {
                return Err(PowerError::Failed {
                    source_name: "fake",
                    reason: "process exited".into(),
                });
            }
            self.n += 1;
            std::thread::sleep(Duration::from_millis(10));
            Ok(Some(Sample {
                t_s: clock.now_s(),
                window_s: 0.01,
                source: "fake".into(),
                rails: vec![RailReading::watts("sys", Scope::System, 10.0)],
                ..Sample::default()
            }))
        }
    }

    #[test]
    fn samples_are_kept_written_and_integrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("power.jsonl");
        let clock = RunClock::start();
        let monitor = Monitor::start(
            Box::new(Fake {
                n: 0,
                fail_after: usize::MAX,
            }),
            clock,
            Some(File::create(&path).unwrap()),
        );
        let start = clock.now_s() + 0.02;
        assert!(monitor.wait_until(start + 0.1, Duration::from_secs(10)));
        let phases = [Phase {
            name: "total",
            start_s: start,
            end_s: start + 0.1,
        }];
        let e = monitor.energy(&phases, None).unwrap();
        let total = e.headline_phase("total").unwrap();
        assert!((total.avg_w - 10.0).abs() < 1e-6, "{total:?}");
        let count = monitor.sample_count();
        assert_eq!(monitor.stop(), Health::Ended);
        let lines = std::fs::read_to_string(&path).unwrap();
        assert!(lines.lines().count() >= count);
        for line in lines.lines() {
            serde_json::from_str::<Sample>(line).unwrap();
        }
    }

    #[test]
    fn a_failing_source_is_reported_and_keeps_its_samples() {
        let monitor = Monitor::start(
            Box::new(Fake {
                n: 0,
                fail_after: 3,
            }),
            RunClock::start(),
            None,
        );
        assert!(!monitor.wait_until(1e9, Duration::from_secs(10)));
        assert_eq!(
            monitor.health(),
            Health::Failed("fake failed: process exited".into())
        );
        assert_eq!(monitor.sample_count(), 3);
    }

    /// A counter updated every 100 ms of synthetic time at 100 W, read every 10 ms: the reads
    /// up to `hold_after_s` come at once, the rest once `release` says so.
    struct SlowCounter {
        n: u32,
        hold_after_s: f64,
        release: std::sync::mpsc::Receiver<()>,
    }

    impl Source for SlowCounter {
        fn name(&self) -> &'static str {
            "slow-counter"
        }
        fn describe(&self) -> String {
            "a counter slower than its reads".into()
        }
        fn next(&mut self, _: &RunClock) -> Result<Option<Sample>, PowerError> {
            let t = 0.01 * f64::from(self.n);
            if t > 2.0 {
                return Ok(None);
            }
            if t > self.hold_after_s + 1e-9 && self.release.recv().is_err() {
                return Ok(None);
            }
            self.n += 1;
            Ok(Some(slow_counter_read(t, 100.0, 0.1, 0.0)))
        }
    }

    #[test]
    fn a_measurement_ending_among_repeated_counter_values_waits_for_the_next_update() {
        // The measurement ends at 0.78 s; the counter last updated at 0.7 s and the reads up
        // to 0.79 s only repeat that value.
        let (sender, held) = std::sync::mpsc::channel();
        let monitor = Monitor::start(
            Box::new(SlowCounter {
                n: 0,
                hold_after_s: 0.79,
                release: held,
            }),
            RunClock::start(),
            None,
        );
        // Declared after the monitor, so dropped before it: a failed assertion ends the source
        // instead of leaving the monitor's thread waiting.
        let release = sender;
        let (start_s, end_s) = (0.2, 0.78);
        assert!(
            !monitor.wait_until(end_s, Duration::from_millis(300)),
            "repeats of the 0.7 s value do not settle 0.78 s"
        );
        for _ in 0..200 {
            let _ = release.send(());
        }
        assert!(monitor.wait_until(end_s, Duration::from_secs(10)));
        let phases = [Phase {
            name: "total",
            start_s,
            end_s,
        }];
        let joules = monitor
            .energy(&phases, None)
            .unwrap()
            .headline_phase("total")
            .unwrap()
            .joules;
        // 58 J drawn; cut at the old value it would read 50 J.
        assert!((joules - 58.0).abs() < 1e-6, "{joules}");
    }
}
