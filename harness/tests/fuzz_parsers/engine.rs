//! The fuzzing engine: a parser's seeds, the inputs made from them, and the checks every input
//! goes through.
//!
//! A [`Target`] runs in three phases: every seed as is; every seed cut at up to [`CUTS`]
//! offsets; then proptest-drawn [`Case`]s: a seed under a few [`Edit`]s (bit flips, bytes and
//! tokens inserted, runs repeated thousands of times for deep nesting and huge numbers, spans
//! deleted or duplicated, a cut, a splice with another seed), a soup of tokens and seed lines,
//! or arbitrary bytes. Draws are seeded, so a run is reproducible; a failure is shrunk by
//! proptest to a small input, written under `target/tmp/fuzz-failures/` and shown in the
//! assertion message.
//!
//! Each input runs under `catch_unwind` and a clock: a panic, a check that fails, or an input
//! taking more CPU time than [`slow_bound`] fails the test; an input still running after
//! [`HANG`] of wall time ends the whole test process (it cannot be unwound), after saving the
//! input.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bench::cpu_time::thread_cpu_seconds;
use bench_workloads::rng::SplitMix64;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

/// What a target's check says of one input: fine, or the property it broke.
pub type Verdict = Result<(), String>;

/// How many offsets each seed is cut at (evenly spaced) in the second phase.
const CUTS: usize = 96;

/// Inputs are capped at this size: long enough for 4096-deep nesting, short enough that a
/// debug build parses one in milliseconds.
const MAX_LEN: usize = 256 * 1024;

/// An input running this long is a hang: the process ends with the input saved.
const HANG: Duration = Duration::from_secs(30);

/// Tokens every format gets: separators, quotes, brackets, odd characters, and values at the
/// edges of what parsers convert (NaN, infinities, negative zero)...
const SYNTAX: &[&str] = &[
    "\0", "\r", "\n", "\r\n", "\t", " ", "\"", "'", "\\", "=", ":", ",", ".", "-", "+", "#", "{",
    "}", "[", "]", "(", ")", "<", ">", "/", "|", "%", "\u{feff}", "\u{2028}", "█", "é", "0", "-0",
    "1", "-1", "0.5", "1e309", "-1e309", "1e-400", "NaN", "nan", "inf", "-inf", "+Inf", "-Inf",
    "true", "false", "null", "[[", "]]", "\"\"",
];

/// ...and integers just past the limits of i64, u64 and f64's precision.
const NUMBERS: &[&str] = &[
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "0.000000000000000000000000000001",
];

/// Bytes that are not UTF-8, inserted beside the tokens.
const RAW: &[&[u8]] = &[
    b"\xff",
    b"\xfe\xff",
    b"\xc3",
    b"\xe2\x96",
    b"\xed\xa0\x80",
    b"\x80",
];

/// A parser under test.
pub struct Target {
    /// Its name: the test's, and the failure files'.
    pub name: &'static str,
    /// Its seed corpus.
    pub seeds: Vec<Vec<u8>>,
    /// Tokens of its format, beside [`SYNTAX`], [`NUMBERS`] and the seeds' own lines.
    pub tokens: &'static [&'static str],
    /// Generated cases in the default run (`BENCH_FUZZ_CASES` sets another number).
    pub cases: u32,
    /// Runs the parser on one input and checks what it returned.
    pub check: fn(&[u8]) -> Verdict,
}

/// Counts of one target's run.
#[derive(Default)]
struct Tally {
    inputs: Cell<usize>,
    slowest: Cell<Duration>,
}

