//! The model synthesizer: writes a real Hugging Face-layout model folder (`config.json`,
//! `generation_config.json`, `model.safetensors`, `tokenizer.json`, `tokenizer_config.json`)
//! with the exact architecture of a known model and seeded random weights.
//!
//! Weights are normal(0, 0.02) (norm weights 1, biases 0), generated chunk by chunk from
//! generators seeded by (seed, tensor name, chunk), so the same seed always gives a
//! byte-identical folder and no more than a few chunks are ever held in memory. The tokenizer is
//! a byte-level BPE trained on an embedded corpus ([`corpus`]) and padded so that every id below
//! `vocab_size` decodes.
//!
//! ```no_run
//! use bench_workloads::catalog::llm_preset;
//! use bench_workloads::synth::{cached, default_cache_root, SynthOptions};
//! let dir = cached(llm_preset("qwen3-0.6b")?, &SynthOptions::default(), &default_cache_root())?;
//! # Ok::<(), bench_workloads::synth::SynthError>(())
//! ```

mod config;
mod presets;
pub(crate) mod tensors;
mod tokenizer;
pub(crate) mod weights;

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

pub use presets::{presets, Arch, Preset};
pub use tensors::{Init, TensorSpec, INIT_STD};
pub use tokenizer::corpus;

/// Version of the folder layout and weight generation scheme; part of every cache key, so bump
/// it whenever the bytes [`synthesize`] writes change.
pub const FORMAT_VERSION: u32 = 1;

/// Files of a complete synthesized folder.
pub const MODEL_FILES: [&str; 5] = [
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
];

/// Errors of the synthesizer.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// No preset has this name.
    #[error("unknown model preset `{name}` (allowed: {allowed})")]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// Comma-separated allowed names.
        allowed: String,
    },
    /// Not a weight dtype name.
    #[error("unknown weight dtype `{name}` (allowed: {allowed})")]
    UnknownDType {
        /// The name asked for.
        name: String,
        /// Comma-separated allowed names.
        allowed: String,
    },
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// JSON serialization failed.
    #[error("JSON serialization: {0}")]
    Json(#[source] serde_json::Error),
    /// Building or training the tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Tracing a model's tensors through candle's model code failed.
    #[error("tracing the model's tensors: {0}")]
    Trace(String),
}

/// A `tokenizer.json` (bench's byte-level BPE, as for the `tiny` preset) covering `vocab_size`
/// ids, for models whose tokenizer is not the LLM's own (FLUX's T5 and CLIP).
pub fn tokenizer_json_of_size(vocab_size: usize) -> Result<String, SynthError> {
    let tiny = preset("tiny").ok_or_else(|| unknown("tiny"))?;
    tokenizer::tokenizer_json(&Preset {
        vocab_size,
        ..tiny.clone()
    })
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The `config.json` synthesis writes for preset `name` (bf16): the shapes of a `synth:` model
/// whose folder is not at hand (a run folder read on another machine).
pub fn preset_config_json(name: &str) -> Result<String, SynthError> {
    let preset = preset(name).ok_or_else(|| unknown(name))?;
    Ok(config::config_json(preset, WeightDType::BF16).to_string())
}

/// No LLM preset of that name (the error [`crate::catalog::llm_preset`] also gives, with every
/// preset's name).
fn unknown(name: &str) -> SynthError {
    SynthError::UnknownPreset {
        name: name.to_string(),
        allowed: preset_names(),
    }
}

/// Look an LLM preset up by name (case-insensitive); [`crate::catalog::llm_preset`] says, for an
/// unknown one, every name there is.
pub fn preset(name: &str) -> Option<&'static Preset> {
    presets()
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}

/// Every LLM preset name, comma-separated.
pub fn preset_names() -> String {
    presets::preset_names()
}

