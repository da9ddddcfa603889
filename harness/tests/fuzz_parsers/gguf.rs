//! GGUF headers (`bench_workloads::gguf`): a file named by a suite, whose counts and lengths
//! come from the file. Any bytes must give a header or an error, never a panic, a hang or an
//! allocation sized by a count alone; a header read must then be costed or refused the same way.

use std::path::Path;

use bench_workloads::cost::gguf_weights;
use bench_workloads::gguf::read_from;

use crate::engine::{Target, Verdict};

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

/// A small GGUF v3 header, built here: the architecture, expert counts, a string array, and
/// tensors of four ggml types (Q4_K, Q6_K, F32, an expert tensor in Q8_0).
fn seed() -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    let tensors: [(&str, &[u64], u32); 4] = [
        ("token_embd.weight", &[256, 64], 12),
        ("output.weight", &[256, 64], 14),
        ("output_norm.weight", &[256], 0),
        ("blk.0.ffn_up_exps.weight", &[256, 32, 4], 8),
    ];
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend(4u64.to_le_bytes());
    string(&mut out, "general.architecture");
    out.extend(8u32.to_le_bytes());
    string(&mut out, "qwen3moe");
    for (key, value) in [
        ("qwen3moe.expert_count", 4u32),
        ("qwen3moe.expert_used_count", 1),
    ] {
        string(&mut out, key);
        out.extend(4u32.to_le_bytes());
        out.extend(value.to_le_bytes());
    }
    string(&mut out, "tokenizer.ggml.tokens");
    out.extend(9u32.to_le_bytes());
    out.extend(8u32.to_le_bytes());
    out.extend(3u64.to_le_bytes());
    for t in ["a", "bc", "def"] {
        string(&mut out, t);
    }
    for (name, dims, kind) in tensors {
        string(&mut out, name);
        out.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            out.extend(d.to_le_bytes());
        }
        out.extend(kind.to_le_bytes());
        out.extend(0u64.to_le_bytes());
    }
    out
}

fn check(input: &[u8]) -> Verdict {
    match read_from(input, Path::new("fuzz.gguf")) {
        Ok(g) => {
            let _ = gguf_weights(&g);
            Ok(())
        }
        Err(e) => {
            let said = e.to_string();
            if said.contains("fuzz.gguf") {
                Ok(())
            } else {
                Err(format!("an error that does not name the file: {said}"))
            }
        }
    }
}

#[test]
fn gguf_headers() {
    let seed = seed();
    let read = read_from(seed.as_slice(), Path::new("seed.gguf")).expect("the seed reads");
    assert_eq!(read.tensors.len(), 4);
    assert!(gguf_weights(&read).is_ok());
    Target {
        name: "gguf-header",
        seeds: vec![seed],
        tokens: &[
            "GGUF",
            "\u{3}\0\0\0",
            "\u{ff}\u{ff}\u{ff}\u{ff}",
            "general.architecture",
        ],
        cases: 20_000,
        check,
    }
    .run();
}
