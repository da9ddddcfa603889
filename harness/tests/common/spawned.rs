//! A `bench run` started in the background, for tests that act on it while it runs (signal
//! it, fill its disk), and the processes of the machine, to check none is left behind.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running `bench`, killed (SIGKILL) and reaped if the test ends before it does.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Where its standard output goes.
    pub stdout: PathBuf,
    /// Where its standard error goes.
    pub stderr: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Start `bench ARGS` with its output in files under `tmp` (named by `tag`).
    pub fn start<I>(tmp: &Path, tag: &str, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<std::ffi::OsStr>,
    {
        let stdout = tmp.join(format!("{tag}.stdout"));
        let stderr = tmp.join(format!("{tag}.stderr"));
        let child = super::bench()
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to standard error so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Wait until `ready()` holds, panicking (with bench's stderr) if bench ends first or
    /// `within` passes.
    pub fn wait_for(&mut self, within: Duration, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + within;
        loop {
            if ready() {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "bench ended ({status}) before {what}:\n{}",
                    self.stderr_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {within:?}:\n{}",
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Send `signal` and wait (up to a minute) for bench to exit: its status and how long it
    /// took from the signal.
    pub fn signal_and_wait(&mut self, signal: libc::c_int) -> (ExitStatus, Duration) {
        let sent = Instant::now();
        assert!(self.signal(signal), "bench ended before the signal");
        self.wait(sent, Duration::from_secs(60))
    }

    /// Send `signal` unless bench has ended already (then `false`).
    pub fn signal(&mut self, signal: libc::c_int) -> bool {
        // Reaped means its pid may be another process's now: not signalled then.
        if self.child.try_wait().unwrap().is_some() {
            return false;
        }
        let pid = libc::pid_t::try_from(self.pid()).unwrap();
        // SAFETY: kill(2) on our own child, not reaped (try_wait just said it runs).
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        true
    }

    /// Wait (up to `within`) for bench to exit: its status and the time since `since`.
    pub fn wait(&mut self, since: Instant, within: Duration) -> (ExitStatus, Duration) {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, since.elapsed());
            }
            assert!(
                since.elapsed() < within,
                "bench did not exit within {within:?}:\n{}",
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Lines of a JSONL file stored so far (0 when it does not exist yet).
pub fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// The one run folder under `results` once it exists.
pub fn run_dir(results: &Path) -> Option<PathBuf> {
    std::fs::read_dir(results)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir())
}

/// Every line of the JSONL file at `path` is whole and is JSON (the file ends with a line
/// break, or is empty); returns them.
pub fn whole_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{}: the last line is torn",
        path.display()
    );
    text.lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not a whole line ({e}): {l}", path.display()))
        })
        .collect()
}

/// A process of this machine.
#[derive(Debug, Clone)]
pub struct Process {
    /// Its id.
    pub pid: u32,
    /// Its parent's id.
    pub ppid: u32,
    /// Its command line, arguments separated by spaces.
    pub command: String,
}

/// The processes running now (zombies left out: they are dead, waiting to be reaped).
pub fn processes() -> Vec<Process> {
    let out = std::process::Command::new("ps")
        .args(["-A", "-o", "pid=,ppid=,stat=,command="])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let pid = fields.next()?.parse().ok()?;
            let ppid = fields.next()?.parse().ok()?;
            let stat = fields.next()?;
            let command = fields.collect::<Vec<_>>().join(" ");
            (!stat.starts_with('Z')).then_some(Process { pid, ppid, command })
        })
        .collect()
}

/// Whether process `pid` is running (not gone, not a zombie).
pub fn alive(pid: u32) -> bool {
    processes().iter().any(|p| p.pid == pid)
}
