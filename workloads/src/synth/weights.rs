//! The tensor list of a preset and the streaming `model.safetensors` writer.
//!
//! The file is written by hand in the safetensors format (8-byte little-endian header length,
//! JSON header padded with spaces to a multiple of 8, then the raw little-endian data), with
//! tensors laid out in name order. Data is produced in fixed-size chunks: every chunk draws from
//! its own generator seeded by `sha256(seed, tensor name, chunk index)`, so the bytes do not
//! depend on the number of threads, and only a bounded window of chunks is ever in memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, OnceLock, PoisonError};

use sha2::{Digest, Sha256};

use super::presets::Preset;
use super::tensors::{Init, TensorSpec, INIT_STD};
use super::{SynthError, WeightDType, FORMAT_VERSION};

/// Elements per generation chunk (the unit of parallel work and of seeding).
const CHUNK_ELEMS: usize = 1 << 20;

/// xoshiro256++: small, fast, and fully specified here, so the weights do not depend on which
/// generator a `rand` release picks.
struct Xoshiro256pp([u64; 4]);

impl Xoshiro256pp {
    fn from_seed(bytes: [u8; 32]) -> Self {
        let mut s = [0u64; 4];
        for (w, b) in s.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(b);
            *w = u64::from_le_bytes(le);
        }
        if s == [0; 4] {
            s[0] = 0x9E37_79B9_7F4A_7C15;
        }
        Self(s)
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

/// Seed of one chunk: sha256 over a domain tag, the user seed, the tensor name and chunk index.
fn chunk_seed(seed: u64, name: &str, chunk: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"bench-synth-weights\0");
    h.update(FORMAT_VERSION.to_le_bytes());
    h.update(seed.to_le_bytes());
    h.update((name.len() as u64).to_le_bytes());
    h.update(name.as_bytes());
    h.update(chunk.to_le_bytes());
    h.finalize().into()
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, relative error below
/// 1.2e-9, far finer than even f32 weights need). `p` must be in (0, 1).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    const P_LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Number of equiprobable levels of the sampled normal: one per 16-bit random draw.
const LEVELS: usize = 1 << 16;

/// `x` encoded as `dtype`, little-endian, appended to `out`.
fn encode(out: &mut Vec<u8>, dtype: WeightDType, x: f32) {
    match dtype {
        WeightDType::F32 => out.extend_from_slice(&x.to_le_bytes()),
        WeightDType::F16 => out.extend_from_slice(&half::f16::from_f32(x).to_le_bytes()),
        WeightDType::BF16 => out.extend_from_slice(&half::bf16::from_f32(x).to_le_bytes()),
    }
}

/// The 65536 equiprobable quantiles (bin midpoints) of normal(0, [`INIT_STD`]), already encoded
/// as `dtype`. Sampling is then one 16-bit random draw and a table lookup per element, which
/// keeps synthesis fast even in unoptimized builds; the distribution is a normal quantized to
/// 65536 levels (truncated at about ±4.3σ), indistinguishable at bf16/f16 resolution.
fn quantile_table(dtype: WeightDType) -> &'static [u8] {
    static TABLES: [OnceLock<Vec<u8>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match dtype {
        WeightDType::F32 => &TABLES[0],
        WeightDType::F16 => &TABLES[1],
        WeightDType::BF16 => &TABLES[2],
    };
    slot.get_or_init(|| {
        let mut t = Vec::with_capacity(LEVELS * dtype.size_in_bytes());
        for i in 0..LEVELS {
            let p = (i as f64 + 0.5) / LEVELS as f64;
            encode(&mut t, dtype, (normal_quantile(p) * INIT_STD) as f32);
        }
        t
    })
}

/// One unit of work: `len` elements of tensor `tensor`, starting at chunk `chunk`.
#[derive(Clone, Copy)]
struct Unit {
    tensor: usize,
    chunk: usize,
    len: usize,
}

/// Fill `out` with `N`-byte elements copied from `table` at indices given by successive 16-bit
/// pieces of the generator's output (four per `u64`, least significant first).
///
/// Written with plain slice indexing and `while` loops on purpose: those compile to inline code
/// even without optimization, so tests and debug builds stay fast too.
fn fill_from_table<const N: usize>(out: &mut [u8], table: &[u8], rng: &mut Xoshiro256pp) {
    let len = out.len();
    let mut o = 0;
    while o < len {
        let mut r = rng.next_u64();
        let mut k = 0;
        while k < 4 && o < len {
            let i = (r & 0xFFFF) as usize * N;
            let mut b = 0;
            while b < N {
                out[o + b] = table[i + b];
                b += 1;
            }
            r >>= 16;
            o += N;
            k += 1;
        }
    }
}

/// Bytes of one unit.
fn generate(spec: &TensorSpec, unit: Unit, dtype: WeightDType, seed: u64) -> Vec<u8> {
    let n = dtype.size_in_bytes();
    let mut buf = Vec::with_capacity(unit.len * n);
    match spec.init {
        Init::Ones | Init::Zeros => {
            let mut one = Vec::with_capacity(n);
            encode(
                &mut one,
                dtype,
                if spec.init == Init::Ones { 1.0 } else { 0.0 },
            );
            for _ in 0..unit.len {
                buf.extend_from_slice(&one);
            }
        }
        Init::Normal => {
            let table = quantile_table(dtype);
            let mut rng = Xoshiro256pp::from_seed(chunk_seed(seed, &spec.name, unit.chunk as u64));
            buf.resize(unit.len * n, 0);
            match n {
                4 => fill_from_table::<4>(&mut buf, table, &mut rng),
                _ => fill_from_table::<2>(&mut buf, table, &mut rng),
            }
        }
    }
    buf
}

/// The bytes of one whole tensor, exactly as [`write_specs`] would store them: for weights
/// generated in memory rather than read from a file.
pub(crate) fn tensor_bytes(spec: &TensorSpec, dtype: WeightDType, seed: u64) -> Vec<u8> {
    let n = spec.numel();
    let mut out = Vec::with_capacity(n * dtype.size_in_bytes());
    for chunk in 0..n.div_ceil(CHUNK_ELEMS) {
        let unit = Unit {
            tensor: 0,
            chunk,
            len: CHUNK_ELEMS.min(n - chunk * CHUNK_ELEMS),
        };
        out.extend(generate(spec, unit, dtype, seed));
    }
    out
}

/// The safetensors JSON header (already padded to a multiple of 8 bytes with spaces) and the
/// total size of the data section.
fn header(
    specs: &[TensorSpec],
    dtype: WeightDType,
    preset: &str,
    seed: u64,
) -> Result<(Vec<u8>, u64), SynthError> {
    let q = |s: &str| serde_json::to_string(s).map_err(SynthError::Json);
    let mut out = String::from("{\"__metadata__\":{");
    let meta = [
        ("format", "pt".to_string()),
        ("generator", "bench synth".to_string()),
        ("preset", preset.to_string()),
        ("seed", seed.to_string()),
        ("format_version", FORMAT_VERSION.to_string()),
        (
            "init",
            format!("normal(0,{INIT_STD}) in {LEVELS} quantiles; norms=1; biases=0"),
        ),
    ];
    for (i, (k, v)) in meta.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("{}:{}", q(k)?, q(v)?));
    }
    out.push('}');
    let mut offset = 0u64;
    for s in specs {
        let bytes = (s.numel() * dtype.size_in_bytes()) as u64;
        let shape: Vec<String> = s.shape.iter().map(|d| d.to_string()).collect();
        out.push_str(&format!(
            ",{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            q(&s.name)?,
            dtype.safetensors_name(),
            shape.join(","),
            offset,
            offset + bytes
        ));
        offset += bytes;
    }
    out.push('}');
    while out.len() % 8 != 0 {
        out.push(' ');
    }
    Ok((out.into_bytes(), offset))
}

