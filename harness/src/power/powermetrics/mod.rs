//! macOS `powermetrics`: Apple's own power and frequency sampler (needs root).
//!
//! Live, [`PowermetricsSource`] runs `powermetrics -f plist` and turns each sample into a
//! [`Sample`] with rails `cpu`, `gpu`, `ane` and `combined` (CPU + GPU + ANE: the SoC's compute
//! blocks, not the whole machine), plus thermal pressure, cluster and GPU clocks and, on a
//! laptop, the battery state. Saved captures are read by [`import_plist`] (`-f plist`) and
//! [`import_text`] (the default text output, including the Big Sur/Monterey form with
//! `Package Power` and `DRAM Power`).
//!
//! powermetrics figures are averages over each sample's window (`elapsed_ns`, slightly longer
//! than the interval asked for), so every sample carries its `window_s`.

mod plist;
mod text;

pub use self::plist::{import_plist, parse_document, PlistStream, Reading};
pub use self::text::import_text;

use std::io::{ErrorKind, Read};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::RunClock;
use crate::power::child::{lock, ChildProcess};
use crate::power::{PowerError, Sample, Source};

/// The sampler's name in suites and errors.
const NAME: &str = "powermetrics";

/// Absolute paths: the tool runs as root, so `PATH` is not trusted to find them.
const POWERMETRICS: &str = "/usr/bin/powermetrics";
const PMSET: &str = "/usr/bin/pmset";
const ID: &str = "/usr/bin/id";

/// How long `open` watches a fresh child for an immediate exit (not root, a sampler this
/// macOS lacks), so that the refusal is reported as unavailability with its reason.
const STARTUP_GRACE: Duration = Duration::from_millis(300);

/// How often the AC/battery state is asked of `pmset` (powermetrics does not report it).
const POWER_SOURCE_REFRESH: Duration = Duration::from_secs(30);

/// How much of the child's stderr is kept for error messages.
const STDERR_TAIL: usize = 2048;

/// Live samples from a `powermetrics -f plist` child process.
///
/// Each sample is stamped on the run clock when its document has fully arrived, which is the
/// end of its window; `window_s` is the window powermetrics measured. The child is killed by
/// [`Source::interrupter`] and when the source is dropped.
#[derive(Debug)]
pub struct PowermetricsSource {
    process: ChildProcess,
    stdout: ChildStdout,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<JoinHandle<()>>,
    stream: PlistStream,
    command_line: String,
    battery: bool,
    on_battery: Option<bool>,
    /// Low Power Mode as `pmset -g` last said.
    low_power_mode: Option<bool>,
    power_checked: Option<Instant>,
    ended: bool,
}

impl PowermetricsSource {
    /// Start `powermetrics` sampling every `interval_ms`, with the battery sampler when this
    /// Mac has a battery (as `pmset -g batt` says).
    ///
    /// [`PowerError::Unavailable`] when not on macOS, not root, or powermetrics is missing or
    /// refuses to start.
    pub fn open(interval_ms: u64) -> Result<Self, PowerError> {
        check_platform()?;
        let battery = pmset_batt().is_some_and(|out| has_battery(&out));
        Self::open_with(interval_ms, battery)
    }

    /// [`PowermetricsSource::open`], saying whether to run the battery sampler (and report
    /// the battery charge and AC/battery state).
    pub fn open_with(interval_ms: u64, battery: bool) -> Result<Self, PowerError> {
        check_platform()?;
        let args = arguments(interval_ms, battery);
        let mut command = Command::new(POWERMETRICS);
        command.args(&args);
        let command_line = format!("powermetrics {}", args.join(" "));
        Self::spawn(command, command_line, battery, STARTUP_GRACE)
    }

