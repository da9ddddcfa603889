//! GGUF headers written by candle's own GGUF writer (an implementation independent of this
//! reader) with tensors of several ggml types, counted against candle's storage sizes and the
//! block sizes by hand; and damaged headers, which must give errors, never panics.

use std::io::Cursor;
use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::*;

fn tensor(shape: &[usize], dtype: GgmlDType) -> QTensor {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|i| ((i % 17) as f32 - 8.0) / 8.0).collect();
    let t = Tensor::from_vec(values, shape, &Device::Cpu).expect("a tensor");
    QTensor::quantize(&t, dtype).expect("quantized")
}

fn write(metadata: &[(&str, &Value)], tensors: &[(&str, &QTensor)]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, metadata, tensors).expect("written");
    out.into_inner()
}

fn parse(bytes: &[u8]) -> Result<Gguf, GgufError> {
    read_from(bytes, Path::new("model.gguf"))
}

/// A header of six tensors of six ggml types, its LM head `output.weight` apart from the
/// embedding table, with the tensors it was written from. `cost`'s tests count its weights.
pub(crate) fn six_types() -> (Vec<(&'static str, QTensor)>, Gguf) {
    let tensors = vec![
        ("token_embd.weight", tensor(&[64, 256], GgmlDType::Q8_0)),
        ("blk.0.attn_q.weight", tensor(&[256, 256], GgmlDType::Q4K)),
        ("blk.0.attn_k.weight", tensor(&[256, 256], GgmlDType::F16)),
        ("blk.0.ffn_down.weight", tensor(&[256, 256], GgmlDType::Q6K)),
        ("blk.0.attn_norm.weight", tensor(&[256], GgmlDType::F32)),
        ("output.weight", tensor(&[64, 256], GgmlDType::Q4_0)),
    ];
    let arch = Value::String("qwen3".into());
    // A tokenizer-like array of strings, read past.
    let tokens = Value::Array((0..300).map(|i| Value::String(format!("t{i}"))).collect());
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let bytes = write(
        &[
            ("general.architecture", &arch),
            ("tokenizer.ggml.tokens", &tokens),
        ],
        &refs,
    );
    (tensors, parse(&bytes).expect("a header"))
}

#[test]
fn each_tensor_counts_at_its_own_type() {
    let (tensors, g) = six_types();
    assert_eq!(g.version, 2);
    assert_eq!(g.architecture.as_deref(), Some("qwen3"));
    assert_eq!(g.tensors.len(), 6);
    // ggml order: innermost dimension first.
    assert_eq!(g.tensors[0].dims, [256, 64]);
    for ((_, qt), info) in tensors.iter().zip(&g.tensors) {
        let (_, counted) = g.tensor_bytes(info).expect("countable");
        assert_eq!(
            counted as usize,
            qt.storage_size_in_bytes(),
            "{}",
            info.name
        );
    }
}

/// A mixture-of-experts header: four experts of which one is used per token (`counts`: the
/// header says so, else it does not), a shared expert, and the embedding table tied as the
/// LM head. `cost`'s tests count its weights.
pub(crate) fn experts(counts: bool) -> Gguf {
    let tensors = [
        ("token_embd.weight", tensor(&[64, 32], GgmlDType::F32)),
        (
            "blk.0.ffn_up_exps.weight",
            tensor(&[4, 32, 32], GgmlDType::F32),
        ),
        (
            "blk.0.ffn_up_shexp.weight",
            tensor(&[32, 32], GgmlDType::F32),
        ),
    ];
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let arch = Value::String("qwen3moe".into());
    let (all, used) = (Value::U32(4), Value::U32(1));
    let bytes = if counts {
        write(
            &[
                ("general.architecture", &arch),
                ("qwen3moe.expert_count", &all),
                ("qwen3moe.expert_used_count", &used),
            ],
            &refs,
        )
    } else {
        write(&[("general.architecture", &arch)], &refs)
    };
    parse(&bytes).expect("a header")
}

#[test]
fn the_expert_counts_are_read() {
    let g = experts(true);
    assert_eq!((g.expert_count, g.expert_used_count), (Some(4), Some(1)));
}

#[test]
fn damaged_headers_are_errors_that_say_what() {
    let t = tensor(&[32, 32], GgmlDType::Q8_0);
    let arch = Value::String("qwen3".into());
    let bytes = write(&[("general.architecture", &arch)], &[("w.weight", &t)]);
    // Cut anywhere inside the header: an error, never a panic. The header is 117 bytes:
    // magic, version and counts 24; the key (8 + 20), its type 4 and string (8 + 5); the
    // tensor's name (8 + 8), dimension count 4, two dimensions 16, type 4 and offset 8.
    let first_whole = (0..bytes.len()).find(|cut| parse(&bytes[..*cut]).is_ok());
    assert_eq!(first_whole, Some(117));
    let err = |b: &[u8]| parse(b).expect_err("damaged").to_string();
    assert!(err(b"GGML\x03\0\0\0").contains("not a GGUF file"));
    let mut v1 = bytes.clone();
    v1[4] = 1;
    assert!(err(&v1).contains("version 1"));
    let mut big = bytes.clone();
    big[4..8].copy_from_slice(&3u32.to_be_bytes());
    assert!(err(&big).contains("big-endian"));
    // A tensor type ggml retired is named, not guessed.
    let mut g = parse(&bytes).expect("a header");
    g.tensors[0].ggml_type = 4;
    let e = g.tensor_bytes(&g.tensors[0]).expect_err("unknown type");
    assert!(e.to_string().contains("ggml type 4"), "{e}");
    // A huge count is refused before anything is allocated for it.
    let mut huge = bytes.clone();
    huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(err(&huge).contains("tensor count"));
}