impl Target {
    /// Run every phase; panics with the failing input on the first failure.
    pub fn run(self) {
        assert!(!self.seeds.is_empty(), "{}: no seeds", self.name);
        let started = Instant::now();
        let dictionary = dictionary(&self.seeds, self.tokens);
        let tally = Tally::default();
        let watchdog = Watchdog::start(self.name);
        let judge = |input: &[u8]| self.judge(input, &tally, &watchdog);

        for seed in &self.seeds {
            if let Err(why) = judge(seed) {
                self.fail("seed", seed, &why);
            }
        }
        let before_cuts = tally.inputs.get();
        for seed in &self.seeds {
            let step = (seed.len() / CUTS).max(1);
            for cut in (0..seed.len()).step_by(step) {
                if let Err(why) = judge(&seed[..cut]) {
                    self.fail("cut seed", &seed[..cut], &why);
                }
            }
        }
        let cuts = tally.inputs.get() - before_cuts;

        let cases = std::env::var("BENCH_FUZZ_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(self.cases);
        let config = Config {
            cases,
            failure_persistence: None,
            // Shrinking a slow or crashing input must not take the CI run with it.
            max_shrink_time: 60_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(
            config,
            TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed(self.name)),
        );
        let strategy = case_strategy();
        let result = runner.run(&strategy, |case| {
            let input = case.build(&self.seeds, &dictionary);
            judge(&input).map_err(TestCaseError::fail)
        });
        watchdog.stop();
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, case)) => {
                let input = case.build(&self.seeds, &dictionary);
                self.fail(&format!("generated case {case:?}"), &input, why.message());
            }
            Err(TestError::Abort(why)) => panic!("{}: proptest aborted: {why}", self.name),
        }
        println!(
            "fuzz {}: {} inputs ({} seeds, {cuts} cuts, {} generated and shrunk) in {:.1} s, slowest {:.1} ms",
            self.name,
            tally.inputs.get(),
            self.seeds.len(),
            tally.inputs.get() - before_cuts - cuts,
            started.elapsed().as_secs_f64(),
            tally.slowest.get().as_secs_f64() * 1e3,
        );
    }

    /// Run the check on one input: its verdict, or a panic or slowness as a failure.
    fn judge(&self, input: &[u8], tally: &Tally, watchdog: &Watchdog) -> Verdict {
        watchdog.enter(input);
        let started = Instant::now();
        let cpu_before = thread_cpu_seconds();
        let outcome = catch_unwind(AssertUnwindSafe(|| (self.check)(input)));
        // This thread's CPU time where the platform tells it: a busy machine (other builds
        // beside CI's) stretches the wall clock, not that.
        let took = match (cpu_before, thread_cpu_seconds()) {
            (Some(before), Some(after)) => Duration::from_secs_f64((after - before).max(0.0)),
            _ => started.elapsed(),
        };
        watchdog.leave();
        tally.inputs.set(tally.inputs.get() + 1);
        tally.slowest.set(tally.slowest.get().max(took));
        match outcome {
            Ok(verdict) => verdict?,
            Err(panic) => return Err(format!("panicked: {}", panic_message(&*panic))),
        }
        let bound = slow_bound();
        if took > bound {
            return Err(format!("took {took:?}, over the bound of {bound:?}"));
        }
        Ok(())
    }

    fn fail(&self, what: &str, input: &[u8], why: &str) -> ! {
        let path = save(self.name, input);
        let shown = &input[..input.len().min(600)];
        panic!(
            "{}: {what}: {why}\ninput ({} bytes) saved as {}\n{}{}",
            self.name,
            input.len(),
            path.display(),
            shown.escape_ascii(),
            if shown.len() < input.len() { "..." } else { "" }
        );
    }
}

/// How much CPU time one input may take: 2 s by default (a debug build parses the largest seed
/// in milliseconds), `BENCH_FUZZ_SLOW_MS` for another bound.
pub fn slow_bound() -> Duration {
    let ms = std::env::var("BENCH_FUZZ_SLOW_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(2000);
    Duration::from_millis(ms)
}

/// The run's seed: from the target's name, mixed with `BENCH_FUZZ_SEED` when set, so that a
/// long run can explore other cases than CI's.
fn rng_seed(name: &str) -> [u8; 32] {
    let extra: u64 = std::env::var("BENCH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut rng = SplitMix64(fnv(name.as_bytes()) ^ extra);
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    seed
}

/// FNV-1a: names failure files and seeds splits by content.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `input` cut into pieces of 1 to 64 bytes, drawn from its own content (so a shrunk input is
/// split the same way each time): for parsers fed as bytes arrive.
pub fn pieces(input: &[u8]) -> Vec<&[u8]> {
    let mut rng = SplitMix64(fnv(input));
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        // Mostly single bytes and short pieces: the splits that straddle markers.
        let most = if rng.below(2) == 0 { 3 } else { 64 };
        let n = (rng.below(most) + 1).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        out.push(piece);
        rest = tail;
    }
    out
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Write a failing input to `target/tmp/fuzz-failures/<target>-<hash>` and return the path.
fn save(name: &str, input: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    let path = dir.join(format!("{name}-{:016x}", fnv(input)));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        eprintln!("cannot save the failing input as {}: {e}", path.display());
    }
    path
}

/// Tokens to insert: the common ones, the format's, raw bytes, and every distinct line of the
/// seeds (so that soups recombine real lines).
fn dictionary(seeds: &[Vec<u8>], tokens: &[&str]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = SYNTAX
        .iter()
        .chain(NUMBERS)
        .chain(tokens)
        .map(|t| t.as_bytes().to_vec())
        .chain(RAW.iter().map(|b| b.to_vec()))
        .collect();
    let mut lines: Vec<&[u8]> = seeds
        .iter()
        .flat_map(|s| s.split_inclusive(|&b| b == b'\n'))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    out.extend(lines.into_iter().map(<[u8]>::to_vec));
    out
}

/// One change to a seed. Positions are [`Index`]es, scaled to the input as it is then.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Flip one bit of a byte.
    Flip(Index, u8),
    /// Overwrite a byte.
    Byte(Index, u8),
    /// Insert a dictionary token.
    Insert(Index, Index),
    /// Insert a token many times: deep nesting, long runs, huge numbers.
    Repeat(Index, Index, u16),
    /// Delete up to this many bytes.
    Delete(Index, u8),
    /// Copy a span of up to this many bytes to another place.
    Duplicate(Index, u8, Index),
    /// Cut the input here.
    Truncate(Index),
    /// Keep the input up to a point, then another seed from a point on.
    Splice(Index, Index, Index),
}

