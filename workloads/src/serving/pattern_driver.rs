//! Drives a [`LoadPattern`] against a server: sends each request when the pattern says,
//! streams it, and hands every finished request to the caller's thread as it ends (the caller
//! stores it; the network thread never waits on a disk).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::stream::StreamOutcome;
use crate::load::{Arrival, LoadPattern, Schedule, Stop};

/// One request as the driver saw it; its `outcome` is still raw.
#[derive(Debug)]
pub struct Sent {
    /// Place in sending order, from 0.
    pub index: u32,
    /// Seconds from the pattern's start to when it was due by the schedule.
    pub scheduled_s: f64,
    /// Seconds it waited for a free slot.
    pub queue_s: f64,
    /// Seconds from due (scheduled, slot free) to sent.
    pub lag_s: f64,
    /// The streamed response.
    pub outcome: StreamOutcome,
}

/// How close to its due time the driver wakes by the timer alone; it yields to other tasks
/// for the rest, because tokio's timer only has millisecond resolution.
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// Run `pattern` from `started`, calling `send(index)` for each request and passing each
/// finished one to `done`. Returns when every request has ended. An interrupt (see
/// [`crate::cancel`]) stops the sending; requests in flight then end at once (the stream
/// watches for it too), so the pattern ends cut short.
pub async fn drive<F, Fut>(pattern: LoadPattern, started: Instant, send: F, done: Sender<Sent>)
where
    F: Fn(u32) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = StreamOutcome> + Send + 'static,
{
    let deadline = match pattern.stop {
        Stop::DurationS(d) => Some(started + Duration::from_secs_f64(d.max(0.0))),
        Stop::Requests(_) => None,
    };
    let limit = pattern.planned_requests();
    match Schedule::new(pattern.arrival) {
        None => closed_loop(pattern, started, deadline, limit, send, done).await,
        Some(schedule) => open_loop(pattern, started, schedule, limit, send, done).await,
    }
}

