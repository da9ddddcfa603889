//! The child process a streaming source reads (powermetrics, `macmon pipe`): shared with the
//! interrupter so the monitor can end a blocked read, and killed and reaped when the source
//! goes away, so no sampler outlives bench or lingers as a zombie. It is registered with
//! [`bench_workloads::children`] while it runs, so a second interrupt kills it before bench
//! exits at once.

use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bench_workloads::children::{self, Managed, OnInterrupt};

/// A running child process owned by a source.
#[derive(Debug)]
pub(crate) struct ChildProcess {
    child: Arc<Mutex<Child>>,
    /// Set when the child is stopped on purpose: its end is then no failure.
    stopped: Arc<AtomicBool>,
    /// In the registry until dropped, before the child is reaped.
    managed: Option<Managed>,
}

impl ChildProcess {
    /// Own `child`.
    pub(crate) fn new(child: Child) -> Self {
        // Stopped in order by the monitor on an interrupt: samples go on to the end of the run.
        let managed = Some(children::register(&child, OnInterrupt::Finish));
        Self {
            child: Arc::new(Mutex::new(child)),
            stopped: Arc::new(AtomicBool::new(false)),
            managed,
        }
    }

    /// The child, for `try_wait`, `wait` or its id.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Child> {
        lock(&self.child)
    }

    /// Whether the child was stopped on purpose.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Kills the child when called: its stdout closes, which ends a blocked read.
    pub(crate) fn interrupter(&self) -> Box<dyn FnOnce() + Send> {
        let child = Arc::clone(&self.child);
        let stopped = Arc::clone(&self.stopped);
        Box::new(move || {
            stopped.store(true, Ordering::SeqCst);
            let _ = lock(&child).kill();
        })
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        let mut child = lock(&self.child);
        let _ = child.kill();
        self.managed = None;
        let _ = child.wait();
    }
}

/// A lock that survives a panic elsewhere: the data (a child handle, text) stays usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
