//! The in-process candle LLM engine: Qwen2 and Qwen3 from HF-layout folders, on the CPU,
//! Metal or CUDA. Greedy decoding with end-of-sequence ignored, so every run generates
//! exactly the requested number of tokens; the KV cache is cleared before each request.

pub mod causal_softmax;
pub(crate) mod device;
mod gemv;
mod linear;
pub(crate) mod memory;
pub(crate) mod prompt;
mod qwen;

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, IndexOp, Tensor};
use candle_nn::VarBuilder;
use tokenizers::Tokenizer;

pub use device::{candle_dtype, open as open_device, DeviceChoice};
pub use prompt::{Prompt, PromptBuilder};

use crate::engine::{
    EngineInfo, LlmEngine, LlmMeasurement, LlmRequest, PromptInput, TokenCountSource,
};
use crate::kernels::flash_attention;
use crate::model::{self, ArchConfig, ModelInfo, ResolvedModel};
use crate::synth::WeightDType;
use crate::Error;

/// How to load a model into the candle engine.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Where to compute.
    pub device: DeviceChoice,
    /// Compute dtype (weights are converted on load).
    pub dtype: WeightDType,
}

/// A loaded model, ready to run requests.
pub struct CandleLlm {
    network: qwen::Qwen,
    prompts: PromptBuilder,
    device: Device,
    max_positions: usize,
    shape: qwen::Shape,
    act_bytes: usize,
    weight_bytes: u64,
    info: EngineInfo,
}

impl CandleLlm {
    /// Load the model in `resolved.dir`: config.json, tokenizer.json, *.safetensors.
    pub fn load(
        spec: &str,
        resolved: &ResolvedModel,
        options: &LoadOptions,
    ) -> Result<Self, Error> {
        let start = Instant::now();
        let dir = resolved.dir.as_path();
        let config = ArchConfig::read(dir)?;
        let tokenizer = load_tokenizer(dir)?;
        let device = device::open(options.device)?;
        let dtype = candle_dtype(options.dtype);
        let files = model::safetensors_files(dir)?;
        // SAFETY: the files are mapped read-only; bench does not modify model folders while
        // they are loaded, and candle copies each tensor out of the map when it builds it.
        let tensors = unsafe { candle_core::safetensors::MmapedSafetensors::multi(&files) }
            .map_err(|e| Error::ModelFile {
                path: files.first().cloned().unwrap_or_else(|| dir.to_path_buf()),
                reason: format!("not a readable safetensors file: {e}"),
            })?;
        let parameters = tensors
            .tensors()
            .iter()
            .map(|(_, view)| view.shape().iter().product::<usize>() as u64)
            .sum();
        let vb = VarBuilder::from_backend(Box::new(tensors), dtype, device.clone());
        let mismatch = |e: candle_core::Error| Error::WeightsMismatch {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        };
        let act = qwen::activation_dtype(dtype, &device);
        let shape = qwen::Shape::of(&config);
        let weight_bytes = parameters * dtype.size_in_bytes() as u64;
        let mut network = qwen::Qwen::load(&shape, vb, act).map_err(|e| {
            device::out_of_memory_or(
                e,
                &device,
                || format!("the weights need {:.1} GB", weight_bytes as f64 / 1e9),
                mismatch,
            )
        })?;
        if network.fused_softmax() {
            // The kernel is compiled at run time: check it once against the unfused path.
            match causal_softmax::difference_from_unfused(&device, act) {
                Ok(diff) if diff < 1e-2 => {}
                Ok(diff) => {
                    tracing::warn!("the fused causal softmax differs by {diff} from mask-then-softmax on this GPU; using the unfused path");
                    network.set_fused_softmax(false);
                }
                Err(e) => {
                    tracing::warn!(
                        "the fused causal softmax is unavailable ({e}); using the unfused path"
                    );
                    network.set_fused_softmax(false);
                }
            }
        }
        // Compiled at run time and untestable without a GPU: checked here against plain
        // attention, kernel by kernel.
        network.set_flash_attention(flash_attention::choose(
            &device,
            act,
            shape.head_dim,
            "prefills materialize the scores",
        ));
        if tokenizer.get_vocab_size(true) > config.vocab_size() {
            return Err(Error::ModelFile {
                path: dir.join("tokenizer.json"),
                reason: format!(
                    "the tokenizer has {} tokens but config.json's vocab_size is {}",
                    tokenizer.get_vocab_size(true),
                    config.vocab_size()
                ),
            });
        }
        let info = EngineInfo {
            engine: "candle",
            versions: vec![
                ("bench-workloads".into(), env!("CARGO_PKG_VERSION").into()),
                ("candle-core".into(), env!("BENCH_CANDLE_VERSION").into()),
            ],
            device: device::describe(&device),
            dtype: options.dtype.to_string(),
            threads: device.is_cpu().then(candle_core::utils::get_num_threads),
            model: ModelInfo {
                spec: spec.to_string(),
                dir: dir.to_path_buf(),
                source: resolved.source.clone(),
                architecture: config.architecture(),
                parameters,
                digest: model::folder_digest(dir)?,
            },
            open_s: 0.0,
            cluster: None,
            matmul_flops: None,
            kernels: vec![("prefill attention".into(), network.prefill_attention())],
        };
        let mut engine = Self {
            network,
            prompts: PromptBuilder::new(tokenizer),
            device,
            max_positions: config.max_positions(),
            shape,
            act_bytes: act.size_in_bytes(),
            weight_bytes,
            info,
        };
        engine.info.open_s = start.elapsed().as_secs_f64();
        Ok(engine)
    }