async fn closed_loop<F, Fut>(
    pattern: LoadPattern,
    started: Instant,
    deadline: Option<Instant>,
    limit: Option<u32>,
    send: F,
    done: Sender<Sent>,
) where
    F: Fn(u32) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = StreamOutcome> + Send + 'static,
{
    debug_assert_eq!(pattern.arrival, Arrival::Closed);
    let next = Arc::new(AtomicU32::new(0));
    let workers = pattern.concurrency.unwrap_or(1).max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (next, send, done) = (next.clone(), send.clone(), done.clone());
        tasks.spawn(async move {
            loop {
                let due = Instant::now();
                if deadline.is_some_and(|d| due >= d) || crate::cancel::is_requested() {
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|n| index >= n) {
                    break;
                }
                let outcome = send(index).await;
                let sent = outcome.sent.unwrap_or(due);
                let report = Sent {
                    index,
                    scheduled_s: due.duration_since(started).as_secs_f64(),
                    queue_s: 0.0,
                    lag_s: sent.saturating_duration_since(due).as_secs_f64(),
                    outcome,
                };
                if done.send(report).is_err() {
                    break;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

async fn open_loop<F, Fut>(
    pattern: LoadPattern,
    started: Instant,
    schedule: Schedule,
    limit: Option<u32>,
    send: F,
    done: Sender<Sent>,
) where
    F: Fn(u32) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = StreamOutcome> + Send + 'static,
{
    let slots = pattern
        .concurrency
        .map(|c| Arc::new(Semaphore::new(c.max(1) as usize)));
    let duration = match pattern.stop {
        Stop::DurationS(d) => Some(d),
        Stop::Requests(_) => None,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (index, offset_s) in (0u32..).zip(schedule) {
        if limit.is_some_and(|n| index >= n) || duration.is_some_and(|d| offset_s > d) {
            break;
        }
        let scheduled = started + Duration::from_secs_f64(offset_s);
        // The wait for the due time (long at a low rate) and for a free slot end on an
        // interrupt: nothing more is sent.
        let slot = async {
            wait_until(scheduled).await;
            match &slots {
                None => Some((None, scheduled)),
                Some(slots) => match slots.clone().try_acquire_owned() {
                    Ok(permit) => Some((Some(permit), scheduled)),
                    Err(_) => match slots.clone().acquire_owned().await {
                        Ok(permit) => Some((Some(permit), Instant::now().max(scheduled))),
                        Err(_) => None,
                    },
                },
            }
        };
        let slot = tokio::select! {
            biased;
            () = crate::cancel::requested() => None,
            slot = slot => slot,
        };
        let Some((permit, due)) = slot else {
            break;
        };
        let (send, done) = (send.clone(), done.clone());
        tasks.spawn(async move {
            let outcome = send(index).await;
            drop(permit);
            let sent = outcome.sent.unwrap_or(due);
            let _ = done.send(Sent {
                index,
                scheduled_s: offset_s,
                queue_s: due.duration_since(scheduled).as_secs_f64(),
                lag_s: sent.saturating_duration_since(due).as_secs_f64(),
                outcome,
            });
        });
        // Reap finished tasks as we go, so a long pattern does not hold them all.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// Sleep until `at` by the timer, then yield until it has passed: sub-millisecond lateness
/// at the cost of at most a millisecond of polling per request.
async fn wait_until(at: Instant) {
    if let Some(early) = at.checked_sub(TIMER_SLACK) {
        if Instant::now() < early {
            tokio::time::sleep_until(early.into()).await;
        }
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pattern: LoadPattern, work_ms: u64) -> Vec<Sent> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let started = Instant::now();
        runtime.block_on(drive(
            pattern,
            started,
            move |_| async move {
                let sent = Instant::now();
                tokio::time::sleep(Duration::from_millis(work_ms)).await;
                StreamOutcome {
                    sent: Some(sent),
                    e2e_s: sent.elapsed().as_secs_f64(),
                    ..StreamOutcome::default()
                }
            },
            tx,
        ));
        let mut all: Vec<Sent> = rx.try_iter().collect();
        all.sort_by_key(|s| s.index);
        all
    }

    #[test]
    fn closed_loop_sends_exactly_the_requests_asked_with_that_many_in_flight() {
        let pattern = LoadPattern {
            arrival: Arrival::Closed,
            concurrency: Some(4),
            stop: Stop::Requests(10),
            warmup_requests: 2,
        };
        let sent = run(pattern, 30);
        assert_eq!(
            sent.iter().map(|s| s.index).collect::<Vec<_>>(),
            (0..12).collect::<Vec<_>>()
        );
        // The first four start together; the fifth waits for a free worker (about 30 ms).
        let first_free = sent[4..]
            .iter()
            .map(|s| s.scheduled_s)
            .fold(f64::MAX, f64::min);
        assert!(first_free >= 0.03, "{first_free}");
        assert!(sent[..4].iter().all(|s| s.scheduled_s < first_free));
        assert!(sent.iter().all(|s| s.queue_s == 0.0));
    }

    #[test]
    fn open_loop_follows_the_schedule_and_queues_beyond_the_cap() {
        let pattern = LoadPattern {
            arrival: Arrival::Constant { rate: 100.0 },
            concurrency: Some(1),
            stop: Stop::Requests(5),
            warmup_requests: 0,
        };
        // 35 ms of work per request at one slot, one request due every 10 ms: each waits
        // longer than the last.
        let sent = run(pattern, 35);
        assert_eq!(sent.len(), 5);
        for (i, s) in sent.iter().enumerate() {
            assert!((s.scheduled_s - i as f64 * 0.01).abs() < 1e-9);
        }
        assert_eq!(sent[0].queue_s, 0.0);
        assert!(sent.windows(2).all(|w| w[1].queue_s > w[0].queue_s));
        assert!(sent[4].queue_s > 0.09, "{}", sent[4].queue_s);
    }

    #[test]
    fn duration_stops_new_requests() {
        let pattern = LoadPattern {
            arrival: Arrival::Constant { rate: 100.0 },
            concurrency: None,
            stop: Stop::DurationS(0.095),
            warmup_requests: 0,
        };
        // Due at 0, 10, ..., 90 ms: ten requests, none after 95 ms.
        assert_eq!(run(pattern, 1).len(), 10);
    }
}
