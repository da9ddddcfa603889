//! Runs the served source on its own thread and hands its samples to the server loop over a
//! channel. Unlike [`Monitor`](crate::power::monitor::Monitor), which keeps every sample of a
//! run, nothing is kept here: a server runs for days.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crate::clock::RunClock;
use crate::power::{Sample, Source};

/// What the sampling thread reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A sample, and when it arrived (boxed: a sample is large beside the other events).
    Sample(Box<Sample>, Instant),
    /// The source ended by itself (a replay without `--loop`).
    Ended,
    /// The source failed: how.
    Failed(String),
}

/// A source sampling on a background thread.
pub struct Feed {
    events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    interrupter: Option<Box<dyn FnOnce() + Send>>,
    thread: Option<JoinHandle<()>>,
}

impl Feed {
    /// Start sampling `source` on `clock`.
    pub fn start(mut source: Box<dyn Source>, clock: RunClock) -> Self {
        let (tx, events) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let interrupter = source.interrupter();
        let thread = {
            let stop = Arc::clone(&stop);
            let failed = tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("power-serve-{}", source.name()))
                .spawn(move || {
                    let end = loop {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        match source.next(&clock) {
                            Ok(Some(sample)) => {
                                if tx
                                    .send(Event::Sample(Box::new(sample), Instant::now()))
                                    .is_err()
                                {
                                    return; // the server is gone
                                }
                            }
                            Ok(None) => break Event::Ended,
                            Err(_) if stop.load(Ordering::SeqCst) => return,
                            Err(e) => break Event::Failed(e.to_string()),
                        }
                    };
                    let _ = tx.send(end);
                });
            match spawned {
                Ok(handle) => Some(handle),
                Err(e) => {
                    let _ = failed.send(Event::Failed(format!(
                        "cannot start a sampling thread: {e}"
                    )));
                    None
                }
            }
        };
        Self {
            events,
            stop,
            interrupter,
            thread,
        }
    }

    /// Every event that arrived since the last call, in order.
    pub fn drain(&self) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            match self.events.try_recv() {
                Ok(event) => events.push(event),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return events,
            }
        }
    }

    /// Stop sampling and wait for the thread (a blocked source is interrupted).
    pub fn stop(mut self) {
        self.shutdown();
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

impl Drop for Feed {
    fn drop(&mut self) {
        self.shutdown();
    }
}
