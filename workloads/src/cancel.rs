//! Stopping on request: one process-wide flag that `bench run` raises when it is interrupted
//! (SIGINT, SIGTERM), and that every long wait of the engines checks, so that a run ends within
//! moments, keeping what finished.
//!
//! The flag only ever goes up: an interrupted process finishes its bookkeeping and exits. Code
//! that waits can poll [`is_requested`], block in [`sleep`], or await [`requested`]; all three
//! see the request the moment [`request`] returns (no polling interval).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The process-wide stop signal the engines obey.
static GLOBAL: Cancel = Cancel::new();

/// Ask every engine to stop what it is doing as soon as it can.
pub fn request() {
    GLOBAL.request();
}

/// Whether a stop was asked for.
pub fn is_requested() -> bool {
    GLOBAL.is_requested()
}

/// Sleep for `duration`, or less when a stop is asked for; `true` when the whole time passed.
pub fn sleep(duration: Duration) -> bool {
    GLOBAL.sleep(duration)
}

/// Resolves once a stop is asked for (at once if it already was).
pub async fn requested() {
    GLOBAL.requested().await;
}

/// A stop signal. The engines use the process-wide one (the free functions of this module);
/// a value of its own serves tests that must not stop anything else in their process.
pub struct Cancel {
    flag: AtomicBool,
    /// Wakes async waiters.
    notify: Notify,
    /// Wakes blocking sleepers (the mutex guards nothing but the wait itself).
    sleepers: (Mutex<()>, Condvar),
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    /// A signal not yet raised.
    pub const fn new() -> Self {
        Self {
            flag: AtomicBool::new(false),
            notify: Notify::const_new(),
            sleepers: (Mutex::new(()), Condvar::new()),
        }
    }

    /// Raise the signal and wake every waiter.
    pub fn request(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
        // Taking the lock orders this wake-up after a sleeper's check of the flag.
        let _guard = self
            .sleepers
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.sleepers.1.notify_all();
    }

    /// Whether the signal is raised.
    pub fn is_requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sleep for `duration` unless the signal is raised first; `true` when the whole time
    /// passed.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let (lock, wake) = &self.sleepers;
        let mut guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.is_requested() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            guard = wake
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Resolves once the signal is raised.
    pub async fn requested(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a request between the two still wakes it.
            notified.as_mut().enable();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_sleep_ends_early_when_a_stop_is_asked_for() {
        let cancel = Arc::new(Cancel::new());
        assert!(cancel.sleep(Duration::from_millis(10)), "nothing asked yet");
        let raiser = Arc::clone(&cancel);
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            raiser.request();
        });
        assert!(!cancel.sleep(Duration::from_secs(60)));
        assert!(started.elapsed() < Duration::from_secs(30));
        thread.join().unwrap();
        assert!(cancel.is_requested());
        assert!(!cancel.sleep(Duration::from_secs(60)), "it stays raised");
    }

    #[test]
    fn async_waiters_wake_when_a_stop_is_asked_for_and_later_ones_at_once() {
        let cancel = Arc::new(Cancel::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let raiser = Arc::clone(&cancel);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            raiser.request();
        });
        runtime.block_on(async {
            let woke = tokio::time::timeout(Duration::from_secs(60), cancel.requested()).await;
            assert!(woke.is_ok(), "the waiter was woken");
            let again = tokio::time::timeout(Duration::from_millis(1), cancel.requested()).await;
            assert!(again.is_ok(), "a raised signal resolves at once");
        });
        thread.join().unwrap();
    }
}
