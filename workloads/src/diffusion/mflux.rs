//! The `mflux` engine: FLUX on MLX through its command line, `mflux-generate` (filipstrand/mflux;
//! formats as of v0.18, `src/mflux/models/flux/cli/flux_generate.py`).
//!
//! mflux loads the model anew for every image, so bench times three things per request:
//! - the whole process (`process_s`, model load included);
//! - each denoising step, from the moment each of tqdm's progress updates reaches bench on
//!   stderr (`  1/4 [...]`, separated by `\r`; the bar appears once the model is loaded, just
//!   before the loop); tqdm may skip updates that come faster than 0.1 s, and bench then keeps
//!   only the steps it saw both ends of;
//! - `image_s`, from the bar's first appearance to the process's end (the decode and the PNG
//!   written included; MLX evaluates lazily, so the text encoders run inside the first step).
//!
//! Beside them it keeps what mflux reports: the `--metadata` sidecar (`<stem>.metadata.json`,
//! `<stem>.json` before v0.17), whose `generation_time_seconds` is mflux's own time for the
//! image, and the `Peak MLX memory: X.XX GB` line (v0.18).

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{DiffusionEngine, DiffusionMeasurement, DiffusionRequest, Image};
use crate::engine::{EngineInfo, PeakMemory};
use crate::model::{Architecture, ModelInfo, ModelSource};
use crate::Error;

/// How bench runs mflux.
#[derive(Debug, Clone)]
pub struct MfluxOptions {
    /// The `mflux-generate` executable (a path, or a name on `PATH`).
    pub command: String,
    /// `--model`: `dev`, `schnell`, a Hugging Face id, or a local folder.
    pub model: String,
    /// `--base-model` (`dev`, `schnell`), needed for local folders and third-party ids.
    pub base_model: Option<String>,
    /// `--quantize` bits (3, 4, 5, 6, 8); `None`: the weights as stored.
    pub quantize: Option<u8>,
}

/// mflux, run once per request.
pub struct MfluxEngine {
    options: MfluxOptions,
    info: EngineInfo,
    out_dir: PathBuf,
    requests: u64,
}

impl Drop for MfluxEngine {
    /// Each image is removed once read; the folder made for them goes with the engine (left
    /// alone if anything else is in it).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.out_dir);
    }
}

/// How many of mflux's other stderr lines a failure quotes (the end of a traceback).
const FAILURE_LINES: usize = 3;

/// mflux's stderr read as it arrives: when each step count of tqdm's bar was first seen, when
/// the bar first appeared, and the last other lines (for a failure's message).
///
/// Updates are `\r`-separated and lines `\n`-ended; each is stamped with the `now` of the
/// [`StepProgress::feed`] that completed it. A piece of text not yet ended is held until the
/// next feed; at the end of the stream it is dropped (tqdm ends its bar with a line break).
#[derive(Debug, Clone)]
pub struct StepProgress {
    steps: usize,
    seen: Vec<Option<Instant>>,
    first_bar: Option<Instant>,
    last_lines: VecDeque<String>,
    segment: Vec<u8>,
}

impl StepProgress {
    /// A reader for a run of `steps` denoising steps.
    pub fn new(steps: usize) -> Self {
        Self {
            steps,
            seen: vec![None; steps + 1],
            first_bar: None,
            last_lines: VecDeque::new(),
            segment: Vec::new(),
        }
    }

    /// Read `bytes` of stderr that arrived at `now`.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) {
        for &b in bytes {
            if b != b'\r' && b != b'\n' {
                self.segment.push(b);
                continue;
            }
            let text = String::from_utf8_lossy(&self.segment).into_owned();
            self.segment.clear();
            if let Some((done, total)) = progress(&text) {
                self.first_bar.get_or_insert(now);
                // A bar of another length (a second loop) or past its end is not this run's.
                if total == self.steps && done <= total && self.seen[done].is_none() {
                    self.seen[done] = Some(now);
                }
            } else if !text.trim().is_empty() {
                if self.last_lines.len() == FAILURE_LINES {
                    self.last_lines.pop_front();
                }
                self.last_lines.push_back(text);
            }
        }
    }

    /// `seen()[n]`: when the bar first said `n` steps were done; one entry per count, 0 to
    /// `steps`.
    pub fn seen(&self) -> &[Option<Instant>] {
        &self.seen
    }

    /// When the bar first appeared (the model is loaded by then).
    pub fn first_bar(&self) -> Option<Instant> {
        self.first_bar
    }

    /// The last few lines that were not progress updates, oldest first.
    pub fn last_lines(&self) -> impl Iterator<Item = &str> {
        self.last_lines.iter().map(String::as_str)
    }
}

