//! The candle engine on synthesized folders: deterministic weights, exact lengths, and a
//! clear error for every kind of broken model folder.

use std::path::Path;

use bench_workloads::catalog::resolve;
use bench_workloads::engine::{LlmEngine, LlmRequest, PromptInput};
use bench_workloads::llm::{CandleLlm, DeviceChoice, LoadOptions};
use bench_workloads::model::ResolvedModel;
use bench_workloads::synth::{self, SynthOptions, WeightDType};
use bench_workloads::Error;

const OPTIONS: LoadOptions = LoadOptions {
    device: DeviceChoice::Cpu,
    dtype: WeightDType::F32,
};

fn synth_tiny(dir: &Path, seed: u64) -> ResolvedModel {
    let preset = synth::preset("tiny").unwrap();
    synth::synthesize(
        preset,
        &SynthOptions {
            dtype: WeightDType::F32,
            seed,
        },
        dir,
    )
    .unwrap();
    resolve(dir.to_str().unwrap(), WeightDType::F32, seed, dir).unwrap()
}

fn load(dir: &Path) -> Result<CandleLlm, Error> {
    let resolved = resolve(dir.to_str().unwrap(), WeightDType::F32, 0, dir)?;
    CandleLlm::load("test", &resolved, &OPTIONS)
}

#[test]
fn same_seed_gives_identical_logits_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let ids = [1u32, 2, 3, 500, 42, 7];
    let mut logits = Vec::new();
    for (name, seed) in [("a", 0), ("b", 0), ("c", 1)] {
        let resolved = synth_tiny(&tmp.path().join(name), seed);
        let mut engine = CandleLlm::load("tiny", &resolved, &OPTIONS).unwrap();
        logits.push(engine.last_logits(&ids).unwrap());
    }
    assert_eq!(logits[0].len(), 2048);
    assert_eq!(logits[0], logits[1], "same seed, same logits");
    assert_ne!(logits[0], logits[2], "another seed, other logits");
    assert!(logits[0].iter().all(|v| v.is_finite()));
}

#[test]
fn generates_exact_lengths_and_resets_its_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let resolved = synth_tiny(tmp.path(), 0);
    let mut engine = CandleLlm::load("tiny", &resolved, &OPTIONS).unwrap();
    let request = LlmRequest::exact(33, 9, 0);
    for _ in 0..2 {
        let m = engine.generate(&request).unwrap();
        assert_eq!(m.prompt_tokens, 33);
        assert_eq!(m.output_tokens, 9);
        assert_eq!(m.itl_s().len(), 8);
        assert!(m.token_times_s.windows(2).all(|w| w[0] <= w[1]));
    }
    let info = engine.info();
    assert_eq!(
        info.model.parameters,
        2048 * 64 + 2 * (2 * 64 + 2 * 16 + 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 64 * 128) + 64
    );
    let too_long = engine.generate(&LlmRequest::exact(4000, 200, 0));
    assert!(
        matches!(too_long, Err(Error::Config(m)) if m.contains("exceed the model's 4096 positions"))
    );
    let too_deep = engine.generate(&LlmRequest::exact(33, 9, 4080));
    assert!(matches!(too_deep, Err(Error::Config(m)) if m.contains("4080 tokens of context")));
}

/// A request at a context depth: the context is prefilled unmeasured, the prompt and the
/// decode are measured at positions after it (that a prefill continuing a cache computes what
/// one whole prefill does is checked in `llm::qwen`'s tests).
#[test]
fn a_context_depth_is_prefilled_first_and_continued() {
    let tmp = tempfile::tempdir().unwrap();
    let resolved = synth_tiny(tmp.path(), 0);
    let mut engine = CandleLlm::load("tiny", &resolved, &OPTIONS).unwrap();
    let m = engine.generate(&LlmRequest::exact(16, 4, 64)).unwrap();
    assert_eq!((m.prompt_tokens, m.output_tokens), (16, 4));
    assert!(m.token_times_s.windows(2).all(|w| w[0] <= w[1]));
}

/// A prompt given as text (a dataset's) runs as the tokenizer splits it, after any context.
#[test]
fn a_text_prompt_runs_as_tokenized() {
    let tmp = tempfile::tempdir().unwrap();
    let resolved = synth_tiny(tmp.path(), 0);
    let mut engine = CandleLlm::load("tiny", &resolved, &OPTIONS).unwrap();
    let text = "Tell me about the weather in the mountains.";
    let tokens = engine.count_tokens(text).unwrap();
    assert!(tokens > 0);
    for depth in [0, 32] {
        let m = engine
            .generate(&LlmRequest {
                prompt: PromptInput::Text(text.into()),
                gen_tokens: 3,
                depth,
                conversation: None,
            })
            .unwrap();
        assert_eq!((m.prompt_tokens, m.output_tokens), (tokens, 3));
    }
    let empty = engine.generate(&LlmRequest {
        prompt: PromptInput::Text("".into()),
        gen_tokens: 3,
        depth: 0,
        conversation: None,
    });
    assert!(matches!(empty, Err(Error::Config(_))));
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let err = load(Path::new("/nonexistent/model")).err().unwrap();
    assert!(err.to_string().contains("no such folder"), "{err}");
}

#[test]
fn corrupt_config_json_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    synth_tiny(tmp.path(), 0);
    std::fs::write(tmp.path().join("config.json"), "{ not json").unwrap();
    let err = load(tmp.path()).err().unwrap().to_string();
    assert!(
        err.contains("config.json") && err.contains("not valid JSON"),
        "{err}"
    );
}

#[test]
fn weights_that_do_not_match_the_config_name_the_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    synth_tiny(tmp.path(), 0);
    let path = tmp.path().join("config.json");
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        config.replace("\"intermediate_size\": 128", "\"intermediate_size\": 256"),
    )
    .unwrap();
    let err = load(tmp.path()).err().unwrap();
    assert!(matches!(err, Error::WeightsMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("do not match config.json") && text.contains("mlp"),
        "{text}"
    );
}

#[test]
fn a_truncated_safetensors_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    synth_tiny(tmp.path(), 0);
    let path = tmp.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = load(tmp.path()).err().unwrap().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
}

#[test]
fn a_tokenizer_that_does_not_load_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    synth_tiny(tmp.path(), 0);
    std::fs::write(tmp.path().join("tokenizer.json"), "{\"version\": 3}").unwrap();
    let err = load(tmp.path()).err().unwrap().to_string();
    assert!(
        err.contains("tokenizer.json") && err.contains("does not load"),
        "{err}"
    );
    std::fs::remove_file(tmp.path().join("tokenizer.json")).unwrap();
    let err = load(tmp.path()).err().unwrap().to_string();
    assert!(
        err.contains("tokenizer.json") && err.contains("missing"),
        "{err}"
    );
}
