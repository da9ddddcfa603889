//! A fingerprint of a model folder that is cheap for multi-gigabyte weights.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::Error;

/// SHA-256 over `config.json`, `tokenizer.json` and, for every `*.safetensors` file (sorted
/// by name), its name, size and JSON header. The header fixes every tensor's name, dtype,
/// shape and offset; the weight bytes themselves are not read, so two folders that differ
/// only in weight values share a digest (synthesized folders also record their seed).
pub fn folder_digest(dir: &Path) -> Result<String, Error> {
    digest(
        dir,
        &["config.json", "tokenizer.json"],
        &safetensors_files(dir)?,
    )
}

/// SHA-256 over the text files `texts` (paths relative to `dir`, hashed whole with their
/// names) and the names, sizes and JSON headers of the safetensors files `weights`.
pub fn digest(dir: &Path, texts: &[&str], weights: &[std::path::PathBuf]) -> Result<String, Error> {
    let mut hasher = Sha256::new();
    for &name in texts {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| Error::ModelFile {
            path: path.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    for path in weights {
        let io = |e: std::io::Error| Error::ModelFile {
            path: path.clone(),
            reason: format!("cannot read: {e}"),
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut len = [0u8; 8];
        file.read_exact(&mut len).map_err(io)?;
        let header_len = u64::from_le_bytes(len);
        if header_len > size.saturating_sub(8) || header_len > 100_000_000 {
            return Err(Error::ModelFile {
                path: path.clone(),
                reason: format!(
                    "not a safetensors file: header length {header_len} in a file of {size} bytes"
                ),
            });
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header).map_err(io)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        hasher.update(file_name.as_bytes());
        hasher.update(size.to_le_bytes());
        hasher.update(&header);
    }
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

/// The folder's `*.safetensors` files, sorted; an error when there are none.
pub fn safetensors_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::ModelFile {
        path: dir.to_path_buf(),
        reason: format!("cannot list the model folder: {e}"),
    })?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::ModelFile {
            path: dir.to_path_buf(),
            reason: "no *.safetensors files in the model folder".into(),
        });
    }
    Ok(files)
}
