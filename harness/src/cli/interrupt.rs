//! SIGINT and SIGTERM (and SIGHUP) during `bench run`: the first stops the run in order (what
//! finished is stored, the manifest says `interrupted`, bench tells how to resume and exits
//! 130); a second, for when that takes too long, kills every child bench started and exits 130
//! at once.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bench_workloads::{cancel, children};

use super::EXIT_INTERRUPTED;

/// A second signal sooner than this after the first is the same interrupt delivered twice (GNU
/// `timeout` signals the command and then its whole process group), not a second request.
const SAME_INTERRUPT: Duration = Duration::from_millis(500);

/// Catch the signals for the rest of the process. Failing to is only a warning: the signals
/// then stop bench as they would any program (`--resume` still finishes the run).
pub fn install() {
    static FIRST: OnceLock<Instant> = OnceLock::new();
    let installed = ctrlc::set_handler(|| {
        let mut first_now = false;
        let first = *FIRST.get_or_init(|| {
            first_now = true;
            Instant::now()
        });
        if first_now {
            cancel::request();
            children::kill_interruptible();
            eprintln!(
                "\ninterrupted: stopping after storing what finished (interrupt again to quit at once)"
            );
        } else if first.elapsed() >= SAME_INTERRUPT {
            children::kill_all();
            eprintln!("\ninterrupted again: quitting now");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    if let Err(e) = installed {
        tracing::warn!(
            "cannot catch interrupts ({e}); one will stop bench without storing its status"
        );
    }
}