/// One progress update of tqdm: steps done and total.
fn progress(segment: &str) -> Option<(usize, usize)> {
    // `{percentage}%|{bar}| {n}/{total} [{elapsed}<{remaining}, {rate}]`
    let after_bar = segment.rsplit_once('|')?.1.trim_start();
    let (counts, _) = after_bar.split_once(' ')?;
    let (n, total) = counts.split_once('/')?;
    Some((n.parse().ok()?, total.parse().ok()?))
}

/// The steps between consecutive updates seen, in order: `seen[n]` is when `n` steps were done.
fn step_times(seen: &[Option<Instant>]) -> Vec<f64> {
    seen.windows(2)
        .filter_map(|w| Some(w[1]?.duration_since(w[0]?).as_secs_f64()))
        .collect()
}

/// `Peak MLX memory: 12.34 GB` (10⁹ bytes) in mflux's stdout; `None` without that line.
pub fn peak_memory(stdout: &str) -> Option<PeakMemory> {
    let gb: f64 = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Peak MLX memory:"))?
        .trim()
        .trim_end_matches("GB")
        .trim()
        .parse()
        .ok()
        // `inf` and `NaN` parse as floats; neither is a size.
        .filter(|gb: &f64| gb.is_finite() && *gb >= 0.0)?;
    Some(PeakMemory {
        bytes: (gb * 1e9) as u64,
        method: "mflux-peak-mlx-memory",
    })
}

/// Where mflux may put the `--metadata` sidecar of `image`: the name differs by version.
fn sidecar_paths(image: &Path) -> [PathBuf; 2] {
    [
        image.with_extension("metadata.json"),
        image.with_extension("json"),
    ]
}

/// The `--metadata` sidecar of `image`, whichever name this mflux version gives it.
fn sidecar(image: &Path) -> Option<serde_json::Value> {
    sidecar_paths(image)
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| serde_json::from_str(&text).ok())
}

/// Remove what one run of mflux wrote for `image`: the image and its sidecar.
fn remove_outputs(image: &Path) {
    let _ = std::fs::remove_file(image);
    for path in sidecar_paths(image) {
        let _ = std::fs::remove_file(path);
    }
}

fn read_png(path: &Path) -> Result<Image, Error> {
    let fail = |reason: String| Error::ModelFile {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| {
        fail(format!(
            "mflux-generate ended but wrote no image here ({e}); mflux logs save errors only at INFO level"
        ))
    })?;
    super::png::decode(&bytes).map_err(fail)
}