    /// Start `command` as the powermetrics child; `grace`: how long to watch for it refusing
    /// to start. Separate from `open` so that tests can stand a script in for powermetrics.
    fn spawn(
        mut command: Command,
        command_line: String,
        battery: bool,
        grace: Duration,
    ) -> Result<Self, PowerError> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| PowerError::Unavailable {
            source_name: NAME,
            reason: if e.kind() == ErrorKind::NotFound {
                format!("{POWERMETRICS} not found (it ships with macOS)")
            } else {
                format!("cannot start powermetrics: {e}")
            },
        })?;
        let (Some(stdout), Some(stderr_pipe)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PowerError::Unavailable {
                source_name: NAME,
                reason: "powermetrics started without its output pipes".into(),
            });
        };
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stderr_reader = {
            let stderr = Arc::clone(&stderr);
            // A thread drains stderr so that a chatty child never blocks on a full pipe.
            std::thread::Builder::new()
                .name("powermetrics-stderr".into())
                .spawn(move || drain_stderr(stderr_pipe, &stderr))
                .ok()
        };
        let mut source = Self {
            process: ChildProcess::new(child),
            stdout,
            stderr,
            stderr_reader,
            stream: PlistStream::new(),
            command_line,
            battery,
            on_battery: None,
            low_power_mode: None,
            power_checked: None,
            ended: false,
        };
        if let Some(status) = source.exited_within(grace) {
            if !status.success() {
                let said = source.stderr_tail();
                let reason = if said.contains("superuser") {
                    format!("powermetrics needs root: run bench with sudo ({said})")
                } else {
                    format!("powermetrics exited at once ({status}): {said}")
                };
                return Err(PowerError::Unavailable {
                    source_name: NAME,
                    reason,
                });
            }
        }
        Ok(source)
    }

    /// The child's exit status if it exits within `grace` (not looked at for a zero grace).
    fn exited_within(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        if grace.is_zero() {
            return None;
        }
        let deadline = Instant::now() + grace;
        loop {
            match self.process.lock().try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {}
                _ => return None,
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The end of the child's stderr, for error messages (after giving the reader thread a
    /// moment to catch up with a child that just exited).
    fn stderr_tail(&mut self) -> String {
        if let Some(reader) = &self.stderr_reader {
            let deadline = Instant::now() + Duration::from_millis(500);
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let bytes = lock(&self.stderr).clone();
        let text = String::from_utf8_lossy(&bytes).trim().to_string();
        if text.is_empty() {
            "no message on stderr".into()
        } else {
            text
        }
    }

    /// The child's output has ended: the end of the source if we stopped it, else a failure.
    fn child_ended(&mut self, how: &str) -> Result<Option<Sample>, PowerError> {
        self.ended = true;
        if self.process.stopped() {
            return Ok(None);
        }
        let status = match self.process.lock().wait() {
            Ok(status) => status.to_string(),
            Err(e) => format!("status unknown: {e}"),
        };
        Err(PowerError::Failed {
            source_name: NAME,
            reason: format!("{how} ({status}): {}", self.stderr_tail()),
        })
    }

    /// Whether the Mac runs on battery, and whether Low Power Mode is on, asking `pmset` at
    /// most every [`POWER_SOURCE_REFRESH`].
    fn supply(&mut self) -> (Option<bool>, Option<bool>) {
        let stale = self
            .power_checked
            .is_none_or(|at| at.elapsed() >= POWER_SOURCE_REFRESH);
        if stale {
            if self.battery {
                self.on_battery = pmset_batt().and_then(|out| drawing_from_battery(&out));
            }
            self.low_power_mode = pmset_settings().and_then(|out| low_power_mode(&out));
            self.power_checked = Some(Instant::now());
        }
        (self.on_battery, self.low_power_mode)
    }
}

impl Source for PowermetricsSource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        format!(
            "`{}`: rails cpu, gpu, ane and combined (CPU+GPU+ANE, not the whole machine), \
             thermal pressure, Low Power Mode, CPU cluster and GPU clocks{}",
            self.command_line,
            if self.battery {
                ", battery charge and AC/battery state"
            } else {
                ""
            }
        )
    }

    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some((offset, doc)) = self.stream.next_document() {
                // The document just completed: its window ended about now.
                let t_s = clock.now_s();
                let mut reading =
                    parse_document(&doc).map_err(|message| PowerError::Malformed {
                        format: plist::FORMAT,
                        position: crate::power::Position::Byte(offset),
                        message,
                    })?;
                let (on_battery, low_power_mode) = self.supply();
                reading.on_battery = on_battery;
                let mut sample = reading.to_sample(t_s);
                sample.thermal.low_power_mode = low_power_mode;
                return Ok(Some(sample));
            }
            if self.ended {
                return Ok(None);
            }
            match self.stdout.read(&mut buf) {
                Ok(0) => return self.child_ended("powermetrics exited"),
                Ok(n) => self.stream.feed(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    return self.child_ended(&format!("reading powermetrics' output failed: {e}"))
                }
            }
        }
    }

    fn interrupter(&self) -> Option<Box<dyn FnOnce() + Send>> {
        Some(self.process.interrupter())
    }
}

