//! GGUF headers written by candle's own GGUF writer (an implementation independent of this
//! reader) with tensors of several ggml types, counted against candle's storage sizes and the
//! block sizes by hand; and damaged headers, which must give errors, never panics.

use std::io::Cursor;
use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::*;
use crate::cost::gguf_weights;

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

#[test]
fn each_tensor_counts_at_its_own_type() {
    let tensors = [
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
    let g = parse(&bytes).expect("a header");
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
    let w = gguf_weights(&g).expect("weights");
    // Q8_0 16,384 / 32 × 34 = 17,408; Q4_K 65,536 / 256 × 144 = 36,864; F16 131,072;
    // Q6_K 65,536 / 256 × 210 = 53,760; F32 1,024; Q4_0 16,384 / 32 × 18 = 9,216.
    assert_eq!(w.bytes, 249_344);
    assert_eq!(w.by_type["Q4_K"].bytes, 36_864);
    assert_eq!(w.by_type["Q6_K"].bytes, 53_760);
    assert_eq!(w.by_type["Q8_0"].weights, 16_384);
    // The LM head is `output.weight`, so a token reads one row of the embedding table:
    // 17,408 / 64 = 272 bytes instead of the whole table.
    assert_eq!(w.decode_bytes, 249_344 - 17_408 + 272);
}

#[test]
fn experts_are_read_for_the_tokens_share_and_a_tied_table_whole() {
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
    let bytes = write(
        &[
            ("general.architecture", &arch),
            ("qwen3moe.expert_count", &all),
            ("qwen3moe.expert_used_count", &used),
        ],
        &refs,
    );
    let g = parse(&bytes).expect("a header");
    assert_eq!((g.expert_count, g.expert_used_count), (Some(4), Some(1)));
    let w = gguf_weights(&g).expect("weights");
    // Tied: the whole table 8,192 B; one expert of four 16,384 / 4; the shared expert 4,096.
    assert_eq!(w.decode_bytes, 8_192 + 4_096 + 4_096);
    // Without the counts the experts cannot be costed, and the error says so.
    let bytes = write(&[("general.architecture", &arch)], &refs);
    let err = gguf_weights(&parse(&bytes).expect("a header")).expect_err("no counts");
    assert!(err.to_string().contains("expert_count"), "{err}");
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
