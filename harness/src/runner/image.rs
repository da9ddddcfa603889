//! Diffusion cases: warmups, then each missing repetition, with its phases' energy and, when
//! the workload asks, its images saved as PNG under the run's `images/`.

use bench_workloads::diffusion::{png, DiffusionEngine, DiffusionRequest};

use super::Context;
use crate::plan::{Case, ImageParams};
use crate::power::Phase;
use crate::store::{Record, StoreError};

/// The request a diffusion case sends.
fn request(image: &ImageParams) -> DiffusionRequest {
    DiffusionRequest {
        prompt: image.prompt.clone(),
        width: image.width as usize,
        height: image.height as usize,
        steps: image.steps as usize,
        guidance: image.guidance,
        batch: image.batch as usize,
        seed: image.seed,
    }
}

/// Run the `missing` repetitions of a diffusion case.
pub(super) fn run_case(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn DiffusionEngine,
    case: &Case,
    image: &ImageParams,
    missing: &[u32],
) -> Result<(), StoreError> {
    let request = request(image);
    let warmup_error = ctx.warm_up(case, || engine.generate(&request).map(drop));
    ctx.repetitions(
        case,
        missing,
        warmup_error,
        |ctx, repetition, started_at, t_start_s| {
            let m = match engine.generate(&request) {
                Ok(m) => m,
                Err(e) => {
                    return Ok(Record::failed(
                        case,
                        repetition,
                        started_at,
                        t_start_s,
                        e.to_string(),
                    ))
                }
            };
            let start = ctx.clock.at(m.started);
            let denoise = m
                .denoise_from_s
                .map(|from| (from, from + m.step_s.iter().sum::<f64>()));
            let phases: Vec<Phase> = [
                Some(("total", 0.0, m.image_s)),
                m.text_encode_s.map(|t| ("text_encode", 0.0, t)),
                denoise.map(|(from, to)| ("denoise", from, to)),
                m.vae_decode_s
                    .map(|v| ("vae_decode", m.image_s - v, m.image_s)),
            ]
            .into_iter()
            .flatten()
            .map(|(name, from, to)| Phase {
                name,
                start_s: start + from,
                end_s: start + to,
            })
            .collect();
            let energy = ctx.energy(&phases);
            let mut record = Record::imaged(case, repetition, started_at, start, &m)
                .with_image_energy(energy, m.images.len());
            if image.save {
                record.images = save(ctx, case, repetition, &m.images)?;
            }
            Ok(record)
        },
    )
}

/// Save `images` as `images/<case>-r<repetition>-<i>.png`; returns their paths relative to the
/// run folder.
fn save(
    ctx: &mut Context<'_, '_>,
    case: &Case,
    repetition: u32,
    images: &[bench_workloads::diffusion::Image],
) -> Result<Vec<String>, StoreError> {
    let dir = ctx.store.dir().join("images");
    std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
        path: dir.clone(),
        source,
    })?;
    let stem = case.id.replace('/', "_");
    let mut saved = Vec::with_capacity(images.len());
    for (i, image) in images.iter().enumerate() {
        let name = format!("{stem}-r{repetition}-{i}.png");
        let path = dir.join(&name);
        png::save(image, &path).map_err(|e| StoreError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        saved.push(format!("images/{name}"));
    }
    Ok(saved)
}
