//! Hand computations for Qwen3-0.6B, Qwen3-8B, Qwen3-30B-A3B and FLUX-dev, the arithmetic
//! written out so a reader can check it. Shapes are those of the models' `config.json`.

use candle_transformers::models::flux::model;

use super::*;

const QWEN3_0_6B: &str = r#"{"model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072,
  "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
  "vocab_size": 151936, "tie_word_embeddings": true, "torch_dtype": "bfloat16"}"#;
const QWEN3_8B: &str = r#"{"model_type": "qwen3", "hidden_size": 4096, "intermediate_size": 12288,
  "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
  "vocab_size": 151936, "tie_word_embeddings": false, "torch_dtype": "bfloat16"}"#;
const QWEN3_30B_A3B: &str = r#"{"model_type": "qwen3_moe", "hidden_size": 2048,
  "intermediate_size": 6144, "num_hidden_layers": 48, "num_attention_heads": 32,
  "num_key_value_heads": 4, "head_dim": 128, "vocab_size": 151936, "tie_word_embeddings": false,
  "num_experts": 128, "num_experts_per_tok": 8, "moe_intermediate_size": 768,
  "mlp_only_layers": [], "decoder_sparse_step": 1, "torch_dtype": "bfloat16"}"#;

fn shape(text: &str) -> LlmShape {
    LlmShape::parse(text).expect("a valid config")
}

#[test]
fn qwen3_0_6b_by_hand() {
    let s = shape(QWEN3_0_6B);
    // Attention per layer: q 1024·2048 + k, v 2·1024·1024 + o 2048·1024 = 6,291,456.
    assert_eq!(s.attention_weights(), 6_291_456);
    // MLP per layer: 3·1024·3072 = 9,437,184.
    assert_eq!(s.active_mlp_weights(), 9_437_184);
    // Norms: 28·(2·1024 + 2·128) + 1024 = 65,536. Embeddings: 151936·1024 = 155,582,464,
    // counted once (tied). 28·(6,291,456 + 9,437,184) + 65,536 + 155,582,464 = 596,049,920.
    assert_eq!(s.parameters(), 596_049_920);
    assert_eq!(s.active_parameters(), s.parameters());
    // The synthesizer's preset of this shape stores exactly these tensors.
    let preset = crate::synth::preset("qwen3-0.6b").expect("preset");
    assert_eq!(preset.parameters(), s.parameters());

    // Prefill of 2048 tokens: linears 2·28·15,728,640·2048 = 1,803,886,264,320; LM head
    // 2·155,582,464·2048 = 637,265,772,544; attention 4·2048²·16·128·28 = 962,072,674,304
    // unmasked, 4·(2048·2049/2)·16·128·28 = 481,271,218,176 causal.
    let full = PrefillFlops::new(&s, 2048, Masking::Full);
    assert_eq!(full.linear, 1_803_886_264_320);
    assert_eq!(full.lm_head, 637_265_772_544);
    assert_eq!(full.attention, 962_072_674_304);
    assert_eq!(full.total(), 3_403_224_711_168);
    let causal = PrefillFlops::new(&s, 2048, Masking::Causal);
    assert_eq!(causal.attention, 481_271_218_176);
    assert_eq!(causal.total(), 2_922_423_255_040);

    // KV per token: 2·28·8·128·2 bytes = 114,688. Decode at 4096 positions in bf16: weights
    // (595,984,384 linear incl. the tied head + 65,536 norms)·2 = 1,192,099,840; KV
    // 114,688·4096 = 469,762,048.
    assert_eq!(kv_cache_bytes_per_token(&s, 2), 114_688);
    let d = decode_bytes(&s, WeightFormat::Bf16, 2, 4096);
    assert_eq!(d.weights, 1_192_099_840);
    assert_eq!(d.kv_cache, 469_762_048);
    assert_eq!(d.total(), 1_661_861_888);
}

#[test]
fn qwen3_8b_by_hand() {
    let s = shape(QWEN3_8B);
    // Attention per layer: 4096·4096 + 2·4096·1024 + 4096·4096 = 41,943,040; MLP
    // 3·4096·12288 = 150,994,944; norms 36·(2·4096 + 256) + 4096 = 308,224; two tables of
    // 151936·4096 = 622,329,856. 36·192,937,984 + 308,224 + 2·622,329,856 = 8,190,735,360.
    assert_eq!(s.parameters(), 8_190_735_360);
    assert_eq!(s.active_parameters(), 8_190_735_360);
    assert_eq!(
        crate::synth::preset("qwen3-8b")
            .expect("preset")
            .parameters(),
        s.parameters()
    );
    // Linear weights a token multiplies by: 36·192,937,984 + 622,329,856 = 7,568,097,280.
    assert_eq!(s.active_linear_weights(), 7_568_097_280);
    // Prefill 2048, causal: 2·6,945,767,424·2048 + 2·622,329,856·2048
    // + 4·(2048·2049/2)·32·128·36 = 28,449,863,368,704 + 2,549,063,090,176
    // + 1,237,554,561,024 = 32,236,481,019,904.
    assert_eq!(
        PrefillFlops::new(&s, 2048, Masking::Causal).total(),
        32_236_481_019_904
    );
    // Decode at 4096 in bf16: (7,568,097,280 + 308,224 norms + 4096 embedding row)·2
    // = 15,136,819,200 weight bytes; KV 2·36·8·128·2 = 147,456 a token, ·4096 = 603,979,776.
    let d = decode_bytes(&s, WeightFormat::Bf16, 2, 4096);
    assert_eq!(d.weights, 15_136_819_200);
    assert_eq!(d.kv_cache, 603_979_776);
    // Q4_K: 7,568,409,600 weights · 144/256 = 4,257,230,400 bytes.
    assert_eq!(
        decode_bytes(&s, WeightFormat::Q4K, 2, 4096).weights,
        4_257_230_400
    );
}

