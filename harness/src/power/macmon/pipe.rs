//! `macmon pipe`, spawned on this Mac.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::process::{ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{parse_line, NAME};
use crate::clock::RunClock;
use crate::power::child::{lock, ChildProcess};
use crate::power::{Position, PowerError, Sample, Source};

/// macmon raises `-i` below this to it.
const MIN_INTERVAL_MS: u64 = 100;
/// How much of macmon's stderr a failure quotes.
const STDERR_TAIL_BYTES: usize = 2000;
/// Unreadable lines in a row that end the source (one is skipped: a stray message).
const BAD_LINES_IN_A_ROW: usize = 3;
/// How long `open` waits for the first line beyond one interval (macmon first probes the SoC).
const FIRST_LINE_GRACE: Duration = Duration::from_secs(3);
/// How often a blocked `next` checks whether it was interrupted.
const POLL: Duration = Duration::from_millis(200);

/// `macmon pipe -i <ms>` as a child process: each stdout line is one reading, averaged over
/// the interval that ended when the line was printed, so it is stamped on the run clock when
/// it arrives, with window = the interval.
#[derive(Debug)]
pub struct MacmonPipeSource {
    process: ChildProcess,
    lines: Receiver<(Instant, String)>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    /// The line `open` read to check that macmon works.
    pending: Option<(Instant, String)>,
    line_no: usize,
    bad_in_a_row: usize,
    window_s: f64,
    description: String,
}

impl MacmonPipeSource {
    /// Spawn `macmon pipe` from `PATH`. [`PowerError::Unavailable`] when this is not macOS,
    /// macmon is not installed (`brew install macmon`), or it exits before its first reading
    /// (an Intel Mac, say); the reason quotes its stderr. Waits up to one interval plus 3 s
    /// for that first reading. `interval_ms` below 100 is raised to 100, as macmon does.
    pub fn open(interval_ms: u64) -> Result<Self, PowerError> {
        let os = std::env::consts::OS;
        if os != "macos" {
            return Err(PowerError::Unavailable {
                source_name: NAME,
                reason: format!(
                    "macmon runs only on macOS on Apple Silicon, and this is {os}; use the \
                     `nvml` or `rapl` sampler here, or poll a Mac's `macmon serve` by its URL"
                ),
            });
        }
        Self::open_program("macmon", interval_ms)
    }

    /// Spawn `<program> pipe -i <ms>` without the macOS check: a macmon that is not on
    /// `PATH`, or a stand-in that prints the same lines.
    pub fn open_program(program: impl AsRef<OsStr>, interval_ms: u64) -> Result<Self, PowerError> {
        Self::spawn(Command::new(program), interval_ms)
    }

