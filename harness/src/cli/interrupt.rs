//! SIGINT and SIGTERM (and SIGHUP) during `bench run`: the first stops the run in order (what
//! finished is stored, the manifest says `interrupted`, bench tells how to resume and exits
//! 130); a second, for when that takes too long, kills every child bench started and exits 130
//! at once.

use std::sync::atomic::{AtomicU32, Ordering};

use bench_workloads::{cancel, children};

use super::EXIT_INTERRUPTED;

/// Catch the signals for the rest of the process. Failing to is only a warning: the signals
/// then stop bench as they would any program (`--resume` still finishes the run).
pub fn install() {
    static SEEN: AtomicU32 = AtomicU32::new(0);
    let installed = ctrlc::set_handler(|| {
        if SEEN.fetch_add(1, Ordering::SeqCst) == 0 {
            cancel::request();
            children::kill_interruptible();
            eprintln!(
                "\ninterrupted: stopping after storing what finished (interrupt again to quit at once)"
            );
        } else {
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
