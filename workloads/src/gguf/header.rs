//! Reading a GGUF header: counts and lengths come from the file, so each is bounded before it
//! is trusted, nothing is allocated on a count's word alone, and a header that ends early or
//! says something impossible is an error naming what and where.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::{Gguf, GgufError, TensorInfo};

/// `GGUF` as a little-endian u32.
const MAGIC: &[u8; 4] = b"GGUF";
/// More tensors or metadata pairs than any model has: a count above it is a damaged file.
const MAX_COUNT: u64 = 1 << 24;
/// The longest string read whole (keys, names, the architecture); longer string values are
/// skipped unread.
const MAX_KEPT_STRING: u64 = 1 << 16;
/// ggml's `GGML_MAX_DIMS`.
const MAX_DIMS: u32 = 4;
/// Arrays nest; deeper than this is a damaged file.
const MAX_NESTING: u32 = 4;

/// Read the header of the GGUF file at `path`.
pub fn read(path: &Path) -> Result<Gguf, GgufError> {
    let file = std::fs::File::open(path).map_err(|source| GgufError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_from(BufReader::new(file), path)
}

/// Read a GGUF header from `reader`; `path` names it in errors.
pub fn read_from(reader: impl Read, path: &Path) -> Result<Gguf, GgufError> {
    let mut r = Reader {
        inner: reader,
        path: path.to_path_buf(),
        at: 0,
    };
    let mut magic = [0u8; 4];
    r.exact(&mut magic, "the magic")?;
    if &magic != MAGIC {
        return Err(r.error(format!(
            "it starts with {magic:02x?}, not `GGUF`: not a GGUF file"
        )));
    }
    let version = r.u32("the version")?;
    if version.swap_bytes() <= 3 && version > 3 {
        return Err(r.error("a big-endian GGUF, which bench does not read".into()));
    }
    if !(2..=3).contains(&version) {
        return Err(r.error(format!(
            "GGUF version {version}; bench reads versions 2 and 3 (version 1, of 2023, \
             had 32-bit counts: convert the model again)"
        )));
    }
    let tensor_count = r.count("the tensor count")?;
    let kv_count = r.count("the metadata count")?;
    let mut architecture = None;
    let mut integers: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..kv_count {
        let key = r.string("a metadata key")?;
        let kind = r.u32("a metadata value type")?;
        match r.value(kind, 0, &key)? {
            Value::String(s) if key == "general.architecture" => architecture = Some(s),
            Value::Unsigned(n) if key.ends_with(".expert_count") => {
                integers.insert(key, n);
            }
            Value::Unsigned(n) if key.ends_with(".expert_used_count") => {
                integers.insert(key, n);
            }
            _ => {}
        }
    }
    let mut tensors = Vec::with_capacity(tensor_count.min(4096) as usize);
    for _ in 0..tensor_count {
        let name = r.string("a tensor name")?;
        let n_dims = r.u32("a tensor's dimension count")?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(r.error(format!(
                "tensor `{name}` has {n_dims} dimensions; ggml allows 1 to {MAX_DIMS}"
            )));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(r.u64("a tensor dimension")?);
        }
        let ggml_type = r.u32("a tensor type")?;
        let _offset = r.u64("a tensor offset")?;
        tensors.push(TensorInfo {
            name,
            dims,
            ggml_type,
        });
    }
    let of = |suffix: &str| {
        let arch = architecture.as_deref()?;
        integers.get(&format!("{arch}.{suffix}")).copied()
    };
    Ok(Gguf {
        path: path.to_path_buf(),
        version,
        expert_count: of("expert_count"),
        expert_used_count: of("expert_used_count"),
        architecture,
        tensors,
    })
}

/// A metadata value, as far as it is kept.
enum Value {
    /// Any unsigned or non-negative signed integer.
    Unsigned(u64),
    /// A string short enough to keep.
    String(String),
    /// Anything else (read past).
    Other,
}

struct Reader<R> {
    inner: R,
    path: PathBuf,
    /// Bytes read so far, for messages.
    at: u64,
}

impl<R: Read> Reader<R> {
    fn error(&self, reason: String) -> GgufError {
        GgufError::Format {
            path: self.path.clone(),
            reason: format!("{reason} (at byte {})", self.at),
        }
    }