/// Write `preset`'s weights to `path`, streaming. Returns (parameters, bytes written).
pub(crate) fn write_safetensors(
    preset: &Preset,
    dtype: WeightDType,
    seed: u64,
    path: &Path,
) -> Result<(u64, u64), SynthError> {
    write_specs(&preset.tensors(), preset.name, dtype, seed, path)
}

/// Write the tensors `specs` (sorted by name, unique) of the model called `label` to `path`,
/// streaming, with seeded values. Returns (parameters, bytes written).
pub(crate) fn write_specs(
    specs: &[TensorSpec],
    label: &str,
    dtype: WeightDType,
    seed: u64,
    path: &Path,
) -> Result<(u64, u64), SynthError> {
    let (head, data_len) = header(specs, dtype, label, seed)?;
    let io_err = |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = BufWriter::with_capacity(1 << 16, File::create(path).map_err(io_err)?);
    file.write_all(&(head.len() as u64).to_le_bytes())
        .map_err(io_err)?;
    file.write_all(&head).map_err(io_err)?;

    let units: Vec<Unit> = specs
        .iter()
        .enumerate()
        .flat_map(|(tensor, s)| {
            let n = s.numel();
            (0..n.div_ceil(CHUNK_ELEMS)).map(move |chunk| Unit {
                tensor,
                chunk,
                len: CHUNK_ELEMS.min(n - chunk * CHUNK_ELEMS),
            })
        })
        .collect();

    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(16);
    // Workers may run at most `window` units ahead of the writer: bounded memory.
    let window = threads * 3;
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    let written = Mutex::new(0usize);
    let progressed = Condvar::new();
    let mut write_result: Result<(), SynthError> = Ok(());

    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Vec<u8>)>();
        for _ in 0..threads {
            let tx = tx.clone();
            let (units, next, abort, written, progressed) =
                (&units, &next, &abort, &written, &progressed);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&unit) = units.get(i) else { break };
                {
                    let mut w = written.lock().unwrap_or_else(PoisonError::into_inner);
                    while i >= *w + window && !abort.load(Ordering::Relaxed) {
                        w = progressed.wait(w).unwrap_or_else(PoisonError::into_inner);
                    }
                }
                if abort.load(Ordering::Relaxed) {
                    break;
                }
                let bytes = generate(&specs[unit.tensor], unit, dtype, seed);
                if tx.send((i, bytes)).is_err() {
                    break;
                }
            });
        }
        drop(tx);

        let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        let mut next_write = 0usize;
        'recv: for (i, bytes) in rx.iter() {
            pending.insert(i, bytes);
            while let Some(bytes) = pending.remove(&next_write) {
                if let Err(e) = file.write_all(&bytes) {
                    write_result = Err(io_err(e));
                    break 'recv;
                }
                next_write += 1;
                *written.lock().unwrap_or_else(PoisonError::into_inner) = next_write;
                progressed.notify_all();
            }
        }
        if write_result.is_err() {
            abort.store(true, Ordering::Relaxed);
            // Take the lock so no worker misses the wake-up between its check and its wait.
            drop(written.lock().unwrap_or_else(PoisonError::into_inner));
            progressed.notify_all();
        }
        // `rx` is dropped here, so workers blocked in `send` stop too.
    });
    write_result?;
    file.flush().map_err(io_err)?;
    let file = file.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(io_err)?;

    let parameters = specs.iter().map(|s| s.numel() as u64).sum();
    Ok((parameters, 8 + head.len() as u64 + data_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::preset;

    fn names_shapes(p: &str) -> BTreeMap<String, Vec<usize>> {
        let p = preset(p).unwrap();
        p.tensors().into_iter().map(|t| (t.name, t.shape)).collect()
    }

    #[test]
    fn qwen3_0_6b_tensor_list() {
        let t = names_shapes("qwen3-0.6b");
        assert_eq!(t.len(), 2 + 28 * 11);
        assert_eq!(t["model.embed_tokens.weight"], vec![151936, 1024]);
        assert_eq!(t["model.norm.weight"], vec![1024]);
        assert!(!t.contains_key("lm_head.weight"));
        let l = "model.layers.27";
        assert_eq!(t[&format!("{l}.input_layernorm.weight")], vec![1024]);
        assert_eq!(
            t[&format!("{l}.post_attention_layernorm.weight")],
            vec![1024]
        );
        assert_eq!(t[&format!("{l}.self_attn.q_proj.weight")], vec![2048, 1024]);
        assert_eq!(t[&format!("{l}.self_attn.k_proj.weight")], vec![1024, 1024]);
        assert_eq!(t[&format!("{l}.self_attn.v_proj.weight")], vec![1024, 1024]);
        assert_eq!(t[&format!("{l}.self_attn.o_proj.weight")], vec![1024, 2048]);
        assert_eq!(t[&format!("{l}.self_attn.q_norm.weight")], vec![128]);
        assert_eq!(t[&format!("{l}.self_attn.k_norm.weight")], vec![128]);
        assert_eq!(t[&format!("{l}.mlp.gate_proj.weight")], vec![3072, 1024]);
        assert_eq!(t[&format!("{l}.mlp.up_proj.weight")], vec![3072, 1024]);
        assert_eq!(t[&format!("{l}.mlp.down_proj.weight")], vec![1024, 3072]);
        assert!(!t.contains_key("model.layers.28.input_layernorm.weight"));
        assert!(!t.keys().any(|k| k.ends_with(".bias")));
    }

    #[test]
    fn qwen3_8b_has_lm_head() {
        let t = names_shapes("qwen3-8b");
        assert_eq!(t.len(), 3 + 36 * 11);
        assert_eq!(t["lm_head.weight"], vec![151936, 4096]);
        assert_eq!(
            t["model.layers.35.self_attn.q_proj.weight"],
            vec![4096, 4096]
        );
        assert_eq!(
            t["model.layers.35.self_attn.k_proj.weight"],
            vec![1024, 4096]
        );
        assert_eq!(t["model.layers.35.mlp.down_proj.weight"], vec![4096, 12288]);
    }

    #[test]
    fn qwen2_5_has_biases_and_no_qk_norm() {
        let t = names_shapes("qwen2.5-0.5b");
        assert_eq!(t.len(), 2 + 24 * 12);
        assert!(!t.contains_key("lm_head.weight"));
        let l = "model.layers.23.self_attn";
        assert_eq!(t[&format!("{l}.q_proj.weight")], vec![896, 896]);
        assert_eq!(t[&format!("{l}.k_proj.weight")], vec![128, 896]);
        assert_eq!(t[&format!("{l}.v_proj.weight")], vec![128, 896]);
        assert_eq!(t[&format!("{l}.o_proj.weight")], vec![896, 896]);
        assert_eq!(t[&format!("{l}.q_proj.bias")], vec![896]);
        assert_eq!(t[&format!("{l}.k_proj.bias")], vec![128]);
        assert_eq!(t[&format!("{l}.v_proj.bias")], vec![128]);
        assert!(!t
            .keys()
            .any(|k| k.contains("q_norm") || k.contains("k_norm")));
        assert!(!t.keys().any(|k| k.contains("o_proj.bias")));
    }

    #[test]
    fn specs_are_sorted_and_unique() {
        for p in crate::synth::presets() {
            let specs = p.tensors();
            assert!(
                specs.windows(2).all(|w| w[0].name < w[1].name),
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn normal_quantile_is_accurate() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959963984540054),
            (0.8413447460685429, 1.0),
        ] {
            assert!((normal_quantile(p) - z).abs() < 1e-8, "{p}");
            assert!((normal_quantile(1.0 - p) + z).abs() < 1e-8, "{p}");
        }
        assert!((normal_quantile(1e-5) + 4.264890793922825).abs() < 1e-7);
    }

    #[test]
    fn chunks_are_deterministic_and_seed_dependent() {
        let spec = TensorSpec {
            name: "x".into(),
            shape: vec![1000],
            init: Init::Normal,
        };
        let unit = Unit {
            tensor: 0,
            chunk: 0,
            len: 1000,
        };
        let a = generate(&spec, unit, WeightDType::F32, 1);
        assert_eq!(a, generate(&spec, unit, WeightDType::F32, 1));
        assert_ne!(a, generate(&spec, unit, WeightDType::F32, 2));
        let vals: Vec<f32> = a
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mean = vals.iter().sum::<f32>() / vals.len() as f32;
        let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / vals.len() as f32;
        assert!(mean.abs() < 0.003, "mean {mean}");
        assert!((var.sqrt() - 0.02).abs() < 0.002, "std {}", var.sqrt());
    }
}