impl MfluxEngine {
    /// Check that `mflux-generate` runs (`--help`), and prepare a folder for its images.
    pub fn open(spec: &str, options: MfluxOptions, out_dir: &Path) -> Result<Self, Error> {
        let started = Instant::now();
        let help = Command::new(&options.command)
            .arg("--help")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                Error::process(&options.command, format!(
                    "cannot run `{}`: {e}; install mflux (`pip install mflux`, Apple Silicon) or name the executable in the target's `command`",
                    options.command
                ))
            })?;
        if !help.status.success() {
            return Err(Error::process(
                format!("{} --help", options.command),
                format!(
                    "`{} --help` failed ({}): {}",
                    options.command,
                    help.status,
                    String::from_utf8_lossy(&help.stderr)
                        .lines()
                        .last()
                        .unwrap_or_default()
                ),
            ));
        }
        std::fs::create_dir_all(out_dir).map_err(|e| Error::ModelFile {
            path: out_dir.to_path_buf(),
            reason: format!("cannot create the folder for mflux's images: {e}"),
        })?;
        let info = EngineInfo {
            engine: "mflux",
            versions: vec![("bench-workloads".into(), env!("CARGO_PKG_VERSION").into())],
            device: format!("mflux-generate ({})", options.command),
            dtype: options
                .quantize
                .map_or_else(|| "as stored".into(), |q| format!("{q}-bit quantized")),
            threads: None,
            model: ModelInfo {
                spec: spec.to_string(),
                dir: PathBuf::from(&options.model),
                source: ModelSource::Local,
                architecture: Architecture::Flux,
                parameters: 0,
                digest: String::new(),
            },
            open_s: started.elapsed().as_secs_f64(),
            cluster: None,
            matmul_flops: None,
            kernels: Vec::new(),
        };
        Ok(Self {
            options,
            info,
            out_dir: out_dir.to_path_buf(),
            requests: 0,
        })
    }

    fn args(&self, request: &DiffusionRequest, output: &Path) -> Vec<String> {
        let mut args = vec!["--model".to_string(), self.options.model.clone()];
        if let Some(base) = &self.options.base_model {
            args.extend(["--base-model".into(), base.clone()]);
        }
        if let Some(q) = self.options.quantize {
            args.extend(["--quantize".into(), q.to_string()]);
        }
        for (flag, value) in [
            ("--width", request.width.to_string()),
            ("--height", request.height.to_string()),
            ("--steps", request.steps.to_string()),
            ("--seed", request.seed.to_string()),
            ("--guidance", request.guidance.to_string()),
            ("--prompt", request.prompt.clone()),
            ("--output", output.display().to_string()),
        ] {
            args.extend([flag.to_string(), value]);
        }
        args.push("--metadata".into());
        args
    }
}