/// One generated input.
#[derive(Debug, Clone)]
pub enum Case {
    /// A seed under some edits.
    Mutated(Index, Vec<Edit>),
    /// Dictionary tokens and seed lines, one after another.
    Soup(Vec<Index>),
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    let times = prop_oneof![3 => 1u16..=8, 1 => 9u16..=4096];
    prop_oneof![
        2 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip(at, bit)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(at, t)| Edit::Insert(at, t)),
        1 => (any::<Index>(), any::<Index>(), times).prop_map(|(at, t, n)| Edit::Repeat(at, t, n)),
        2 => (any::<Index>(), 1u8..=64).prop_map(|(at, n)| Edit::Delete(at, n)),
        1 => (any::<Index>(), 1u8..=255, any::<Index>()).prop_map(|(from, n, to)| Edit::Duplicate(from, n, to)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), any::<Index>(), any::<Index>()).prop_map(|(cut, other, from)| Edit::Splice(cut, other, from)),
    ]
}

fn case_strategy() -> impl Strategy<Value = Case> {
    prop_oneof![
        6 => (any::<Index>(), prop::collection::vec(edit_strategy(), 1..=6))
            .prop_map(|(seed, edits)| Case::Mutated(seed, edits)),
        3 => prop::collection::vec(any::<Index>(), 0..=64).prop_map(Case::Soup),
        1 => prop::collection::vec(any::<u8>(), 0..=512).prop_map(Case::Bytes),
    ]
}

/// A position in `0..=len` (an insertion point, or a cut).
fn place(at: &Index, len: usize) -> usize {
    at.index(len + 1)
}

impl Case {
    /// The input this case stands for.
    pub fn build(&self, seeds: &[Vec<u8>], dictionary: &[Vec<u8>]) -> Vec<u8> {
        let token = |t: &Index| dictionary[t.index(dictionary.len())].as_slice();
        match self {
            Case::Bytes(bytes) => bytes.clone(),
            Case::Soup(picks) => picks.iter().flat_map(token).copied().collect(),
            Case::Mutated(seed, edits) => {
                let mut data = seeds[seed.index(seeds.len())].clone();
                for edit in edits {
                    edit.apply(&mut data, seeds, &token);
                    data.truncate(MAX_LEN);
                }
                data
            }
        }
    }
}

impl Edit {
    fn apply<'a>(
        &self,
        data: &mut Vec<u8>,
        seeds: &[Vec<u8>],
        token: &impl Fn(&Index) -> &'a [u8],
    ) {
        let len = data.len();
        match self {
            Edit::Flip(at, bit) if len > 0 => data[at.index(len)] ^= 1 << bit,
            Edit::Byte(at, b) if len > 0 => data[at.index(len)] = *b,
            Edit::Flip(..) | Edit::Byte(..) => {}
            Edit::Insert(at, t) => {
                let at = place(at, len);
                data.splice(at..at, token(t).iter().copied());
            }
            Edit::Repeat(at, t, times) => {
                let at = place(at, len);
                let run: Vec<u8> = token(t).repeat(usize::from(*times));
                data.splice(at..at, run.into_iter().take(MAX_LEN));
            }
            Edit::Delete(at, n) => {
                let at = place(at, len);
                let end = (at + usize::from(*n)).min(len);
                data.drain(at..end);
            }
            Edit::Duplicate(from, n, to) => {
                let from = place(from, len);
                let end = (from + usize::from(*n)).min(len);
                let span = data[from..end].to_vec();
                let to = place(to, len);
                data.splice(to..to, span);
            }
            Edit::Truncate(at) => data.truncate(place(at, len)),
            Edit::Splice(cut, other, from) => {
                let other = &seeds[other.index(seeds.len())];
                data.truncate(place(cut, len));
                data.extend_from_slice(&other[place(from, other.len())..]);
            }
        }
    }
}

/// The input being parsed, and since when.
type InFlight = (Instant, Vec<u8>);

/// Watches the input in flight: one stuck past [`HANG`] is saved and the process ended, since
/// a parser in an endless loop cannot be unwound.
struct Watchdog {
    in_flight: Arc<Mutex<Option<InFlight>>>,
    done: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(name: &'static str) -> Self {
        let in_flight: Arc<Mutex<Option<InFlight>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let (watched, finished) = (Arc::clone(&in_flight), Arc::clone(&done));
        std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let slot = watched.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((since, input)) = slot.as_ref().filter(|(t, _)| t.elapsed() > HANG) {
                    let path = save(name, input);
                    eprintln!(
                        "{name}: an input has run for {:?} (a hang); saved as {}",
                        since.elapsed(),
                        path.display()
                    );
                    std::process::exit(1);
                }
            }
        });
        Self { in_flight, done }
    }

    fn enter(&self, input: &[u8]) {
        *self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), input.to_vec()));
    }

    fn leave(&self) {
        *self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn stop(&self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}
