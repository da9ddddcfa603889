//! mflux's output: tqdm's progress on stderr (`StepProgress`) and the `Peak MLX memory` line of
//! stdout (`peak_memory`). Neither returns errors (an unreadable line is not progress), so the
//! property is that any split of the stream reads the same.

use std::time::Instant;

use bench_workloads::diffusion::mflux::{peak_memory, StepProgress};

use crate::corpus;
use crate::engine::{pieces, Target, Verdict};

/// tqdm's bar pieces and the stdout line.
const TOKENS: &[&str] = &[
    "\r",
    "%|",
    "| ",
    "/4 [",
    "/25 [00:45<00:14,  2.40s/it]",
    "100%|##########| 4/4 [00:00<00:00]",
    " 0/0 [",
    " 18446744073709551616/4 [",
    " 4/18446744073709551615 [",
    "▍",
    "███████▌",
    "Peak MLX memory: ",
    " GB\n",
    "Peak MLX memory: 1e400 GB\n",
    "Peak MLX memory: -2 GB\n",
    "Traceback (most recent call last):\n",
];

/// What a reader saw, with every update stamped at the same instant: comparable across splits.
fn read(pieces: &[&[u8]], steps: usize, now: Instant) -> (Vec<bool>, bool, Vec<String>) {
    let mut progress = StepProgress::new(steps);
    for piece in pieces {
        progress.feed(piece, now);
    }
    (
        progress.seen().iter().map(Option::is_some).collect(),
        progress.first_bar().is_some(),
        progress.last_lines().map(str::to_string).collect(),
    )
}

fn check(input: &[u8]) -> Verdict {
    let now = Instant::now();
    let split = pieces(input);
    for steps in [0, 1, 4, 25] {
        let whole = read(&[input], steps, now);
        if whole.0.len() != steps + 1 {
            return Err(format!("{} step counts for {steps} steps", whole.0.len()));
        }
        let pieces = read(&split, steps, now);
        if whole != pieces {
            return Err(format!(
                "{steps} steps: read differently in pieces:\n{whole:?}\nagainst\n{pieces:?}"
            ));
        }
    }
    let _ = peak_memory(&String::from_utf8_lossy(input));
    Ok(())
}

#[test]
fn mflux_output() {
    Target {
        name: "mflux",
        seeds: corpus::written("mflux"),
        tokens: TOKENS,
        cases: 30_000,
        check,
    }
    .run();
}