/// Element type of the written weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightDType {
    /// 32-bit IEEE float.
    F32,
    /// 16-bit IEEE half float.
    F16,
    /// bfloat16 (the real Qwen checkpoints' dtype).
    #[default]
    BF16,
}

impl WeightDType {
    /// All dtypes, in the order of their names in error messages.
    pub const ALL: [WeightDType; 3] = [WeightDType::F32, WeightDType::F16, WeightDType::BF16];

    /// Short lowercase name: `f32`, `f16`, `bf16`.
    pub fn as_str(self) -> &'static str {
        match self {
            WeightDType::F32 => "f32",
            WeightDType::F16 => "f16",
            WeightDType::BF16 => "bf16",
        }
    }

    /// Bytes per element.
    pub fn size_in_bytes(self) -> usize {
        match self {
            WeightDType::F32 => 4,
            WeightDType::F16 | WeightDType::BF16 => 2,
        }
    }

    /// The `torch_dtype` value of `config.json`.
    pub fn torch_name(self) -> &'static str {
        match self {
            WeightDType::F32 => "float32",
            WeightDType::F16 => "float16",
            WeightDType::BF16 => "bfloat16",
        }
    }

    /// The dtype tag in a safetensors header.
    pub fn safetensors_name(self) -> &'static str {
        match self {
            WeightDType::F32 => "F32",
            WeightDType::F16 => "F16",
            WeightDType::BF16 => "BF16",
        }
    }
}

impl fmt::Display for WeightDType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WeightDType {
    type Err = SynthError;

    /// Parses `f32`, `f16` or `bf16` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| SynthError::UnknownDType {
                name: s.to_string(),
                allowed: Self::ALL.map(WeightDType::as_str).join(", "),
            })
    }
}

/// What to synthesize besides the preset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SynthOptions {
    /// Element type of the weights (default bf16).
    pub dtype: WeightDType,
    /// Seed of the weight generators (default 0). Same seed, same bytes.
    pub seed: u64,
}

/// What [`synthesize`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthReport {
    /// The folder written.
    pub dir: PathBuf,
    /// Number of model parameters.
    pub parameters: u64,
    /// Total size of all files written.
    pub bytes_written: u64,
    /// Wall-clock time taken.
    pub seconds: f64,
}

/// Write the model folder for `preset` into `out_dir` (created if needed; files already there
/// with the same names are overwritten). Not atomic: use [`cached`] for that.
pub fn synthesize(
    preset: &Preset,
    opts: &SynthOptions,
    out_dir: &Path,
) -> Result<SynthReport, SynthError> {
    let start = Instant::now();
    fs::create_dir_all(out_dir).map_err(io_error(out_dir))?;
    tracing::info!(
        preset = preset.name,
        dtype = %opts.dtype,
        seed = opts.seed,
        dir = %out_dir.display(),
        "synthesizing model"
    );
    let mut bytes = 0u64;
    let mut write = |name: &str, text: String| -> Result<(), SynthError> {
        let path = out_dir.join(name);
        fs::write(&path, &text).map_err(io_error(&path))?;
        bytes += text.len() as u64;
        Ok(())
    };
    let json = |v: &serde_json::Value| config::to_pretty(v).map_err(SynthError::Json);
    write(
        "config.json",
        json(&config::config_json(preset, opts.dtype))?,
    )?;
    write(
        "generation_config.json",
        json(&config::generation_config_json(preset))?,
    )?;
    write(
        "tokenizer_config.json",
        json(&tokenizer::tokenizer_config_json(preset))?,
    )?;
    write("tokenizer.json", tokenizer::tokenizer_json(preset)?)?;
    let (parameters, weight_bytes) = weights::write_safetensors(
        preset,
        opts.dtype,
        opts.seed,
        &out_dir.join("model.safetensors"),
    )?;
    bytes += weight_bytes;
    let seconds = start.elapsed().as_secs_f64();
    tracing::info!(parameters, bytes, seconds, "synthesized model");
    Ok(SynthReport {
        dir: out_dir.to_path_buf(),
        parameters,
        bytes_written: bytes,
        seconds,
    })
}

