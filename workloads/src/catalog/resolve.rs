//! Turn a model reference into a folder: `synth:<preset>`, a local path, or a hub id in the
//! local Hugging Face cache.

use std::path::Path;

use crate::model::{hf_hub_cache, ModelSource, ResolvedModel};
use crate::synth::{self, SynthOptions, WeightDType};
use crate::Error;

/// Resolve `spec`. `synth:` folders are made once under `synth_cache` (weights in `dtype`,
/// seeded by `seed`) and reused; anything else must already exist.
pub fn resolve(
    spec: &str,
    dtype: WeightDType,
    seed: u64,
    synth_cache: &Path,
) -> Result<ResolvedModel, Error> {
    if let Some(name) = spec.strip_prefix("synth:") {
        let dir = match crate::diffusion::synth::flux_preset(name) {
            Some(flux) => crate::diffusion::synth::cached_flux(flux, dtype, seed, synth_cache)?,
            None => synth::cached(
                super::llm_preset(name)?,
                &SynthOptions { dtype, seed },
                synth_cache,
            )?,
        };
        return Ok(ResolvedModel {
            dir,
            source: ModelSource::Synth {
                preset: name.to_string(),
                dtype,
                seed,
            },
        });
    }
    let path = Path::new(spec);
    if path.is_dir() {
        return Ok(ResolvedModel {
            dir: path.to_path_buf(),
            source: ModelSource::Local,
        });
    }
    let looks_like_hub_id = spec.split('/').count() == 2 && !spec.starts_with(['.', '/', '~']);
    if !looks_like_hub_id {
        return Err(Error::ModelNotFound {
            spec: spec.into(),
            reason: "no such folder; give `synth:<preset>`, an existing folder, or a hub id `Org/Name` in the local Hugging Face cache".into(),
        });
    }
    let cache = hf_hub_cache();
    let repo_dir = cache.join(format!("models--{}", spec.replace('/', "--")));
    let snapshots = repo_dir.join("snapshots");
    if !snapshots.is_dir() {
        return Err(Error::ModelNotFound {
            spec: spec.into(),
            reason: format!(
                "not a folder, and not in the Hugging Face cache ({} has no snapshots; set HF_HOME or HF_HUB_CACHE, or download it first)",
                repo_dir.display()
            ),
        });
    }
    let revision = match std::fs::read_to_string(repo_dir.join("refs").join("main")) {
        Ok(rev) => rev.trim().to_string(),
        Err(_) => latest_snapshot(&snapshots).ok_or_else(|| Error::ModelNotFound {
            spec: spec.into(),
            reason: format!("{} is empty", snapshots.display()),
        })?,
    };
    let dir = snapshots.join(&revision);
    if !dir.is_dir() {
        return Err(Error::ModelNotFound {
            spec: spec.into(),
            reason: format!(
                "refs/main names revision {revision}, but {} does not exist",
                dir.display()
            ),
        });
    }
    Ok(ResolvedModel {
        dir,
        source: ModelSource::HubCache {
            repo: spec.into(),
            revision,
        },
    })
}

fn latest_snapshot(snapshots: &Path) -> Option<String> {
    std::fs::read_dir(snapshots)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_snapshot_in_the_hub_cache_through_refs_main() {
        let cache = tempfile::tempdir().unwrap();
        let repo = cache.path().join("models--Org--Model");
        std::fs::create_dir_all(repo.join("snapshots/abc123")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "abc123\n").unwrap();
        // SAFETY of the test: env vars are process-wide; this test is the only one setting it.
        std::env::set_var("HF_HUB_CACHE", cache.path());
        let found = resolve("Org/Model", WeightDType::F32, 0, cache.path()).unwrap();
        std::env::remove_var("HF_HUB_CACHE");
        assert_eq!(found.dir, repo.join("snapshots/abc123"));
        assert_eq!(
            found.source,
            ModelSource::HubCache {
                repo: "Org/Model".into(),
                revision: "abc123".into()
            }
        );
    }

    #[test]
    fn a_missing_folder_names_what_is_allowed() {
        let err = resolve("./no/such/dir", WeightDType::F32, 0, Path::new("/tmp")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no such folder"), "{text}");
        assert!(text.contains("synth:<preset>"), "{text}");
    }
}