    /// Logits of the last position after a prefill of `ids` (the KV cache is cleared before
    /// and after; the model returns them as f32): for checking that a folder computes what it should.
    pub fn last_logits(&mut self, ids: &[u32]) -> Result<Vec<f32>, Error> {
        self.network.reset_kv_cache(ids.len());
        let input = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let logits = self.network.forward(&input, 0)?;
        self.network.reset_kv_cache(0);
        Ok(logits.i((0, 0))?.to_vec1::<f32>()?)
    }

    fn next_token(&self, logits: &Tensor) -> candle_core::Result<u32> {
        // (batch, 1, vocab) → the id of the largest logit; reading it back to the host also
        // waits for the device, so the timestamp taken after it is honest on GPUs.
        logits.i((0, 0))?.argmax(0)?.to_scalar::<u32>()
    }
}

pub(crate) fn load_tokenizer(dir: &Path) -> Result<Tokenizer, Error> {
    let path = dir.join("tokenizer.json");
    if !path.is_file() {
        return Err(Error::ModelFile {
            path,
            reason: "missing; the candle engine needs the model's tokenizer.json".into(),
        });
    }
    Tokenizer::from_file(&path).map_err(|e| Error::ModelFile {
        path,
        reason: format!("the tokenizer does not load: {e}"),
    })
}

impl LlmEngine for CandleLlm {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn generate(&mut self, request: &LlmRequest) -> Result<LlmMeasurement, Error> {
        match self.measure(request) {
            Err(Error::Compute(e)) => {
                // Free the cache sized for the request before the next one.
                self.network.reset_kv_cache(0);
                let prompt_tokens = match &request.prompt {
                    PromptInput::Tokens(n) => *n,
                    PromptInput::Text(text) => self.prompts.count(text).unwrap_or(0),
                };
                let request_bytes = self.shape.request_bytes(
                    request.depth + prompt_tokens,
                    request.gen_tokens,
                    self.act_bytes,
                );
                let weights = self.weight_bytes;
                Err(device::out_of_memory_or(
                    e,
                    &self.device,
                    || {
                        let context = match request.depth {
                            0 => String::new(),
                            depth => format!("{depth} tokens of context + "),
                        };
                        format!(
                            "{context}{} prompt + {} generated tokens need about {:.1} GB (KV \
                             cache, attention scores, activations) beside the {:.1} GB of weights",
                            prompt_tokens,
                            request.gen_tokens,
                            request_bytes as f64 / 1e9,
                            weights as f64 / 1e9
                        )
                    },
                    Error::Compute,
                ))
            }
            other => other,
        }
    }

    fn count_tokens(&self, text: &str) -> Option<usize> {
        self.prompts.count(text).ok()
    }
}

/// A turn's ids (history and new message), the seconds spent building and tokenizing them,
/// and the new message's text.
type TurnIds = (Vec<u32>, f64, Option<std::sync::Arc<str>>);

impl CandleLlm {
    /// The ids of the context and the prompt of a request of its own: one text when bench
    /// builds the prompt to a length (so the prompt continues the context as a conversation
    /// would); a given text follows the context of the corpus.
    fn prompt_ids(&self, request: &LlmRequest) -> Result<(Vec<u32>, f64), Error> {
        let depth = request.depth;
        Ok(match &request.prompt {
            PromptInput::Tokens(n) => {
                let prompt = self.prompts.build(depth + n)?;
                (prompt.ids, prompt.tokenize_s)
            }
            PromptInput::Text(text) => {
                let mut ids = self.prompts.build(depth)?.ids;
                let prompt = self.prompts.encode(text)?;
                ids.extend(prompt.ids);
                (ids, prompt.tokenize_s)
            }
        })
    }