/// Name of the cache folder for (`preset`, `opts`).
pub fn cache_key(preset: &Preset, opts: &SynthOptions) -> String {
    format!(
        "{}-{}-seed{}-v{}",
        preset.name, opts.dtype, opts.seed, FORMAT_VERSION
    )
}

/// Whether `dir` holds every file of a synthesized model.
fn is_complete(dir: &Path) -> bool {
    MODEL_FILES.iter().all(|f| dir.join(f).is_file())
}

/// Temp folders older than this whose owner cannot be checked are considered abandoned.
const STALE_TEMP_AGE: Duration = Duration::from_secs(24 * 3600);

/// Whether the process that created a temp folder is certainly gone.
fn temp_is_abandoned(path: &Path, pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return !proc.join(pid.to_string()).exists();
    }
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_TEMP_AGE)
}

/// Remove temp folders of `key` left behind by killed synthesis runs.
fn remove_abandoned_temps(cache_root: &Path, key: &str) {
    let prefix = format!(".{key}.tmp-");
    let Ok(entries) = fs::read_dir(cache_root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let path = entry.path();
        if temp_is_abandoned(&path, pid) {
            tracing::info!(dir = %path.display(), "removing abandoned synthesis folder");
            if let Err(e) = fs::remove_dir_all(&path) {
                tracing::warn!(dir = %path.display(), error = %e, "could not remove");
            }
        }
    }
}

/// Make the folder once under `cache_root/<preset>-<dtype>-seed<seed>-v<FORMAT_VERSION>/` and reuse
/// it afterwards. Build into a temp sibling dir and rename atomically, so a killed synthesis
/// never leaves a half folder that looks complete.
pub fn cached(
    preset: &Preset,
    opts: &SynthOptions,
    cache_root: &Path,
) -> Result<PathBuf, SynthError> {
    cache_folder(cache_root, &cache_key(preset, opts), is_complete, |tmp| {
        synthesize(preset, opts, tmp).map(|_| ())
    })
}

/// Make the folder `cache_root/key/` once with `build` and reuse it afterwards; `complete`
/// says whether a folder already there is whole. `build` writes into a temp sibling that is
/// renamed into place, so a killed synthesis never leaves a half folder that looks complete.
pub fn cache_folder(
    cache_root: &Path,
    key: &str,
    complete: fn(&Path) -> bool,
    build: impl FnOnce(&Path) -> Result<(), SynthError>,
) -> Result<PathBuf, SynthError> {
    let dir = cache_root.join(key);
    if complete(&dir) {
        tracing::debug!(dir = %dir.display(), "using cached synthesized model");
        return Ok(dir);
    }
    fs::create_dir_all(cache_root).map_err(io_error(cache_root))?;
    remove_abandoned_temps(cache_root, key);

    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = cache_root.join(format!(".{key}.tmp-{}-{nanos}", std::process::id()));
    let result = build(&tmp).and_then(|_| {
        if dir.exists() && !complete(&dir) {
            // Not ours to keep: a partial folder under our key (e.g. copied by hand).
            fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
        }
        match fs::rename(&tmp, &dir) {
            Ok(()) => Ok(()),
            // Someone else finished the same key first: use theirs.
            Err(_) if complete(&dir) => {
                let _ = fs::remove_dir_all(&tmp);
                Ok(())
            }
            Err(e) => Err(io_error(&dir)(e)),
        }
    });
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(dir)
}

/// `$BENCH_CACHE_DIR/models`, else `$XDG_CACHE_HOME/bench/models`, else `~/.cache/bench/models`
/// (empty variables are ignored; without a home directory, the system temp dir stands in).
pub fn default_cache_root() -> PathBuf {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    cache_root_from(
        std::env::var_os("BENCH_CACHE_DIR"),
        std::env::var_os("XDG_CACHE_HOME"),
        home,
    )
}

