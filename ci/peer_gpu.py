#!/usr/bin/env python3
"""PyTorch on the same NVIDIA GPU as bench's candle engine, on the same model configs.

Started by ci/gpu-run.sh on the GPU machine, after bench has synthesized the model folders
(their config.json files are what both sides build from). Directly:

    python ci/peer_gpu.py qwen --model DIR [--model DIR ...] --out qwen.json
    python ci/peer_gpu.py flux --model DIR --out flux.json [--steps-timed 10]
    python ci/peer_gpu.py matmul --out matmul.json
    python ci/peer_gpu.py serve --model DIR [--port 8100]   # an OpenAI-compatible server

Weights are random (normal, PyTorch's own init, made on the GPU); speed does not depend on
their values. Everything is bf16 with `attn_implementation="sdpa"` (flash attention kernels
where PyTorch picks them), eager: no torch.compile, no CUDA graphs.

What is measured, by bench's definitions (docs/metrics.md):
  qwen, per model and prompt length L (512, 2,048, 8,192), 128 generated tokens:
    * ttft_s: one forward pass over the L-token prompt with an empty cache, computing the
      logits of the last position only (`logits_to_keep=1`, as bench's engine does), and the
      greedy first token on the host. Timed on the host clock after a device synchronize.
    * decode_tps (`generate`): transformers' `generate` (greedy, exactly 128 new tokens);
      a streamer stamps each token's arrival on the host; decode_tps = (tokens - 1) /
      (last token - first token). `generate_ttft_s` is its first token's time.
    * decode_tps_static: the same with `cache_implementation="static"` (Qwen3-8B at 2,048 only,
      with --static-cache: transformers compiles the model for it, which takes minutes).
    * peak_memory_bytes: torch.cuda.max_memory_allocated over the case.
    One warm-up, then --repetitions measured runs (default 5); medians and all values kept.
  flux, from the folder's transformer/config.json and vae/config.json (diffusers layout):
    * step_s: one transformer forward at 1024x1024 (4,096 image tokens + T5 tokens: 512 for
      dev, 256 for schnell, as bench pads them; guidance embedded when the config has it),
      CUDA-event median of --steps-timed runs after 3 warm-ups.
    * vae_decode_s: the autoencoder decoding a 128x128x16 latent to 1024x1024, CUDA-event median.
  serve: transformers' `generate` behind a minimal OpenAI-compatible `/v1/completions` (streamed,
    one token per chunk, `usage` at the end; `ignore_eos` honoured with `min_new_tokens`), so
    that `bench run suites/gpu-qwen-vs-pytorch.toml` measures PyTorch with bench's own client
    beside bench's candle engine, in one run. One request at a time.
  matmul: an 8192^3 bf16 product through torch.matmul (cuBLAS), best of 20: the peer's figure
    for the card's bf16 matrix rate, beside `bench calibrate`'s.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

FIRST_SPECIAL_ID = 151643  # Qwen: <|endoftext|>; prompt ids stay below it
DEVICE = "cuda"  # `--device cpu` smoke-tests this script on tiny models without a GPU
# transformers 5 compiles the model (torch.compile) for a static cache: minutes on an H100
# (2026-12-06, it outlived a 90 s limit), so it is off unless --static-cache.
STATIC_CACHE = False
PROMPTS = (512, 2048, 8192)
GEN_TOKENS = 128


def log(msg: str) -> None:
    print(f"[peer_gpu {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def peak_memory() -> int | None:
    return torch.cuda.max_memory_allocated() if DEVICE == "cuda" else None


def reset_peak_memory() -> None:
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()


def environment() -> dict:
    env = {"device": DEVICE}
    if DEVICE == "cuda":
        props = torch.cuda.get_device_properties(0)
        env.update({
            "gpu": props.name,
            "gpu_memory_bytes": props.total_memory,
            "compute_capability": f"{props.major}.{props.minor}",
        })
    env.update({
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
    })
    for name in ("transformers", "diffusers"):
        try:
            env[name] = __import__(name).__version__
        except ImportError:
            pass
    return env


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ===================================================================================== Qwen
class Stamps:
    """A transformers streamer that records when each generated token reaches the host."""

    def __init__(self) -> None:
        self.prompt_seen = False
        self.times: list[float] = []

    def put(self, value) -> None:  # noqa: ANN001 (a tensor of token ids)
        if not self.prompt_seen:  # generate() first puts the prompt
            self.prompt_seen = True
            return
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def qwen_model(folder: Path):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(folder)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(DEVICE):
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    torch.set_default_dtype(torch.float32)
    model.eval()
    model.generation_config.pad_token_id = config.eos_token_id
    return model, config


def prompt_ids(length: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, FIRST_SPECIAL_ID, (1, length), generator=g)
    return ids.to(DEVICE)


@torch.inference_mode()
def time_prefill(model, ids: torch.Tensor) -> float:
    sync()
    start = time.perf_counter()
    out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    out.logits[:, -1].argmax(-1).item()  # the first token on the host
    return time.perf_counter() - start


@torch.inference_mode()
def time_generate(model, ids: torch.Tensor, cache: str | None) -> dict:
    stamps = Stamps()
    extra = {"cache_implementation": cache} if cache else {}
    sync()
    start = time.perf_counter()
    model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=GEN_TOKENS,
        min_new_tokens=GEN_TOKENS,
        do_sample=False,
        streamer=stamps,
        **extra,
    )
    times = [t - start for t in stamps.times]
    decode_s = times[-1] - times[0]
    return {
        "ttft_s": times[0],
        "output_tokens": len(times),
        "decode_tps": (len(times) - 1) / decode_s if decode_s > 0 else float("nan"),
    }


def run_qwen(folders: list[Path], repetitions: int, prompts: tuple[int, ...]) -> list[dict]:
    cases = []
    for folder in folders:
        log(f"building {folder.name} on the GPU")
        model, config = qwen_model(folder)
        params = sum(p.numel() for p in model.parameters())
        for length in prompts:
            if length + GEN_TOKENS > config.max_position_embeddings:
                continue
            reset_peak_memory()
            prefill, generated = [], []
            for rep in range(repetitions + 1):
                ids = prompt_ids(length, seed=1000 * length + rep)
                t = time_prefill(model, ids)
                g = time_generate(model, ids, None)
                if rep > 0:  # the first is the warm-up
                    prefill.append(t)
                    generated.append(g)
            case = {
                "model": folder.name,
                "parameters": params,
                "prompt_tokens": length,
                "gen_tokens": GEN_TOKENS,
                "ttft_s": median_of(prefill),
                "ttft_s_all": prefill,
                "generate_ttft_s": median_of([g["ttft_s"] for g in generated]),
                "decode_tps": median_of([g["decode_tps"] for g in generated]),
                "decode_tps_all": [g["decode_tps"] for g in generated],
                "output_tokens": [g["output_tokens"] for g in generated],
                "peak_memory_bytes": peak_memory(),
            }
            if STATIC_CACHE and config.num_hidden_layers == 36 and config.hidden_size == 4096 and length == 2048:
                static = [time_generate(model, prompt_ids(length, 7 + r), "static") for r in range(4)]
                case["decode_tps_static"] = median_of([g["decode_tps"] for g in static[1:]])
                case["decode_tps_static_all"] = [g["decode_tps"] for g in static[1:]]
            log(
                f"{folder.name} @ {length}: ttft {case['ttft_s'] * 1e3:.1f} ms, "
                f"decode {case['decode_tps']:.1f} tok/s"
                + (f" (static cache {case['decode_tps_static']:.1f})" if "decode_tps_static" in case else "")
            )
            cases.append(case)
        del model
        if DEVICE == "cuda":
            torch.cuda.empty_cache()
    return cases


# ===================================================================================== FLUX
def cuda_median(fn, runs: int, warmup: int) -> tuple[float, list[float]]:
    for _ in range(warmup):
        fn()
    times = []
    if DEVICE != "cuda":
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times), times
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times), times


@torch.inference_mode()
def run_flux(folder: Path, steps_timed: int, size: int) -> dict:
    from diffusers import AutoencoderKL, FluxTransformer2DModel

    transformer_cfg = json.loads((folder / "transformer/config.json").read_text())
    vae_cfg = json.loads((folder / "vae/config.json").read_text())
    log(f"building {folder.name}'s transformer on the GPU")
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(DEVICE):
        transformer = FluxTransformer2DModel.from_config(transformer_cfg)
    torch.set_default_dtype(torch.float32)
    transformer.eval()
    params = sum(p.numel() for p in transformer.parameters())
    # T5 tokens as the real pipelines pad them: 512 for dev (guidance-distilled), 256 for schnell.
    image_tokens = (size // 16) ** 2
    text_tokens = 512 if transformer_cfg.get("guidance_embeds") else 256
    dev = {"device": DEVICE, "dtype": torch.bfloat16}
    g = torch.Generator(device=DEVICE).manual_seed(0)
    inputs = {
        "hidden_states": torch.randn(1, image_tokens, transformer_cfg["in_channels"], generator=g, **dev),
        "encoder_hidden_states": torch.randn(1, text_tokens, transformer_cfg["joint_attention_dim"], generator=g, **dev),
        "pooled_projections": torch.randn(1, transformer_cfg["pooled_projection_dim"], generator=g, **dev),
        "timestep": torch.tensor([1.0], **dev),
        "img_ids": torch.zeros(image_tokens, 3, **dev),
        "txt_ids": torch.zeros(text_tokens, 3, **dev),
        "return_dict": False,
    }
    if transformer_cfg.get("guidance_embeds"):
        inputs["guidance"] = torch.tensor([3.5], **dev)
    reset_peak_memory()
    step_s, step_all = cuda_median(lambda: transformer(**inputs), steps_timed, 3)
    step_peak = peak_memory()
    log(f"{folder.name}: step {step_s * 1e3:.1f} ms ({params / 1e9:.2f} B parameters)")
    del transformer, inputs
    if DEVICE == "cuda":
        torch.cuda.empty_cache()

    torch.set_default_dtype(torch.bfloat16)
    with torch.device(DEVICE):
        vae = AutoencoderKL.from_config(vae_cfg)
    torch.set_default_dtype(torch.float32)
    vae.eval()
    latent = torch.randn(1, vae_cfg["latent_channels"], size // 8, size // 8, **dev)
    # A failing decode must not lose the step figure measured above.
    try:
        vae_s, vae_all = cuda_median(lambda: vae.decode(latent, return_dict=False), 5, 2)
        log(f"{folder.name}: VAE decode {vae_s * 1e3:.1f} ms")
        vae_error = None
    except RuntimeError as e:
        vae_s, vae_all, vae_error = None, [], str(e)
        log(f"{folder.name}: VAE decode failed: {e}")
    del vae
    return {
        "model": folder.name,
        "transformer_parameters": params,
        "image_tokens": image_tokens,
        "text_tokens": text_tokens,
        "step_s": step_s,
        "step_s_all": step_all,
        "step_peak_memory_bytes": step_peak,
        "vae_decode_s": vae_s,
        "vae_decode_s_all": vae_all,
        "vae_decode_error": vae_error,
    }


# ==================================================================================== serve
class QueueStreamer:
    """Hands each generated token id to the HTTP handler as it reaches the host."""

    def __init__(self) -> None:
        import queue

        self.queue: queue.Queue = queue.Queue()
        self.prompt_seen = False

    def put(self, value) -> None:  # noqa: ANN001
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self.queue.put(token)

    def end(self) -> None:
        self.queue.put(None)


def serve(folder: Path, port: int) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from transformers import AutoTokenizer

    model, _ = qwen_model(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    name = folder.name
    one_at_a_time = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the body ends when the connection closes

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

        def reply_json(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self.reply_json(200, {"object": "list", "data": [{"id": name, "object": "model"}]})
            else:
                self.reply_json(404, {"error": f"no {self.path}"})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/completions":
                self.reply_json(404, {"error": f"no {self.path}"})
                return
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            ids = tokenizer(request["prompt"], return_tensors="pt").input_ids.to(DEVICE)
            max_tokens = int(request.get("max_tokens", 16))
            streamer = QueueStreamer()
            with one_at_a_time:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                worker = threading.Thread(
                    target=lambda: torch.inference_mode()(model.generate)(
                        input_ids=ids,
                        attention_mask=torch.ones_like(ids),
                        max_new_tokens=max_tokens,
                        min_new_tokens=max_tokens if request.get("ignore_eos") else 0,
                        do_sample=False,
                        streamer=streamer,
                    )
                )
                worker.start()
                produced = 0
                while (token := streamer.queue.get()) is not None:
                    produced += 1
                    chunk = {"object": "text_completion", "model": name, "choices": [
                        {"index": 0, "text": tokenizer.decode([token]), "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                worker.join()
                usage = {"prompt_tokens": ids.shape[1], "completion_tokens": produced,
                         "total_tokens": ids.shape[1] + produced}
                last = {"object": "text_completion", "model": name, "choices": [
                    {"index": 0, "text": "", "finish_reason": "length"}], "usage": usage}
                self.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    log(f"serving {name} on http://127.0.0.1:{port}/v1/completions")
    server.serve_forever()


# =================================================================================== matmul
@torch.inference_mode()
def run_matmul(n: int = 8192) -> dict:
    a = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=DEVICE, dtype=torch.bfloat16)
    _, times = cuda_median(lambda: a @ b, 20, 5)
    best = min(times)
    return {"n": n, "dtype": "bf16", "best_s": best, "tflops": 2 * n**3 / best / 1e12}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["qwen", "flux", "matmul", "serve"])
    ap.add_argument("--port", type=int, default=8100)
    ap.add_argument("--model", type=Path, action="append", default=[])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--prompts", default=",".join(map(str, PROMPTS)))
    ap.add_argument("--steps-timed", type=int, default=10)
    ap.add_argument("--flux-size", type=int, default=1024, help="image side in pixels")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--static-cache", action="store_true")
    ap.add_argument("--matmul-n", type=int, default=8192)
    args = ap.parse_args()
    global DEVICE, STATIC_CACHE
    DEVICE = args.device
    STATIC_CACHE = args.static_cache
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("peer_gpu: no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    if args.part == "serve":
        serve(args.model[0], args.port)
        return 0
    if args.out is None:
        ap.error("--out is needed")
    result: dict = {"environment": environment(), "part": args.part}
    if args.part == "qwen":
        prompts = tuple(int(p) for p in args.prompts.split(","))
        result["cases"] = run_qwen(args.model, args.repetitions, prompts)
    elif args.part == "flux":
        result["cases"] = [run_flux(folder, args.steps_timed, args.flux_size) for folder in args.model]
    else:
        result["matmul"] = run_matmul(args.matmul_n)
        log(f"bf16 8192^3 matmul: {result['matmul']['tflops']:.0f} TFLOP/s")
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