    fn exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), GgufError> {
        self.inner.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                self.error(format!("the header ends before {what}"))
            }
            _ => GgufError::Io {
                path: self.path.clone(),
                source: e,
            },
        })?;
        self.at += buf.len() as u64;
        Ok(())
    }

    fn skip(&mut self, bytes: u64, what: &str) -> Result<(), GgufError> {
        let copied = std::io::copy(&mut (&mut self.inner).take(bytes), &mut std::io::sink())
            .map_err(|source| GgufError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.at += copied;
        if copied < bytes {
            return Err(self.error(format!("the header ends inside {what}")));
        }
        Ok(())
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        let mut b = [0u8; 4];
        self.exact(&mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        let mut b = [0u8; 8];
        self.exact(&mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }

    fn count(&mut self, what: &str) -> Result<u64, GgufError> {
        let n = self.u64(what)?;
        if n > MAX_COUNT {
            return Err(self.error(format!("{what} is {n}, more than any model has")));
        }
        Ok(n)
    }

    /// A string kept whole: it must be short and UTF-8.
    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let len = self.u64(what)?;
        if len > MAX_KEPT_STRING {
            return Err(self.error(format!("{what} is {len} bytes long")));
        }
        let mut buf = vec![0u8; len as usize];
        self.exact(&mut buf, what)?;
        String::from_utf8(buf).map_err(|_| self.error(format!("{what} is not UTF-8")))
    }

    /// A metadata value of type `kind` (gguf.md's `gguf_metadata_value_type`).
    fn value(&mut self, kind: u32, depth: u32, key: &str) -> Result<Value, GgufError> {
        let what = || format!("the value of `{key}`");
        let fixed = |bytes: u64| -> Option<u64> { Some(bytes) };
        let size = match kind {
            0 | 1 | 7 => fixed(1),
            2 | 3 => fixed(2),
            4..=6 => fixed(4),
            10..=12 => fixed(8),
            _ => None,
        };
        if let Some(size) = size {
            let mut b = [0u8; 8];
            let slot = &mut b[..size as usize];
            self.exact(slot, &what())?;
            let le = u64::from_le_bytes(b);
            let signed_ok = |bits: u32| {
                let shift = 64 - bits;
                (((le << shift) as i64) >> shift) >= 0
            };
            return Ok(match kind {
                0 | 2 | 4 | 10 => Value::Unsigned(le),
                1 if signed_ok(8) => Value::Unsigned(le),
                3 if signed_ok(16) => Value::Unsigned(le),
                5 if signed_ok(32) => Value::Unsigned(le),
                11 if signed_ok(64) => Value::Unsigned(le),
                _ => Value::Other,
            });
        }
        match kind {
            8 => {
                let len = self.u64(&what())?;
                if len > MAX_KEPT_STRING {
                    self.skip(len, &what())?;
                    return Ok(Value::Other);
                }
                let mut buf = vec![0u8; len as usize];
                self.exact(&mut buf, &what())?;
                Ok(String::from_utf8(buf).map_or(Value::Other, Value::String))
            }
            9 => {
                if depth >= MAX_NESTING {
                    return Err(self.error(format!("{} nests arrays too deep", what())));
                }
                let inner = self.u32(&what())?;
                let n = self.u64(&what())?;
                let element = match inner {
                    0 | 1 | 7 => Some(1),
                    2 | 3 => Some(2),
                    4..=6 => Some(4),
                    10..=12 => Some(8),
                    _ => None,
                };
                match element {
                    Some(size) => {
                        let bytes = n.checked_mul(size).ok_or_else(|| {
                            self.error(format!("{} is an array of {n} elements", what()))
                        })?;
                        self.skip(bytes, &what())?;
                    }
                    None => {
                        if n > MAX_COUNT {
                            return Err(
                                self.error(format!("{} is an array of {n} elements", what()))
                            );
                        }
                        for _ in 0..n {
                            self.value(inner, depth + 1, key)?;
                        }
                    }
                }
                Ok(Value::Other)
            }
            other => Err(self.error(format!(
                "{} has value type {other}, which GGUF does not define",
                what()
            ))),
        }
    }
}