    /// Run `command` with `pipe -i <ms>` appended.
    pub(crate) fn spawn(mut command: Command, interval_ms: u64) -> Result<Self, PowerError> {
        let interval_ms = interval_ms.max(MIN_INTERVAL_MS);
        let program = command.get_program().to_string_lossy().into_owned();
        let unavailable = |reason: String| PowerError::Unavailable {
            source_name: NAME,
            reason,
        };
        // `-s 0` (run until stopped) is macmon's default, so no sample count is passed.
        command
            .args(["pipe", "-i", &interval_ms.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                unavailable(format!(
                    "`{program}` was not found; install it with `brew install macmon`"
                ))
            } else {
                unavailable(format!("cannot start `{program} pipe`: {e}"))
            }
        })?;
        let (Some(stdout), Some(stderr_pipe)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(unavailable(format!(
                "`{program}` started without its output pipes"
            )));
        };
        let process = ChildProcess::new(child);
        let (tx, lines) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        // Threads only read pipes; they end at EOF, when the child exits or is killed.
        let stdout_thread = std::thread::Builder::new()
            .name("macmon-stdout".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send((Instant::now(), line)).is_err() {
                        break;
                    }
                }
            });
        let stderr_thread = {
            let tail = Arc::clone(&stderr);
            std::thread::Builder::new()
                .name("macmon-stderr".into())
                .spawn(move || keep_tail(stderr_pipe, &tail))
        };
        let mut source = Self {
            process,
            lines,
            stderr,
            stderr_thread: None,
            pending: None,
            line_no: 0,
            bad_in_a_row: 0,
            window_s: interval_ms as f64 / 1000.0,
            description: String::new(),
        };
        // From here on, dropping `source` kills the child.
        let (Ok(_), Ok(stderr_thread)) = (stdout_thread, stderr_thread) else {
            return Err(unavailable(
                "cannot start threads to read macmon's output".into(),
            ));
        };
        source.stderr_thread = Some(stderr_thread);

        let wait = Duration::from_millis(interval_ms) + FIRST_LINE_GRACE;
        let mut rails = String::from("cpu, gpu, ane, combined, sys, ram, gpu_ram");
        match source.lines.recv_timeout(wait) {
            Ok((at, line)) => {
                match parse_line(&line) {
                    Ok(sample) => {
                        let names: Vec<&str> =
                            sample.rails.iter().map(|r| r.rail.as_str()).collect();
                        rails = names.join(", ");
                    }
                    Err(e) => {
                        return Err(unavailable(format!(
                            "`{program} pipe` printed something this harness cannot read ({e}): {}",
                            line.chars().take(120).collect::<String>()
                        )))
                    }
                }
                source.pending = Some((at, line));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = source.wait_exit();
                return Err(unavailable(format!(
                    "`{program} pipe` ended before its first reading ({}){}",
                    status.map_or_else(|| "still running".to_string(), |s| s.to_string()),
                    source.stderr_tail()
                )));
            }
            // Slow, not broken: `next` will wait for it.
            Err(RecvTimeoutError::Timeout) => {}
        }
        source.description =
            format!("macmon pipe every {interval_ms} ms ({program}): rails {rails} (W)");
        Ok(source)
    }

    /// `: <last stderr>` or nothing.
    fn stderr_tail(&self) -> String {
        let tail = lock(&self.stderr);
        let tail = tail.trim();
        if tail.is_empty() {
            String::new()
        } else {
            format!(": {tail}")
        }
    }

    /// The child's exit status once its stdout has closed (killing it if it lingers), with its
    /// stderr read to the end where that comes soon.
    fn wait_exit(&mut self) -> Option<ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(2);
        let status = loop {
            match self.process.lock().try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {}
                Ok(None) | Err(_) => {
                    let mut child = self.process.lock();
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(thread) = self.stderr_thread.take() {
            let deadline = Instant::now() + Duration::from_millis(500);
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
        status
    }

    /// What `next` returns once stdout has closed.
    fn ended(&mut self) -> Result<Option<Sample>, PowerError> {
        if self.process.stopped() {
            return Ok(None);
        }
        let status = self.wait_exit();
        if self.process.stopped() {
            return Ok(None);
        }
        match status {
            // Only a `-s N` run ends by itself: not a failure.
            Some(status) if status.success() => Ok(None),
            Some(status) => Err(PowerError::Failed {
                source_name: NAME,
                reason: format!("macmon exited ({status}){}", self.stderr_tail()),
            }),
            None => Err(PowerError::Failed {
                source_name: NAME,
                reason: format!(
                    "macmon closed its output but kept running, so it was stopped{}",
                    self.stderr_tail()
                ),
            }),
        }
    }
}

/// Keep the last few KB of a pipe in `tail`.
fn keep_tail(mut pipe: ChildStderr, tail: &Mutex<String>) {
    let mut buf = [0u8; 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut tail = lock(tail);
                tail.push_str(&String::from_utf8_lossy(&buf[..n]));
                if tail.len() > STDERR_TAIL_BYTES {
                    let mut cut = tail.len() - STDERR_TAIL_BYTES;
                    while !tail.is_char_boundary(cut) {
                        cut += 1;
                    }
                    tail.drain(..cut);
                }
            }
        }
    }
}

impl Source for MacmonPipeSource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        loop {
            let (at, line) = match self.pending.take() {
                Some(line) => line,
                None => match self.lines.recv_timeout(POLL) {
                    Ok(line) => line,
                    Err(RecvTimeoutError::Timeout) => {
                        if self.process.stopped() {
                            return Ok(None);
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return self.ended(),
                },
            };
            self.line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            match parse_line(&line) {
                Ok(mut sample) => {
                    self.bad_in_a_row = 0;
                    sample.t_s = clock.at(at);
                    sample.window_s = self.window_s;
                    return Ok(Some(sample));
                }
                Err(message) => {
                    self.bad_in_a_row += 1;
                    if self.bad_in_a_row >= BAD_LINES_IN_A_ROW {
                        return Err(PowerError::Malformed {
                            format: NAME,
                            position: Position::Line(self.line_no),
                            message,
                        });
                    }
                    tracing::warn!("macmon output line {} skipped: {message}", self.line_no);
                }
            }
        }
    }

    fn interrupter(&self) -> Option<Box<dyn FnOnce() + Send>> {
        Some(self.process.interrupter())
    }
}
