//! Pauses before a case: the suite's `cooldown_s` of idle (after the first case), then its
//! `wait_thermal` (until the power sampler reports nominal thermal pressure, up to a limit).
//! Each pause is kept in the manifest, so a reader knows what the machine was given.

use std::time::{Duration, Instant};

use crate::store::CasePause;
use crate::suite::{SuiteSection, ThermalTarget};
use bench_workloads::cancel;

/// What the suite asks for before each case.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PauseSettings {
    /// Idle before each case but the first.
    pub cooldown: Duration,
    /// Wait for nominal thermal pressure, up to this long.
    pub wait_thermal: Option<Duration>,
}

impl PauseSettings {
    /// The settings of a suite's `[suite]`.
    pub fn of(suite: &SuiteSection) -> Self {
        Self {
            cooldown: suite
                .cooldown_s
                .as_ref()
                .map_or(Duration::ZERO, |s| Duration::from_secs_f64(s.value.0)),
            wait_thermal: suite.wait_thermal.as_ref().map(|t| match t.value {
                ThermalTarget::Nominal => Duration::from_secs_f64(
                    suite
                        .wait_thermal_max_s
                        .as_ref()
                        .map_or(600.0, |s| s.value.0),
                ),
            }),
        }
    }

    /// Whether there is anything to do.
    pub fn is_none(&self) -> bool {
        self.cooldown.is_zero() && self.wait_thermal.is_none()
    }
}

/// Idle for `duration`, in short steps so that an interrupt ends it at once; the time idled.
fn idle(duration: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < duration && !cancel::is_requested() {
        std::thread::sleep((duration - started.elapsed()).min(Duration::from_millis(100)));
    }
    started.elapsed()
}

/// Pause before `case`: cooldown unless `first`, then the thermal wait, reading the latest
/// thermal pressure with `pressure` (`None`: the sampler reports none). Polls every `poll`.
pub fn before_case(
    settings: &PauseSettings,
    case: &str,
    first: bool,
    pressure: &mut dyn FnMut() -> Option<String>,
    poll: Duration,
) -> Option<CasePause> {
    if settings.is_none() {
        return None;
    }
    let cooldown = if first {
        Duration::ZERO
    } else {
        idle(settings.cooldown)
    };
    let mut pause = CasePause {
        case: case.to_string(),
        cooldown_s: cooldown.as_secs_f64(),
        thermal_wait_s: None,
        pressure: None,
        reached: None,
    };
    if let Some(limit) = settings.wait_thermal {
        let started = Instant::now();
        loop {
            pause.pressure = pressure();
            let Some(now) = &pause.pressure else {
                break; // nothing to wait for: said in `pressure` being absent
            };
            if now.eq_ignore_ascii_case("nominal") {
                pause.reached = Some(true);
                break;
            }
            if started.elapsed() >= limit || cancel::is_requested() {
                pause.reached = Some(false);
                break;
            }
            idle(poll.min(limit.saturating_sub(started.elapsed())));
        }
        pause.thermal_wait_s = Some(started.elapsed().as_secs_f64());
    }
    Some(pause)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(cooldown_ms: u64, wait_ms: Option<u64>) -> PauseSettings {
        PauseSettings {
            cooldown: Duration::from_millis(cooldown_ms),
            wait_thermal: wait_ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn nothing_asked_means_no_pause_and_the_first_case_has_no_cooldown() {
        let mut none = || None;
        assert!(before_case(&settings(0, None), "c", false, &mut none, Duration::ZERO).is_none());
        let first = before_case(&settings(50, None), "c", true, &mut none, Duration::ZERO).unwrap();
        assert_eq!(first.cooldown_s, 0.0);
        let later =
            before_case(&settings(50, None), "c", false, &mut none, Duration::ZERO).unwrap();
        assert!(later.cooldown_s >= 0.05, "{later:?}");
        assert_eq!(later.thermal_wait_s, None);
    }

    #[test]
    fn the_thermal_wait_ends_when_pressure_is_nominal_and_says_so() {
        let mut readings = vec!["Nominal", "Moderate", "Heavy"];
        let mut pressure = || readings.pop().map(str::to_string);
        let pause = before_case(
            &settings(0, Some(10_000)),
            "c",
            true,
            &mut pressure,
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(pause.reached, Some(true));
        assert_eq!(pause.pressure.as_deref(), Some("Nominal"));
        assert!(readings.is_empty(), "read until nominal");
    }

    #[test]
    fn the_thermal_wait_gives_up_at_its_limit_and_without_a_reading_does_not_wait() {
        let mut hot = || Some("Heavy".to_string());
        let pause = before_case(
            &settings(0, Some(30)),
            "c",
            true,
            &mut hot,
            Duration::from_millis(5),
        )
        .unwrap();
        assert_eq!(pause.reached, Some(false));
        assert!(pause.thermal_wait_s.unwrap() >= 0.03);
        let mut none = || None;
        let pause = before_case(
            &settings(0, Some(10_000)),
            "c",
            true,
            &mut none,
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!((pause.reached, pause.pressure), (None, None));
    }
}
