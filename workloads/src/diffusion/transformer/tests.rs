//! The transformer against candle-transformers' FLUX on the same random weights.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::flux::model::{Config, Flux};
use candle_transformers::models::flux::WithForward;

use super::*;
use crate::kernels::flash_attention::Kernel;

fn tiny(guidance_embed: bool) -> Config {
    Config {
        in_channels: 16,
        vec_in_dim: 12,
        context_in_dim: 20,
        hidden_size: 64,
        mlp_ratio: 4.0,
        num_heads: 2,
        depth: 2,
        depth_single_blocks: 2,
        axes_dim: vec![8, 12, 12],
        theta: 10_000,
        qkv_bias: true,
        guidance_embed,
    }
}

/// Both models over one set of weights, every weight random (a VarMap initializes norms' scales
/// to constants, which would hide a mix-up of query and key norms).
fn models(config: &Config) -> (Flux, FluxTransformer) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let reference = Flux::new(config, vb.clone()).unwrap();
    for var in varmap.all_vars() {
        let noise = Tensor::randn(0f32, 0.3, var.shape(), &Device::Cpu).unwrap();
        var.set(&noise).unwrap();
    }
    let ours = FluxTransformer::load(config, vb).unwrap();
    (reference, ours)
}

struct Inputs {
    img: Tensor,
    img_ids: Tensor,
    txt: Tensor,
    txt_ids: Tensor,
    t: Tensor,
    y: Tensor,
    guidance: Tensor,
}

fn inputs(config: &Config) -> Inputs {
    let cpu = &Device::Cpu;
    let (h, w, text) = (3, 4, 5);
    let ids: Vec<f32> = (0..h)
        .flat_map(|r| (0..w).flat_map(move |c| [0.0, r as f32, c as f32]))
        .collect();
    Inputs {
        img: Tensor::randn(0f32, 1.0, (1, h * w, config.in_channels), cpu).unwrap(),
        img_ids: Tensor::from_vec(ids, (1, h * w, 3), cpu).unwrap(),
        txt: Tensor::randn(0f32, 1.0, (1, text, config.context_in_dim), cpu).unwrap(),
        txt_ids: Tensor::zeros((1, text, 3), DType::F32, cpu).unwrap(),
        t: Tensor::new(&[0.7f32], cpu).unwrap(),
        y: Tensor::randn(0f32, 1.0, (1, config.vec_in_dim), cpu).unwrap(),
        guidance: Tensor::new(&[3.5f32], cpu).unwrap(),
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

#[test]
fn predicts_what_candle_transformers_flux_predicts() {
    for guidance_embed in [true, false] {
        let config = tiny(guidance_embed);
        let (reference, ours) = models(&config);
        let x = inputs(&config);
        let guidance = guidance_embed.then_some(&x.guidance);
        let expected = reference
            .forward(&x.img, &x.img_ids, &x.txt, &x.txt_ids, &x.t, &x.y, guidance)
            .unwrap();
        let scale = expected
            .abs()
            .unwrap()
            .max_keepdim(2)
            .unwrap()
            .max_keepdim(1)
            .unwrap();
        let scale: f32 = scale.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0];
        assert!(scale > 1e-2, "outputs too small to compare: {scale}");
        let got = ours
            .forward(&x.img, &x.img_ids, &x.txt, &x.txt_ids, &x.t, &x.y, guidance)
            .unwrap();
        assert_eq!(got.dims(), expected.dims());
        let diff = max_diff(&got, &expected);
        assert!(
            diff < 1e-4 * scale.max(1.0),
            "guidance {guidance_embed}: {diff} of {scale}"
        );
    }
}

#[test]
fn flash_attention_gives_the_plain_prediction() {
    // On the CPU the flash path is the kernels' reference implementation.
    let config = tiny(true);
    let (_, mut ours) = models(&config);
    let x = inputs(&config);
    let run = |m: &FluxTransformer| {
        m.forward(
            &x.img,
            &x.img_ids,
            &x.txt,
            &x.txt_ids,
            &x.t,
            &x.y,
            Some(&x.guidance),
        )
        .unwrap()
    };
    let plain = run(&ours);
    ours.set_kernels(Kernels {
        attention: AttentionPath::Flash(Kernel::Pipelined),
        rowwise: true,
        heads: true,
    });
    let flash = run(&ours);
    assert!(max_diff(&plain, &flash) < 1e-4);
}

#[test]
fn the_cpu_keeps_candle_operations() {
    let config = tiny(true);
    let (_, mut ours) = models(&config);
    ours.choose_kernels(&Device::Cpu, DType::BF16, 128);
    assert_eq!(ours.kernels().attention, AttentionPath::Plain);
    assert!(!ours.kernels().rowwise);
}
