//! FLUX on candle end to end on the CPU, on a synthesized `flux-tiny` folder: every phase is
//! timed, the image has the asked size and decodes as PNG, the same seed gives the same image,
//! and bad requests and folders are clear errors.

use bench_workloads::diffusion::flux::CandleFlux;
use bench_workloads::diffusion::synth::{flux_preset, synthesize_flux};
use bench_workloads::diffusion::{png, DiffusionEngine, DiffusionRequest};
use bench_workloads::llm::{DeviceChoice, LoadOptions};
use bench_workloads::model::{ModelSource, ResolvedModel};
use bench_workloads::synth::WeightDType;

fn tiny(dir: &std::path::Path) -> ResolvedModel {
    synthesize_flux(flux_preset("flux-tiny").unwrap(), WeightDType::F32, 1, dir).unwrap();
    ResolvedModel {
        dir: dir.to_path_buf(),
        source: ModelSource::Local,
    }
}

fn options() -> LoadOptions {
    LoadOptions {
        device: DeviceChoice::Cpu,
        dtype: WeightDType::F32,
    }
}

fn request(seed: u64) -> DiffusionRequest {
    DiffusionRequest {
        prompt: "a rusty robot on a beach".into(),
        width: 64,
        height: 48,
        steps: 3,
        guidance: 3.5,
        batch: 1,
        seed,
    }
}

#[test]
fn flux_tiny_makes_an_image_with_every_phase_timed() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = CandleFlux::load("synth:flux-tiny", &tiny(dir.path()), &options()).unwrap();
    let m = engine.generate(&request(7)).unwrap();
    assert_eq!(m.step_s.len(), 3);
    let (text, vae) = (m.text_encode_s.unwrap(), m.vae_decode_s.unwrap());
    assert!(text > 0.0 && vae > 0.0);
    assert!(m.step_s.iter().all(|s| *s > 0.0));
    let phases = text + m.step_s.iter().sum::<f64>() + vae;
    assert!(
        m.image_s >= phases,
        "image_s {} < phases {phases}",
        m.image_s
    );
    // 64×48 pixels are 4×3 latent patches of 16×16.
    assert_eq!(m.image_tokens, 12);
    let image = &m.images[0];
    assert_eq!(
        (image.width, image.height, image.rgb.len()),
        (64, 48, 64 * 48 * 3)
    );

    let bytes = png::encode(image).unwrap();
    let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (64, 48));

    let again = engine.generate(&request(7)).unwrap();
    assert_eq!(
        again.images[0], m.images[0],
        "the same seed gives the same image"
    );
    let other = engine.generate(&request(8)).unwrap();
    assert_ne!(
        other.images[0], m.images[0],
        "another seed gives another image"
    );
}

#[test]
fn bad_requests_and_folders_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let resolved = tiny(dir.path());
    let mut engine = CandleFlux::load("synth:flux-tiny", &resolved, &options()).unwrap();
    let odd = DiffusionRequest {
        width: 70,
        ..request(1)
    };
    let e = engine.generate(&odd).unwrap_err().to_string();
    assert!(e.contains("70x48") && e.contains("multiples of 16"), "{e}");
    let none = DiffusionRequest {
        steps: 0,
        ..request(1)
    };
    assert!(engine
        .generate(&none)
        .unwrap_err()
        .to_string()
        .contains("steps"));

    std::fs::remove_file(dir.path().join("ae.safetensors")).unwrap();
    let e = CandleFlux::load("synth:flux-tiny", &resolved, &options())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("ae.safetensors") && e.contains("autoencoder"),
        "{e}"
    );
}
