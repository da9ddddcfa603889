//! Child processes bench starts (`mlx_lm.server`, `mlx_lm.benchmark`, `mflux-generate`, power
//! samplers): known by pid while they run, so that an interrupted bench leaves none behind.
//!
//! - On the first interrupt, one-shot jobs ([`OnInterrupt::Kill`]) are killed at once: their
//!   owner, blocked reading their output, sees them end and reports the interruption. Servers
//!   and samplers ([`OnInterrupt::Finish`]) are stopped by their owners in order.
//! - On a second interrupt bench exits at once, after [`kill_all`].
//! - On Linux a child started with [`prepare`] is killed by the kernel when bench dies, even by
//!   SIGKILL (`PR_SET_PDEATHSIG`); elsewhere a terminal's Ctrl-C still reaches it, as it shares
//!   bench's process group.
//!
//! A pid is only signalled while it is in the registry, and owners leave it before they reap
//! the child (see [`Managed`]), so a pid the system has reused is never signalled.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Command, Output};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What the first interrupt does to a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Nothing: its owner stops it in order (a server still answering, a power sampler).
    Finish,
    /// Kill it: its work is a measurement that will not be stored anyway.
    Kill,
}

/// Running children by pid.
static REGISTRY: Mutex<BTreeMap<u32, OnInterrupt>> = Mutex::new(BTreeMap::new());

fn registry() -> MutexGuard<'static, BTreeMap<u32, OnInterrupt>> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A child in the registry; dropping it takes the child out. Drop it before reaping the child
/// (`wait`): a reaped pid may belong to another process a moment later.
#[derive(Debug)]
#[must_use = "the child leaves the registry when this is dropped"]
pub struct Managed {
    pid: u32,
}

impl Drop for Managed {
    fn drop(&mut self) {
        registry().remove(&self.pid);
    }
}

/// Put `child` in the registry until the returned guard is dropped.
pub fn register(child: &Child, on_interrupt: OnInterrupt) -> Managed {
    let pid = child.id();
    registry().insert(pid, on_interrupt);
    Managed { pid }
}

/// Kill every registered [`OnInterrupt::Kill`] child (the first interrupt).
pub fn kill_interruptible() {
    let children = registry();
    for (&pid, _) in children.iter().filter(|(_, &o)| o == OnInterrupt::Kill) {
        kill(pid);
    }
}

/// Kill every registered child (bench is about to exit at once).
pub fn kill_all() {
    let children = registry();
    for &pid in children.keys() {
        kill(pid);
    }
}

fn kill(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers; the pid is a child not yet reaped (see the module
    // docs), so it names that child and no other process.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Make `command` start a child that dies with bench (Linux: the kernel sends it SIGKILL when
/// the thread that started it ends, which for bench's children is the main thread, so when
/// bench ends, however it ends). Elsewhere nothing changes.
pub fn prepare(command: &mut Command) -> &mut Command {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id();
        // SAFETY: only async-signal-safe calls between fork and exec (prctl, getppid), and no
        // allocation: the error is made from a raw OS code.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // bench died before the call above: nothing would kill this child later.
                if u32::try_from(libc::getppid()).ok() != Some(parent) {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    command
}

/// Run `command` to its end and collect its output, as [`Command::output`] does, with the
/// child registered (and [`prepare`]d) while it runs: an interrupt kills it when
/// `on_interrupt` says so, and its output is then what it wrote until then.
pub fn output(command: &mut Command, on_interrupt: OnInterrupt) -> std::io::Result<Output> {
    use std::process::Stdio;
    let mut child = prepare(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let managed = register(&child, on_interrupt);
    let mut stderr = child.stderr.take();
    let reading = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(err) = stderr.as_mut() {
            let _ = err.read_to_end(&mut bytes);
        }
        bytes
    });
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut stdout);
    }
    let stderr = reading.join().unwrap_or_default();
    // Both pipes closed: the child has ended or is ending. Out of the registry before reaping.
    drop(managed);
    let status = child.wait()?;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_collects_both_streams_and_leaves_the_registry() {
        let out = output(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            OnInterrupt::Kill,
        )
        .unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
        let child = Command::new("sleep").arg("0").spawn().unwrap();
        let pid = child.id();
        {
            let _managed = register(&child, OnInterrupt::Finish);
            assert!(registry().contains_key(&pid));
        }
        assert!(!registry().contains_key(&pid));
        let mut child = child;
        child.wait().unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_prepared_child_dies_with_the_thread_that_started_it() {
        // The kernel's parent-death signal follows the starting thread: a thread that ends
        // stands in for a bench that dies.
        let pid = std::thread::spawn(|| {
            let child = prepare(Command::new("sleep").arg("60")).spawn().unwrap();
            let pid = child.id();
            // Not reaped here: the test only needs the process to be gone.
            std::mem::forget(child);
            pid
        })
        .join()
        .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting for this process to reap it: either way it is dead.
            let field = state.rsplit(')').next().unwrap_or_default().trim_start();
            if state.is_empty() || field.starts_with('Z') {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the child outlived its starter"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Reap it (it is this process's child).
        // SAFETY: waitpid on our own child's pid with no status pointer.
        unsafe {
            libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
        }
    }
}