#[test]
fn qwen3_30b_a3b_by_hand() {
    let s = shape(QWEN3_30B_A3B);
    // Attention per layer: q 2048·4096 + k, v 2·2048·512 + o 4096·2048 = 18,874,368.
    assert_eq!(s.attention_weights(), 18_874_368);
    // Experts: 3·2048·768 = 4,718,592 each; router 2048·128 = 262,144.
    // All: 128·4,718,592 + 262,144 = 604,241,920; active: 8·4,718,592 + 262,144 = 38,010,880.
    assert_eq!(s.mlp_weights(), 604_241_920);
    assert_eq!(s.active_mlp_weights(), 38_010_880);
    // Norms 48·(2·2048 + 256) + 2048 = 210,944; two tables of 151936·2048 = 311,164,928.
    // Total: 48·623,116,288 + 210,944 + 622,329,856 = 30,532,122,624 (the card's 30.5B).
    assert_eq!(s.parameters(), 30_532_122_624);
    // Active: 48·56,885,248 + 210,944 + 622,329,856 = 3,353,032,704 (the card's 3.3B).
    assert_eq!(s.active_parameters(), 3_353_032_704);
    // Prefill 2048: linears 2·48·56,885,248·2048 = 11,184,094,838,784; head
    // 2·311,164,928·2048 = 1,274,531,545,088; attention 4·2048²·32·128·48 = 3,298,534,883,328
    // unmasked, 1,650,072,748,032 causal.
    let full = PrefillFlops::new(&s, 2048, Masking::Full);
    assert_eq!(full.linear, 11_184_094_838_784);
    assert_eq!(full.lm_head, 1_274_531_545_088);
    assert_eq!(full.attention, 3_298_534_883_328);
    assert_eq!(
        PrefillFlops::new(&s, 2048, Masking::Causal).attention,
        1_650_072_748_032
    );
    // KV per token 2·48·4·128·2 = 98,304; decode at 4096 in bf16: weights
    // (3,041,656,832 + 210,944 + 2048)·2 = 6,083,739,648; KV 98,304·4096 = 402,653,184.
    let d = decode_bytes(&s, WeightFormat::Bf16, 2, 4096);
    assert_eq!(d.weights, 6_083_739_648);
    assert_eq!(d.kv_cache, 402_653_184);
}

#[test]
fn flux_dev_at_1024_squared() {
    // 1024/16 = 64 patches a side: 4096 image tokens, with 512 T5 tokens. flops.rs counts
    // 57 blocks × (24·4608·3072² + 4·4608²·3072) plus the projections: 7.44e13 a step.
    assert_eq!(flux_image_tokens(1024, 1024), 4096);
    let flops = flux_step_flops(&model::Config::dev(), 1024, 1024, 512, 1);
    let by_hand = 57.0 * (24.0 * 4608.0 * 3072f64.powi(2) + 4.0 * 4608f64.powi(2) * 3072.0)
        + 2.0 * 4096.0 * 64.0 * 3072.0 * 2.0
        + 2.0 * 512.0 * 4096.0 * 3072.0;
    assert!(
        (flops / by_hand - 1.0).abs() < 1e-12,
        "{flops:e} vs {by_hand:e}"
    );
    assert!((flops / 7.44e13 - 1.0).abs() < 0.01, "{flops:e}");
}

#[test]
fn configs_it_cannot_cost_are_refused() {
    assert!(LlmShape::parse(r#"{"model_type": "llama"}"#).is_err());
    let dense_layers = QWEN3_30B_A3B.replace("\"mlp_only_layers\": []", "\"mlp_only_layers\": [0]");
    assert!(LlmShape::parse(&dense_layers).is_err());
    // head_dim defaults to hidden / heads, as transformers fills it.
    let no_head_dim = QWEN3_8B.replace("\"head_dim\": 128,", "");
    assert_eq!(shape(&no_head_dim).head_dim, 128);
}

#[test]
fn quantized_formats_round_up_to_whole_bytes() {
    assert_eq!(WeightFormat::Q8_0.bytes(32), 34);
    assert_eq!(WeightFormat::Q4_0.bytes(33), 19); // 33·18/32 = 18.5625
    assert_eq!(
        WeightFormat::from_name("bfloat16"),
        Some(WeightFormat::Bf16)
    );
    assert_eq!(WeightFormat::from_name("Q4_K_M"), Some(WeightFormat::Q4K));
    assert_eq!(WeightFormat::from_name("int3"), None);
}