impl DiffusionEngine for MfluxEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn generate(&mut self, request: &DiffusionRequest) -> Result<DiffusionMeasurement, Error> {
        if let Some(problem) = super::flux::check_request(request) {
            return Err(Error::Config(problem));
        }
        if request.batch != 1 {
            return Err(Error::Config(
                "mflux makes one image per run: use batch = 1".into(),
            ));
        }
        self.requests += 1;
        // A name of its own: mflux never overwrites, it would write `<name>_1.png` instead.
        let output = self.out_dir.join(format!(
            "bench-{}-{}.png",
            std::process::id(),
            self.requests
        ));
        let started = Instant::now();
        let mut child = crate::children::prepare(&mut Command::new(&self.options.command))
            .args(self.args(request, &output))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::process(
                    &self.options.command,
                    format!("cannot run `{}`: {e}", self.options.command),
                )
            })?;
        // An interrupt kills it: the reads below then end, and the image is not measured.
        let managed = crate::children::register(&child, crate::children::OnInterrupt::Kill);
        let mut stdout = child.stdout.take();
        let reading = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(out) = stdout.as_mut() {
                let _ = out.read_to_string(&mut text);
            }
            text
        });
        // Progress arrives on stderr as `\r`-separated updates: stamp each as it comes.
        let mut progress = StepProgress::new(request.steps);
        if let Some(mut err) = child.stderr.take() {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                progress.feed(&buf[..n], Instant::now());
            }
        }
        // Out of the registry before it is reaped (see `children`).
        drop(managed);
        let status = child.wait().map_err(|e| {
            Error::process(
                &self.options.command,
                format!("waiting for mflux-generate: {e}"),
            )
        })?;
        if !status.success() && crate::cancel::is_requested() {
            remove_outputs(&output);
            return Err(Error::Interrupted);
        }
        let process_s = started.elapsed().as_secs_f64();
        let stdout = reading.join().unwrap_or_default();
        if !status.success() {
            remove_outputs(&output);
            return Err(Error::process(
                &self.options.command,
                format!(
                    "mflux-generate failed ({status}): {}",
                    progress.last_lines().collect::<Vec<_>>().join(" | ")
                ),
            ));
        }
        let image = read_png(&output);
        let reported = sidecar(&output);
        remove_outputs(&output);
        let image = image?;
        let from = progress.first_bar().unwrap_or(started);
        let seen = progress.seen();
        Ok(DiffusionMeasurement {
            started: from,
            text_encode_s: None,
            denoise_from_s: seen[0].map(|t| t.duration_since(from).as_secs_f64()),
            step_s: step_times(seen),
            vae_decode_s: None,
            image_s: from.elapsed().as_secs_f64().min(process_s),
            image_tokens: (request.width / 16) * (request.height / 16),
            text_tokens: 0,
            images: vec![image],
            peak_memory: peak_memory(&stdout),
            device_peak_memory: None,
            step_flops: 0.0,
            matmul_flops: None,
            process_s: Some(process_s),
            reported_image_s: reported
                .as_ref()
                .and_then(|m| m["generation_time_seconds"].as_f64()),
            reported,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tqdm_updates_are_read() {
        // tqdm 4.x's default bar, as mflux's step loop prints it.
        assert_eq!(
            progress("  0%|          | 0/4 [00:00<?, ?it/s]"),
            Some((0, 4))
        );
        assert_eq!(
            progress(" 75%|███████▌  | 3/4 [00:03<00:01,  1.20s/it]"),
            Some((3, 4))
        );
        assert_eq!(
            progress("100%|██████████| 25/25 [01:02<00:00,  2.50s/it]"),
            Some((25, 25))
        );
        assert_eq!(progress("Peak MLX memory: 12.34 GB"), None);
        assert_eq!(progress("Fetching 12 files"), None);
    }

    #[test]
    fn steps_are_kept_only_where_both_ends_were_seen() {
        let t0 = Instant::now();
        let at = |ms: u64| Some(t0 + std::time::Duration::from_millis(ms));
        let steps = step_times(&[at(0), at(100), None, at(400), at(500)]);
        assert_eq!(steps.len(), 2);
        assert!((steps[0] - 0.1).abs() < 1e-9 && (steps[1] - 0.1).abs() < 1e-9);
    }

    #[test]
    fn peak_memory_is_read_in_bytes() {
        let peak = peak_memory("\nPeak MLX memory: 12.34 GB\n").unwrap();
        assert_eq!(peak.bytes, 12_340_000_000);
        for bad in ["inf", "NaN", "-1.5", "1e400"] {
            let line = format!("Peak MLX memory: {bad} GB");
            assert_eq!(peak_memory(&line), None, "{line}");
        }
    }

    #[test]
    fn stderr_is_read_in_any_pieces_keeping_the_last_lines() {
        let stderr = b"Fetching 3 files\nwarning: a\n\r  0%|    | 0/2 [00:00<?, ?it/s]\r 50%|##  | 1/2 [00:01<00:01]\r100%|####| 2/2 [00:02<00:00]\r100%|####| 2/2 [00:02<00:00]\nwarning: b\nwarning: c\npartial";
        let t0 = Instant::now();
        let mut whole = StepProgress::new(2);
        whole.feed(stderr, t0);
        assert_eq!(whole.first_bar(), Some(t0));
        assert!(whole.seen().iter().all(Option::is_some));
        // The unended `partial` is not a line; only the last three lines are kept.
        let lines: Vec<&str> = whole.last_lines().collect();
        assert_eq!(lines, ["warning: a", "warning: b", "warning: c"]);
        let at = |i: u64| t0 + std::time::Duration::from_millis(i);
        let mut bytewise = StepProgress::new(2);
        for (i, b) in stderr.iter().enumerate() {
            bytewise.feed(std::slice::from_ref(b), at(i as u64));
        }
        // Stamped when the update's end arrived, the first time each count was seen.
        let end_of = |marker: &str| {
            let from = stderr
                .windows(marker.len())
                .position(|w| w == marker.as_bytes());
            let start = from.unwrap();
            let end = start + stderr[start..].iter().position(|&b| b == b'\r').unwrap();
            Some(at(end as u64))
        };
        assert_eq!(bytewise.seen()[1], end_of("1/2"));
        assert_eq!(bytewise.seen()[2], end_of("2/2"));
        // A bar of another length is not this run's.
        let mut other = StepProgress::new(4);
        other.feed(stderr, t0);
        assert!(other.seen().iter().all(Option::is_none));
        assert_eq!(other.first_bar(), Some(t0));
    }
}
