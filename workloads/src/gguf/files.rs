//! Which files a GGUF reference names: a `.gguf` file, or a folder holding one model as one
//! `.gguf` file or as the shards of one split (`name-00001-of-00003.gguf`, llama.cpp's
//! `gguf-split` naming). A folder with several different models is an error that lists them.

use std::path::{Path, PathBuf};

use super::{header, Gguf, GgufError};

/// The files of the model `path` names, in shard order.
pub fn resolve(path: &Path) -> Result<Vec<PathBuf>, GgufError> {
    let format = |reason: String| GgufError::Format {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|source| GgufError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
        })
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    match files.len() {
        0 => Err(format("the folder holds no .gguf file".into())),
        1 => Ok(files),
        _ if one_split(&names) => Ok(files),
        _ => Err(format(format!(
            "the folder holds several models ({}); name the .gguf file",
            names.join(", ")
        ))),
    }
}

/// Whether `names` (sorted) are every shard of one split: `<prefix>-0000i-of-0000n.gguf`
/// with one prefix and i = 1..=n.
fn one_split(names: &[String]) -> bool {
    let parts: Vec<Option<(&str, u32, u32)>> = names.iter().map(|n| shard(n)).collect();
    let Some(Some((prefix, _, total))) = parts.first().copied() else {
        return false;
    };
    total as usize == names.len()
        && parts.iter().enumerate().all(|(i, p)| {
            p.is_some_and(|(pre, index, of)| {
                pre == prefix && of == total && index as usize == i + 1
            })
        })
}

/// `name-00002-of-00003.gguf` → ("name", 2, 3).
fn shard(name: &str) -> Option<(&str, u32, u32)> {
    let stem = name.get(..name.len().checked_sub(5)?)?;
    let (rest, total) = stem.rsplit_once("-of-")?;
    let (prefix, index) = rest.rsplit_once('-')?;
    Some((prefix, index.parse().ok()?, total.parse().ok()?))
}

/// Read the model `path` names: every shard's tensors, and the metadata of whichever shard
/// has it (the first, in llama.cpp's splits).
pub fn read_model(path: &Path) -> Result<Gguf, GgufError> {
    let files = resolve(path)?;
    let mut model: Option<Gguf> = None;
    for file in &files {
        let part = header::read(file)?;
        match model.as_mut() {
            None => model = Some(part),
            Some(m) => {
                m.architecture = m.architecture.take().or(part.architecture);
                m.expert_count = m.expert_count.or(part.expert_count);
                m.expert_used_count = m.expert_used_count.or(part.expert_used_count);
                m.tensors.extend(part.tensors);
            }
        }
    }
    model.ok_or_else(|| GgufError::Format {
        path: path.to_path_buf(),
        reason: "no GGUF file".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_is_one_model_and_two_models_are_not() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(one_split(&names(&[
            "m-Q4_K_M-00001-of-00002.gguf",
            "m-Q4_K_M-00002-of-00002.gguf"
        ])));
        assert!(!one_split(&names(&["a-Q4_0.gguf", "a-Q8_0.gguf"])));
        assert!(!one_split(&names(&[
            "m-00001-of-00003.gguf",
            "m-00002-of-00003.gguf"
        ])));
        assert_eq!(shard("x-00002-of-00003.gguf"), Some(("x", 2, 3)));
    }
}
