//! One writer per run folder: `bench run` holds an exclusive advisory lock (`flock`) on
//! `<run>/writer.lock` from the moment it creates or resumes the run until it ends.
//!
//! The operating system drops the lock when the process dies, however it dies, so a run killed
//! with SIGKILL never leaves a stale lock behind; the file itself stays and only names the last
//! writer. Readers (`bench report`, `compare`, `gate`, `history`) never take it: they read
//! whole lines and an atomically replaced manifest, so a run being written reads as it stands.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{io, StoreError};

/// File name of the lock inside a run folder.
pub const WRITER_LOCK: &str = "writer.lock";

/// Who holds (or last held) a run folder's lock, as written into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writer {
    /// Process id.
    pub pid: u32,
    /// Host name of the machine it runs on.
    pub host: String,
    /// When it took the lock (RFC 3339, UTC).
    pub since: String,
}

impl Writer {
    fn this_process() -> Self {
        Self {
            pid: std::process::id(),
            host: sysinfo::System::host_name().unwrap_or_else(|| "unknown".into()),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

impl std::fmt::Display for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {} (since {})",
            self.pid, self.host, self.since
        )
    }
}

/// The lock of one run folder, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    // Closing the file releases the lock.
    _file: File,
}

impl RunLock {
    /// Take the lock of the run folder `dir`, or fail at once with
    /// [`StoreError::Locked`] naming the process that holds it.
    pub fn acquire(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(WRITER_LOCK);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        if !try_lock_exclusive(&file).map_err(io(&path))? {
            return Err(StoreError::Locked {
                dir: dir.to_path_buf(),
                holder: read_holder(&mut file),
            });
        }
        let mut line = serde_json::to_vec(&Writer::this_process()).unwrap_or_default();
        line.push(b'\n');
        file.set_len(0).map_err(io(&path))?;
        file.rewind().map_err(io(&path))?;
        file.write_all(&line).map_err(io(&path))?;
        Ok(Self { _file: file })
    }
}

/// What the lock file says of its holder; `None` when it says nothing readable (the holder
/// took the lock and has not written its line yet).
fn read_holder(file: &mut File) -> Option<Writer> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// `flock(LOCK_EX | LOCK_NB)`: true when taken, false when another open file holds it.
#[cfg(unix)]
fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock on a descriptor this `File` owns and keeps open.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(true);
        }
        let error = std::io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(error),
        }
    }
}

/// Without `flock`, runs are not guarded against a second writer.
#[cfg(not(unix))]
fn try_lock_exclusive(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// Text for [`StoreError::Locked`].
pub(super) fn locked_message(dir: &Path, holder: &Option<Writer>) -> String {
    let who = holder
        .as_ref()
        .map_or_else(|| "another process".to_string(), Writer::to_string);
    format!(
        "{} is being written by another bench: {who}. One run folder has one writer at a \
         time; wait for that run to end (or stop it), then `bench run --resume {}`",
        dir.display(),
        dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_folder_is_refused_with_the_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path()).unwrap();
        // flock locks belong to the open file, so a second open in this process contends as
        // another process would.
        match RunLock::acquire(dir.path()) {
            Err(StoreError::Locked { dir: d, holder }) => {
                assert_eq!(d, dir.path());
                let holder = holder.expect("the holder is named");
                assert_eq!(holder.pid, std::process::id());
                assert!(!holder.host.is_empty());
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        // Released when dropped, as when the process dies.
        drop(first);
        let again = RunLock::acquire(dir.path()).unwrap();
        drop(again);
    }

    #[test]
    fn the_message_names_folder_pid_and_host() {
        let writer = Writer {
            pid: 4242,
            host: "studio-1".into(),
            since: "2026-12-06T00:00:00.000Z".into(),
        };
        let text = locked_message(Path::new("results/r1"), &Some(writer));
        assert!(text.contains("results/r1"), "{text}");
        assert!(text.contains("pid 4242 on host studio-1"), "{text}");
        assert!(text.contains("--resume results/r1"), "{text}");
    }
}