/// Keep the last [`STDERR_TAIL`] bytes the child writes to stderr.
fn drain_stderr(mut pipe: impl Read, tail: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let mut tail = lock(tail);
                tail.extend_from_slice(&buf[..n]);
                let excess = tail.len().saturating_sub(STDERR_TAIL);
                tail.drain(..excess);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// powermetrics' arguments: plist output, the samplers the rails and thermal state come from,
/// and no output buffering (a pipe would otherwise hold samples back, and each sample is
/// stamped when it arrives).
fn arguments(interval_ms: u64, battery: bool) -> Vec<String> {
    let mut samplers = String::from("cpu_power,gpu_power,thermal");
    if battery {
        samplers.push_str(",battery");
    }
    vec![
        "-f".into(),
        "plist".into(),
        "-i".into(),
        interval_ms.max(1).to_string(),
        "--samplers".into(),
        samplers,
        "-b".into(),
        "0".into(),
    ]
}

/// Refuse, with the reason, where powermetrics cannot run: off macOS, or not as root.
fn check_platform() -> Result<(), PowerError> {
    let unavailable = |reason: String| PowerError::Unavailable {
        source_name: NAME,
        reason,
    };
    if !cfg!(target_os = "macos") {
        return Err(unavailable(format!(
            "powermetrics exists only on macOS (this is {})",
            std::env::consts::OS
        )));
    }
    match effective_uid() {
        Some(0) | None => Ok(()),
        Some(uid) => Err(unavailable(format!(
            "powermetrics needs root (running as uid {uid}): run bench with sudo, \
             or use the macmon sampler, which does not need it"
        ))),
    }
}

/// The effective user id, from `id -u` (no libc here); `None` if it cannot be told, in which
/// case powermetrics' own refusal is caught at start.
fn effective_uid() -> Option<u32> {
    let out = Command::new(ID).arg("-u").output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// `pmset -g batt` output, if pmset ran.
fn pmset_batt() -> Option<String> {
    let out = Command::new(PMSET).args(["-g", "batt"]).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `pmset -g` output (the active power settings), if pmset ran.
fn pmset_settings() -> Option<String> {
    let out = Command::new(PMSET).arg("-g").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The ` lowpowermode  1` line of `pmset -g` (macOS 12+); `None` where the Mac has none.
fn low_power_mode(settings: &str) -> Option<bool> {
    settings.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == "lowpowermode").then_some(())?;
        Some(words.next()? == "1")
    })
}

/// Whether `pmset -g batt` lists a battery (` -InternalBattery-0 (id=...) 100%; charged; ...`).
fn has_battery(pmset: &str) -> bool {
    pmset.contains("InternalBattery")
}

/// Whether `pmset -g batt` says the Mac draws from its battery (`Now drawing from 'Battery
/// Power'`) or from AC (`'AC Power'`); `None` for anything else.
fn drawing_from_battery(pmset: &str) -> Option<bool> {
    let line = pmset
        .lines()
        .find_map(|l| l.trim().strip_prefix("Now drawing from"))?;
    if line.contains("'Battery Power'") {
        Some(true)
    } else if line.contains("'AC Power'") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::{Position, Scope};

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/apple/");

    /// A script standing in for powermetrics.
    fn fake(
        script: &str,
        battery: bool,
        grace: Duration,
    ) -> Result<PowermetricsSource, PowerError> {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script).current_dir(DIR);
        PowermetricsSource::spawn(command, "fake powermetrics".into(), battery, grace)
    }

    const GPU_FIVE: &str =
        "plist_gpu_power_multiple_samples_m4pro_Mac16-8_matiasinsaurralde-powermetrics.xml";
    const BATTERY_THREE: &str =
        "plist_battery_multiple_samples_m4pro_Mac16-8_matiasinsaurralde-powermetrics.xml";

    #[test]
    fn open_is_unavailable_off_macos() {
        if cfg!(target_os = "macos") {
            return;
        }
        for result in [
            PowermetricsSource::open(1000),
            PowermetricsSource::open_with(1000, true),
        ] {
            match result {
                Err(PowerError::Unavailable {
                    source_name,
                    reason,
                }) => {
                    assert_eq!(source_name, "powermetrics");
                    assert!(reason.contains("only on macOS"), "{reason}");
                }
                other => panic!("expected unavailable, got {other:?}"),
            }
        }
    }

    #[test]
    fn arguments_ask_for_plist_and_the_battery_only_when_told() {
        assert_eq!(
            arguments(1000, false),
            [
                "-f",
                "plist",
                "-i",
                "1000",
                "--samplers",
                "cpu_power,gpu_power,thermal",
                "-b",
                "0"
            ]
        );
        assert_eq!(
            arguments(250, true)[5],
            "cpu_power,gpu_power,thermal,battery"
        );
    }

    #[test]
    fn child_samples_arrive_stamped_then_its_exit_is_a_failure() {
        let mut source = fake(
            &format!("cat {GPU_FIVE}; echo 'powermetrics: sampler went away' >&2; exit 3"),
            false,
            Duration::ZERO,
        )
        .unwrap();
        let clock = RunClock::start();
        let mut last = 0.0;
        for ns in [
            5004758375u64,
            5014447083,
            5010073541,
            5014230916,
            5009178500,
        ] {
            let s = source.next(&clock).unwrap().unwrap();
            // Stamped on the run clock at arrival, not from the capture's windows.
            assert!(s.t_s >= last && s.t_s < 60.0, "{}", s.t_s);
            last = s.t_s;
            assert!((s.window_s - ns as f64 / 1e9).abs() < 1e-12);
            assert_eq!(s.rails[0].scope, Scope::Gpu);
        }
        match source.next(&clock) {
            Err(PowerError::Failed { reason, .. }) => {
                assert!(reason.contains("sampler went away"), "{reason}");
                assert!(reason.contains('3'), "{reason}");
            }
            other => panic!("expected failure, got {other:?}"),
        }
        assert!(source.next(&clock).unwrap().is_none());
    }

    #[test]
    fn a_bad_document_is_reported_and_the_next_ones_still_read() {
        let mut source = fake(
            &format!("printf 'oops</plist>'; cat {BATTERY_THREE}"),
            false,
            Duration::ZERO,
        )
        .unwrap();
        let clock = RunClock::start();
        match source.next(&clock) {
            Err(PowerError::Malformed {
                format, position, ..
            }) => {
                assert_eq!(format, "powermetrics-plist");
                assert_eq!(position, Position::Byte(0));
            }
            other => panic!("expected malformed, got {other:?}"),
        }
        for _ in 0..3 {
            let s = source.next(&clock).unwrap().unwrap();
            assert_eq!(s.thermal.battery_percent, Some(20.0));
        }
        // A clean exit after its output is still an unexpected end.
        assert!(matches!(
            source.next(&clock),
            Err(PowerError::Failed { .. })
        ));
    }

    #[test]
    fn interrupter_ends_a_blocked_next() {
        let mut source = fake(
            &format!("cat {BATTERY_THREE}; exec sleep 30"),
            false,
            Duration::ZERO,
        )
        .unwrap();
        let clock = RunClock::start();
        for _ in 0..3 {
            assert!(source.next(&clock).unwrap().is_some());
        }
        let interrupt = source.interrupter().unwrap();
        let started = Instant::now();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            interrupt();
        });
        // Blocks on the sleeping child until the interrupter kills it: then it simply ends.
        assert!(source.next(&clock).unwrap().is_none());
        assert!(started.elapsed() < Duration::from_secs(20));
        killer.join().unwrap();
    }

    #[test]
    fn drop_kills_and_reaps_the_child() {
        let source = fake("exec sleep 30", false, Duration::ZERO).unwrap();
        let pid = source.process.lock().id();
        drop(source);
        if cfg!(target_os = "linux") {
            assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
        }
    }

    #[test]
    fn a_child_refusing_to_start_is_unavailable_with_its_reason() {
        let result = fake(
            "echo 'powermetrics must be invoked as the superuser' >&2; exit 1",
            false,
            Duration::from_secs(10),
        );
        match result {
            Err(PowerError::Unavailable { reason, .. }) => {
                assert!(reason.contains("needs root"), "{reason}");
                assert!(reason.contains("superuser"), "{reason}");
            }
            other => panic!("expected unavailable, got {other:?}"),
        }
    }

    #[test]
    fn pmset_settings_tell_low_power_mode() {
        let on = "System-wide power settings:\nCurrently in use:\n standby              1\n lowpowermode         1\n sleep                1\n";
        assert_eq!(low_power_mode(on), Some(true));
        assert_eq!(
            low_power_mode(&on.replace("lowpowermode         1", "lowpowermode         0")),
            Some(false)
        );
        assert_eq!(low_power_mode(" standby 1\n sleep 1\n"), None);
    }

    #[test]
    fn pmset_output_tells_battery_and_power_source() {
        let laptop_on_ac = "Now drawing from 'AC Power'\n \
            -InternalBattery-0 (id=4653155)\t100%; charged; 0:00 remaining present: true\n";
        assert!(has_battery(laptop_on_ac));
        assert_eq!(drawing_from_battery(laptop_on_ac), Some(false));
        let laptop_on_battery = "Now drawing from 'Battery Power'\n \
            -InternalBattery-0 (id=4653155)\t87%; discharging; 5:12 remaining present: true\n";
        assert_eq!(drawing_from_battery(laptop_on_battery), Some(true));
        let desktop = "Now drawing from 'AC Power'\n";
        assert!(!has_battery(desktop));
        assert_eq!(drawing_from_battery(desktop), Some(false));
        assert_eq!(drawing_from_battery(""), None);
    }
}