    /// The ids of a turn of a conversation: the earlier exchanges and the new message as one
    /// text (the whole history is prefilled again: no KV cache carries over between turns),
    /// with the new message's text. A message built to a length takes its own corpus
    /// variant per turn.
    fn conversation_ids(
        &self,
        request: &LlmRequest,
        history: &[crate::engine::Exchange],
    ) -> Result<TurnIds, Error> {
        let (user, built_s): (std::sync::Arc<str>, f64) = match &request.prompt {
            PromptInput::Tokens(n) => {
                let prompt = self.prompts.build_variant(*n, history.len() as u64)?;
                (self.prompts.decode(&prompt.ids)?.into(), prompt.tokenize_s)
            }
            PromptInput::Text(text) => (text.clone(), 0.0),
        };
        let whole = crate::conversation::text(history, &user);
        let prompt = self.prompts.encode(&whole)?;
        Ok((prompt.ids, built_s + prompt.tokenize_s, Some(user)))
    }

    /// One measured request (see [`LlmEngine::generate`]).
    fn measure(&mut self, request: &LlmRequest) -> Result<LlmMeasurement, Error> {
        let (gen_tokens, depth) = (request.gen_tokens, request.depth);
        // The context and the prompt: one text when bench builds the prompt to a length (so
        // the prompt continues the context as a conversation would); a given text follows the
        // context of the corpus.
        let (ids, tokenize_s, user) = match &request.conversation {
            Some(history) => self.conversation_ids(request, history)?,
            None => {
                let (ids, tokenize_s) = self.prompt_ids(request)?;
                (ids, tokenize_s, None)
            }
        };
        let prompt_tokens = ids.len().saturating_sub(depth);
        if prompt_tokens == 0 || gen_tokens == 0 {
            return Err(Error::Config(
                "prompt and generation lengths must be at least 1".into(),
            ));
        }
        if depth + prompt_tokens + gen_tokens > self.max_positions {
            return Err(Error::Config(format!(
                "{depth} tokens of context + {prompt_tokens} prompt + {gen_tokens} generated tokens exceed the model's {} positions",
                self.max_positions
            )));
        }
        let peak_reset = memory::reset_peak();
        let device_peak_reset = memory::reset_device_peak(&self.device);
        // The context is prefilled first, unmeasured.
        let (context, measured) = ids.split_at(depth);
        self.network
            .reset_kv_cache(depth + prompt_tokens + gen_tokens);
        if depth > 0 {
            let input = Tensor::new(context, &self.device)?.unsqueeze(0)?;
            self.network.forward(&input, 0)?;
            self.device.synchronize()?;
        }

        let started = Instant::now();
        let input = Tensor::new(measured, &self.device)?.unsqueeze(0)?;
        let logits = self.network.forward(&input, depth)?;
        let mut next = self.next_token(&logits)?;
        let mut token_times_s = Vec::with_capacity(gen_tokens);
        token_times_s.push(started.elapsed().as_secs_f64());
        // A conversation's answer, for its next turn.
        let mut answer = Vec::with_capacity(if user.is_some() { gen_tokens } else { 0 });
        if user.is_some() {
            answer.push(next);
        }
        for position in depth + prompt_tokens..depth + prompt_tokens + gen_tokens - 1 {
            // An interrupt ends a long generation between tokens; it is not measured.
            if crate::cancel::is_requested() {
                self.network.reset_kv_cache(0);
                return Err(Error::Interrupted);
            }
            let input = Tensor::new(&[next], &self.device)?.unsqueeze(0)?;
            let logits = self.network.forward(&input, position)?;
            next = self.next_token(&logits)?;
            token_times_s.push(started.elapsed().as_secs_f64());
            if user.is_some() {
                answer.push(next);
            }
        }
        let e2e_s = started.elapsed().as_secs_f64();
        self.network.reset_kv_cache(0);
        let exchange = match user {
            Some(user) => Some(crate::engine::Exchange {
                user,
                assistant: self.prompts.decode(&answer)?.into(),
            }),
            None => None,
        };

        Ok(LlmMeasurement {
            started,
            prompt_tokens,
            output_tokens: token_times_s.len(),
            token_count_source: TokenCountSource::Engine,
            tokenize_s,
            token_times_s,
            e2e_s,
            peak_memory: memory::read_peak(peak_reset),
            device_peak_memory: memory::read_device_peak(&self.device, device_peak_reset),
            server: None,
            exchange,
        })
    }
}