fn cache_root_from(
    bench: Option<OsString>,
    xdg: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(b) = set(bench) {
        return b.join("models");
    }
    if let Some(x) = set(xdg).filter(|x| x.is_absolute()) {
        return x.join("bench").join("models");
    }
    set(home)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache")
        .join("bench")
        .join("models")
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::SafeTensors;

    fn tiny() -> &'static Preset {
        preset("tiny").unwrap()
    }

    fn opts(dtype: WeightDType, seed: u64) -> SynthOptions {
        SynthOptions { dtype, seed }
    }

    #[test]
    fn unknown_names_list_allowed_values() {
        assert!(preset("llama-70b").is_none());
        let e = preset_config_json("llama-70b").unwrap_err().to_string();
        for p in presets() {
            assert!(e.contains(p.name), "{e}");
        }
        assert!(e.contains("llama-70b"));
        let e = "fp8".parse::<WeightDType>().unwrap_err().to_string();
        assert!(e.contains("fp8") && e.contains("f32, f16, bf16"), "{e}");
    }

    #[test]
    fn dtype_names() {
        for d in WeightDType::ALL {
            assert_eq!(d.to_string().parse::<WeightDType>().unwrap(), d);
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.as_str())
            );
        }
        assert_eq!("BF16".parse::<WeightDType>().unwrap(), WeightDType::BF16);
        assert_eq!(WeightDType::default(), WeightDType::BF16);
        assert_eq!(SynthOptions::default(), opts(WeightDType::BF16, 0));
        assert_eq!(preset("Qwen3-0.6B").unwrap().name, "qwen3-0.6b");
    }

    #[test]
    fn tiny_folder_is_complete_and_loads() {
        let tmp = tempfile::tempdir().unwrap();
        for dtype in WeightDType::ALL {
            let dir = tmp.path().join(dtype.as_str());
            let report = synthesize(tiny(), &opts(dtype, 7), &dir).unwrap();
            assert!(is_complete(&dir));
            let total: u64 = MODEL_FILES
                .iter()
                .map(|f| fs::metadata(dir.join(f)).unwrap().len())
                .sum();
            assert_eq!(report.bytes_written, total);
            assert_eq!(report.parameters, tiny().parameters());

            let bytes = fs::read(dir.join("model.safetensors")).unwrap();
            let st = SafeTensors::deserialize(&bytes).unwrap();
            let specs = tiny().tensors();
            assert_eq!(st.len(), specs.len());
            let want_dtype = match dtype {
                WeightDType::F32 => safetensors::Dtype::F32,
                WeightDType::F16 => safetensors::Dtype::F16,
                WeightDType::BF16 => safetensors::Dtype::BF16,
            };
            for s in &specs {
                let t = st.tensor(&s.name).unwrap();
                assert_eq!(t.shape(), s.shape.as_slice(), "{}", s.name);
                assert_eq!(t.dtype(), want_dtype, "{}", s.name);
                let first = |n| t.data()[..n].to_vec();
                match (s.init, dtype) {
                    (Init::Ones, WeightDType::F32) => assert_eq!(first(4), 1f32.to_le_bytes()),
                    (Init::Ones, WeightDType::BF16) => {
                        assert_eq!(first(2), half::bf16::ONE.to_le_bytes())
                    }
                    (Init::Ones, WeightDType::F16) => {
                        assert_eq!(first(2), half::f16::ONE.to_le_bytes())
                    }
                    _ => {}
                }
            }
            let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
            let meta = meta.metadata().as_ref().unwrap();
            assert_eq!(meta["format"], "pt");
            assert_eq!(meta["preset"], "tiny");
            assert_eq!(meta["seed"], "7");

            let cfg: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(dir.join("config.json")).unwrap())
                    .unwrap();
            assert_eq!(cfg["torch_dtype"], dtype.torch_name());
            assert_eq!(cfg["vocab_size"], 2048);
            tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
        }
    }

    #[test]
    fn tiny_tokenizer_file_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        synthesize(tiny(), &SynthOptions::default(), tmp.path()).unwrap();
        let tok = tokenizers::Tokenizer::from_file(tmp.path().join("tokenizer.json")).unwrap();
        let text = &corpus()[..500];
        let ids = tok.encode(text, false).unwrap().get_ids().to_vec();
        assert_eq!(tok.decode(&ids, false).unwrap(), text);
        assert!(ids.len() * 3 < text.len());
        for id in 0..2048 {
            tok.decode(&[id], false).unwrap();
        }
        assert_eq!(tok.token_to_id("<|im_end|>"), Some(2047));
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let read = |name: &str, seed| {
            let dir = tmp.path().join(name);
            synthesize(tiny(), &opts(WeightDType::BF16, seed), &dir).unwrap();
            fs::read(dir.join("model.safetensors")).unwrap()
        };
        let a = read("a", 1);
        let b = read("b", 1);
        let c = read("c", 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), c.len());
    }

    #[test]
    fn cached_reuses_the_folder() {
        let root = tempfile::tempdir().unwrap();
        let o = opts(WeightDType::BF16, 3);
        let dir = cached(tiny(), &o, root.path()).unwrap();
        assert_eq!(dir, root.path().join("tiny-bf16-seed3-v1"));
        assert!(is_complete(&dir));
        let weights = dir.join("model.safetensors");
        let mtime = fs::metadata(&weights).unwrap().modified().unwrap();
        // A rebuild would replace the whole folder, dropping this marker.
        fs::write(dir.join("marker"), b"x").unwrap();
        let again = cached(tiny(), &o, root.path()).unwrap();
        assert_eq!(again, dir);
        assert!(dir.join("marker").exists());
        assert_eq!(fs::metadata(&weights).unwrap().modified().unwrap(), mtime);
        // Only the final folder is left: no temp folders.
        let entries: Vec<_> = fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn leftover_temp_is_not_complete_and_gets_cleaned() {
        let root = tempfile::tempdir().unwrap();
        let o = opts(WeightDType::F32, 0);
        let key = cache_key(tiny(), &o);
        // A killed run: temp dir with some files, owned by a pid that cannot exist.
        let stale = root.path().join(format!(".{key}.tmp-4294967295-1"));
        fs::create_dir_all(&stale).unwrap();
        fs::write(stale.join("config.json"), "{}").unwrap();
        fs::write(stale.join("model.safetensors"), b"partial").unwrap();
        // And a half-written final folder (not produced by us, but must not count as complete).
        let final_dir = root.path().join(&key);
        fs::create_dir_all(&final_dir).unwrap();
        fs::write(final_dir.join("config.json"), "{}").unwrap();

        let dir = cached(tiny(), &o, root.path()).unwrap();
        assert_eq!(dir, final_dir);
        assert!(is_complete(&dir));
        let bytes = fs::read(dir.join("model.safetensors")).unwrap();
        SafeTensors::deserialize(&bytes).unwrap();
        if Path::new("/proc/self").exists() {
            assert!(!stale.exists(), "abandoned temp dir removed");
        }
    }

    #[test]
    fn cache_root_resolution() {
        let s = |v: &str| Some(OsString::from(v));
        assert_eq!(
            cache_root_from(s("/b"), s("/x"), s("/h")),
            PathBuf::from("/b/models")
        );
        assert_eq!(
            cache_root_from(s(""), s("/x"), s("/h")),
            PathBuf::from("/x/bench/models")
        );
        assert_eq!(
            cache_root_from(None, s("rel"), s("/h")),
            PathBuf::from("/h/.cache/bench/models")
        );
        assert_eq!(
            cache_root_from(None, None, s("/h")),
            PathBuf::from("/h/.cache/bench/models")
        );
    }
}
