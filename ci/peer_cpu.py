#!/usr/bin/env python3
"""Side-by-side CPU comparison of real peer engines (and bench) on ONE HF-layout model folder.

Normally started by ci/peer-cpu.sh, which prepares the venv. Directly:

    python ci/peer_cpu.py MODEL_DIR [--bench BIN] [--trials N] [--out results.json] ...
    python ci/peer_cpu.py --synth DIR      # write a Qwen3-0.6B-shaped folder with random weights

What is measured, per peer, on the same folder and the same token ids:
  * prefill_s @ L: one forward pass over an L-token prompt with an empty cache, producing the
    logits of the last position and the greedy first token (= time to first token, in-process,
    no tokenization). L = 128, 512, 2048 by default. Prompts are seeded random ids below the
    first special token, different per trial and per length, identical across peers.
  * decode_tps: greedy generation of --decode-tokens tokens (default 64, end-of-sequence ignored)
    after a 128-token prompt; decode_tps = (tokens - 1) / (t_last_token - t_first_token), the
    same definition bench uses.
Trials are interleaved (every peer does a cell, then the next cell, ...; the peer order rotates
each trial) after one unmeasured warm-up per peer. Each cell reports the median and the best
(min time, max rate) over the trials.

Every peer runs in its own worker process (its own thread pools, 2 threads), driven one at a
time over a pipe, so that only one engine computes at any moment.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIRST_SPECIAL_ID = 151643  # Qwen: <|endoftext|>; prompt ids stay below it

PEERS = {
    # name: (engine, dtype, install-status keys it needs)
    "torch-fp32": ("pytorch+transformers", "fp32", ["torch", "transformers"]),
    "torch-bf16": ("pytorch+transformers", "bf16", ["torch", "transformers"]),
    "llama-bf16": ("llama.cpp (llama-cpp-python)", "bf16", ["llama-cpp-python", "torch", "transformers"]),
    "llama-f32": ("llama.cpp (llama-cpp-python)", "f32", ["llama-cpp-python", "torch", "transformers"]),
    "mlx-bf16": ("mlx-lm (mlx[cpu])", "bf16", ["mlx", "mlx-lm"]),
}
DEFAULT_PEERS = "torch-fp32,torch-bf16,llama-bf16,llama-f32,mlx-bf16"


def log(msg: str) -> None:
    print(f"[peer_cpu {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ============================================================================ model synthesis
QWEN3_0_6B = {
    "architectures": ["Qwen3ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
    "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
    "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
    "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
    "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
    "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 1000000, "sliding_window": None,
    "tie_word_embeddings": True, "torch_dtype": "bfloat16", "transformers_version": "4.51.0",
    "use_cache": True, "use_sliding_window": False, "vocab_size": 151936,
}
QWEN_SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
    "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>", "<think>", "</think>",
]
QWEN_SPLIT_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                    r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def _bytes_to_unicode() -> list[str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    m = dict(zip(bs, cs))
    return [chr(m[b]) for b in range(256)]


def synth_tokenizer(vocab_size: int) -> dict:
    """A byte-level BPE tokenizer.json with Qwen's pre-tokenizer, FIRST_SPECIAL_ID regular tokens
    (256 bytes + deterministic merges), Qwen's special tokens at their real ids, and added padding
    tokens up to vocab_size so that every id the model can emit decodes."""
    alphabet = _bytes_to_unicode()
    vocab: dict[str, int] = {c: i for i, c in enumerate(alphabet)}
    tokens = list(alphabet)
    merges: list[str] = []
    # Two-byte tokens, then (two-byte, byte) three-byte tokens, until the regular range is full.
    for a in alphabet:
        for b in alphabet:
            if len(tokens) >= FIRST_SPECIAL_ID:
                break
            t = a + b
            vocab[t] = len(tokens); tokens.append(t); merges.append(f"{a} {b}")
    i = 256
    while len(tokens) < FIRST_SPECIAL_ID:
        a = tokens[i]
        for b in alphabet:
            if len(tokens) >= FIRST_SPECIAL_ID:
                break
            t = a + b
            if t not in vocab:
                vocab[t] = len(tokens); tokens.append(t); merges.append(f"{a} {b}")
        i += 1
    specials = QWEN_SPECIALS + [f"<|pad_{k}|>" for k in range(vocab_size - FIRST_SPECIAL_ID - len(QWEN_SPECIALS))]
    added = []
    for k, s in enumerate(specials):
        vid = FIRST_SPECIAL_ID + k
        vocab[s] = vid
        added.append({"id": vid, "content": s, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False,
                      "special": not s.startswith("<tool") and not s.startswith("</tool") and "think" not in s})
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN_SPLIT_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": merges},
    }


def synth_model(out: Path, seed: int = 0) -> None:
    """Qwen3-0.6B shapes, seeded random bf16 weights (std 0.02), norms 1, tied embeddings.
    Needs numpy only; writes the safetensors file by hand (BF16 = top half of the fp32 bits,
    rounded to nearest even)."""
    import numpy as np

    cfg = dict(QWEN3_0_6B)
    out.mkdir(parents=True, exist_ok=True)
    h, inter, nl = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    hd, nh, nkv, V = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["vocab_size"]
    shapes: list[tuple[str, tuple[int, ...]]] = [("model.embed_tokens.weight", (V, h))]
    for i in range(nl):
        p = f"model.layers.{i}."
        shapes += [
            (p + "input_layernorm.weight", (h,)), (p + "post_attention_layernorm.weight", (h,)),
            (p + "self_attn.q_proj.weight", (nh * hd, h)), (p + "self_attn.k_proj.weight", (nkv * hd, h)),
            (p + "self_attn.v_proj.weight", (nkv * hd, h)), (p + "self_attn.o_proj.weight", (h, nh * hd)),
            (p + "self_attn.q_norm.weight", (hd,)), (p + "self_attn.k_norm.weight", (hd,)),
            (p + "mlp.gate_proj.weight", (inter, h)), (p + "mlp.up_proj.weight", (inter, h)),
            (p + "mlp.down_proj.weight", (h, inter)),
        ]
    shapes.append(("model.norm.weight", (h,)))
    header: dict = {"__metadata__": {"format": "pt"}}
    off = 0
    for name, shp in shapes:
        n = int(np.prod(shp)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shp), "data_offsets": [off, off + n]}
        off += n
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    rng = np.random.default_rng(seed)
    tmp = out / "model.safetensors.tmp"
    with open(tmp, "wb") as f:
        f.write(len(hb).to_bytes(8, "little"))
        f.write(hb)
        for name, shp in shapes:
            if "norm" in name:
                a = np.ones(shp, dtype=np.float32)
            else:
                a = rng.standard_normal(shp, dtype=np.float32) * np.float32(0.02)
            u = a.view(np.uint32)
            bf = ((u + np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1))) >> 16).astype("<u2")
            f.write(bf.tobytes())
    tmp.rename(out / "model.safetensors")
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    (out / "generation_config.json").write_text(json.dumps(
        {"bos_token_id": 151643, "eos_token_id": [151645, 151643], "do_sample": False}, indent=2))
    (out / "tokenizer.json").write_text(json.dumps(synth_tokenizer(V), ensure_ascii=False))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 40960,
        "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
        "unk_token": None, "add_bos_token": False, "add_prefix_space": False,
        "clean_up_tokenization_spaces": False, "errors": "replace"}, indent=2))
    log(f"wrote {out} ({off / 1e9:.2f} GB of bf16 weights)")


# ============================================================================ workers
def _emit(obj: dict) -> None:
    sys.__stdout__.write(json.dumps(obj) + "\n")
    sys.__stdout__.flush()


class TorchPeer:
    def __init__(self, model_dir: str, dtype: str, threads: int):
        import torch
        torch.set_num_threads(threads)
        import transformers
        from transformers import AutoModelForCausalLM
        self.torch = torch
        td = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
        try:
            self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=td)
        except TypeError:
            self.model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=td)
        self.model.eval()
        assert next(self.model.parameters()).dtype == td
        import inspect
        params = inspect.signature(self.model.forward).parameters
        # transformers >= 5.2x renames past_key_values to cache (the old name warns, then goes).
        self.cache_kw = "cache" if "cache" in params else "past_key_values"
        self.kw = {"logits_to_keep": 1}
        with torch.inference_mode():
            try:
                self.model(input_ids=torch.tensor([[1, 2]]), use_cache=True, **self.kw)
            except TypeError:
                self.kw = {"num_logits_to_keep": 1}
        self.info = {"torch": torch.__version__, "transformers": transformers.__version__,
                     "threads": torch.get_num_threads(),
                     "attn_implementation": getattr(self.model.config, "_attn_implementation", None)}

    @staticmethod
    def _cache(out):
        c = getattr(out, "cache", None)
        return c if c is not None else out.past_key_values

    def generate(self, ids: list[int], n: int) -> tuple[list[float], list[int]]:
        torch = self.torch
        times, toks = [], []
        with torch.inference_mode():
            x = torch.tensor([ids], dtype=torch.long)
            t0 = time.perf_counter()
            out = self.model(input_ids=x, use_cache=True, **self.kw)
            tok = int(out.logits[0, -1].argmax())
            times.append(time.perf_counter() - t0); toks.append(tok)
            past = self._cache(out)
            for _ in range(n - 1):
                out = self.model(input_ids=torch.tensor([[tok]]), use_cache=True, **{self.cache_kw: past}, **self.kw)
                past = self._cache(out)
                tok = int(out.logits[0, -1].argmax())
                times.append(time.perf_counter() - t0); toks.append(tok)
        return times, toks


class LlamaPeer:
    def __init__(self, gguf: str, threads: int, n_ctx: int):
        import llama_cpp
        import numpy as np
        self.np = np
        self.llm = llama_cpp.Llama(model_path=gguf, n_ctx=n_ctx, n_batch=2048, n_ubatch=512,
                                   n_threads=threads, n_threads_batch=threads, verbose=False, seed=0)
        self.info = {"llama_cpp_python": llama_cpp.__version__, "threads": threads, "n_ctx": n_ctx,
                     "n_batch": 2048, "n_ubatch": 512, "gguf": gguf,
                     "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip()}

    def _argmax_last(self) -> int:
        import llama_cpp
        ptr = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return int(self.np.ctypeslib.as_array(ptr, shape=(self.llm.n_vocab(),)).argmax())

    def generate(self, ids: list[int], n: int) -> tuple[list[float], list[int]]:
        llm = self.llm
        llm.reset()  # n_tokens = 0: eval() then drops every cached position
        times, toks = [], []
        t0 = time.perf_counter()
        llm.eval(ids)
        tok = self._argmax_last()
        times.append(time.perf_counter() - t0); toks.append(tok)
        for _ in range(n - 1):
            llm.eval([tok])
            tok = self._argmax_last()
            times.append(time.perf_counter() - t0); toks.append(tok)
        return times, toks


class MlxPeer:
    def __init__(self, model_dir: str):
        import mlx.core as mx
        mx.set_default_device(mx.cpu)
        import mlx_lm
        from mlx_lm import load
        from mlx_lm.generate import generate_step
        self.mx, self.generate_step = mx, generate_step
        self.model, _tok = load(model_dir)
        try:
            from importlib.metadata import version
            v = {"mlx": version("mlx"), "mlx_lm": version("mlx-lm")}
        except Exception:  # noqa: BLE001
            v = {"mlx_lm": getattr(mlx_lm, "__version__", "?")}
        self.info = {**v, "device": str(mx.default_device()),
                     "path": "mlx_lm.generate.generate_step (greedy), the code mlx_lm.generate runs"}

    def generate(self, ids: list[int], n: int) -> tuple[list[float], list[int]]:
        mx = self.mx
        times, toks = [], []
        t0 = time.perf_counter()
        gen = self.generate_step(mx.array(ids), self.model, max_tokens=n)
        for tok, _ in gen:
            times.append(time.perf_counter() - t0); toks.append(int(tok))
            if len(toks) >= n:
                break
        gen.close()
        mx.synchronize()  # drain the step generate_step scheduled ahead (not timed)
        return times, toks


def gemm_peaks(threads: int, full_n: int) -> dict:
    import torch
    torch.set_num_threads(threads)
    res = {"threads": threads, "n": full_n, "torch": torch.__version__}
    for name, dt in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        # Probe at 512; shrink n where one n^3 GEMM would take over ~4 s (bf16 without native
        # bf16 instructions runs at a few GFLOP/s).
        p = torch.randn(512, 512).to(dt); torch.mm(p, p)
        t = time.perf_counter(); torch.mm(p, p); rate = 2 * 512 ** 3 / (time.perf_counter() - t)
        n = full_n
        while n > 512 and 2 * n ** 3 / rate > 4:
            n //= 2
        res[f"{name}_n"] = n
        a = torch.randn(n, n).to(dt)
        b = torch.randn(n, n).to(dt)
        t = time.perf_counter(); torch.mm(a, b); first = time.perf_counter() - t
        best, spent = float("inf"), 0.0
        for _ in range(4):  # up to 4 timed runs, fewer where one is slow (no native bf16, say)
            if first > 5 and spent > 0:
                break
            t = time.perf_counter(); torch.mm(a, b); dt_ = time.perf_counter() - t
            best = min(best, dt_); spent += dt_
            if spent > 15:
                break
        res[f"{name}_gflops"] = 2 * n ** 3 / best / 1e9
    return res


def worker_main(args: argparse.Namespace) -> None:
    # Keep stdout for the protocol: libraries that print go to stderr.
    sys.stdout = sys.stderr
    kind = args.worker
    t0 = time.perf_counter()
    try:
        if kind == "gemm":
            _emit({"ok": True, "gemm": gemm_peaks(args.threads, args.gemm_size)})
            return
        if kind.startswith("torch-"):
            peer = TorchPeer(args.model_dir, kind.split("-")[1], args.threads)
        elif kind.startswith("llama-"):
            peer = LlamaPeer(args.gguf, args.threads, args.n_ctx)
        elif kind.startswith("mlx-"):
            peer = MlxPeer(args.model_dir)
        else:
            raise ValueError(kind)
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        _emit({"ok": False, "error": f"load failed: {type(e).__name__}: {e}"})
        return
    _emit({"ok": True, "ready": True, "load_s": time.perf_counter() - t0, "info": peer.info})
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("op") == "quit":
            break
        try:
            times, toks = peer.generate(req["ids"], int(req["n"]))
            _emit({"ok": True, "times": times, "tokens": toks})
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            _emit({"ok": False, "error": f"{type(e).__name__}: {e}"})


class Worker:
    """A peer in its own process; one request at a time."""

    def __init__(self, name: str, argv: list[str], logdir: Path, env: dict | None = None):
        self.name = name
        self.logf = open(logdir / f"{name}.log", "w")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.logf, text=True, bufsize=1, env=env)
        self.error: str | None = None
        self.info: dict = {}
        self.load_s: float | None = None

    def read(self, timeout: float) -> dict:
        import select
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise TimeoutError(f"{self.name}: no answer in {timeout:.0f} s")
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}: worker exited (rc={self.p.poll()}); see {self.logf.name}")
        return json.loads(line)

    def request(self, ids: list[int], n: int, timeout: float) -> dict:
        self.p.stdin.write(json.dumps({"op": "generate", "ids": ids, "n": n}) + "\n")
        self.p.stdin.flush()
        return self.read(timeout)

    def close(self) -> None:
        try:
            if self.p.poll() is None:
                self.p.stdin.write('{"op": "quit"}\n'); self.p.stdin.flush()
                self.p.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.p.kill(); self.p.wait()
        if not self.logf.closed:
            self.logf.close()


# ============================================================================ GGUF conversion
def find_converter(cache: Path) -> Path:
    """convert_hf_to_gguf.py vendored in llama-cpp-python's sdist (same llama.cpp revision as the
    installed build), with the gguf-py next to it."""
    import llama_cpp
    ver = llama_cpp.__version__
    root = cache / f"llama-cpp-python-{ver}"
    conv = root / "vendor/llama.cpp/convert_hf_to_gguf.py"
    if conv.exists():
        return conv
    with tempfile.TemporaryDirectory() as td:
        # peer-cpu.sh keeps the sdist it built llama-cpp-python from in <venv>/src.
        tars = list((Path(sys.prefix) / "src").glob(f"llama_cpp_python-{ver}.tar.gz"))
        if not tars:
            log(f"fetching llama-cpp-python {ver} sdist for its vendored convert_hf_to_gguf.py")
            # Source for llama-cpp-python only: `:all:` would build its build tools from source.
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "llama-cpp-python",
                            f"llama-cpp-python=={ver}", "-d", td],
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            tars = list(Path(td).glob("llama_cpp_python-*.tar.gz"))
        if not tars:
            raise RuntimeError(f"could not find or download the llama-cpp-python {ver} sdist")
        with tarfile.open(tars[0]) as tf:
            # The converter script, the gguf-py beside it and (newer llama.cpp) its conversion/ package.
            members = [m for m in tf.getmembers()
                       if "/vendor/llama.cpp/" in m.name and (m.name.endswith("/vendor/llama.cpp/convert_hf_to_gguf.py")
                                                              or "/vendor/llama.cpp/gguf-py/" in m.name
                                                              or "/vendor/llama.cpp/conversion/" in m.name)]
            tf.extractall(td, members=members)
        src = next(Path(td).glob("llama_cpp_python-*"))
        dst = root / "vendor/llama.cpp"
        dst.mkdir(parents=True, exist_ok=True)
        for sub in ("gguf-py", "conversion"):
            if (src / "vendor/llama.cpp" / sub).is_dir():
                shutil.copytree(src / "vendor/llama.cpp" / sub, dst / sub, dirs_exist_ok=True)
        shutil.copy2(src / "vendor/llama.cpp/convert_hf_to_gguf.py", dst)  # last: marks completion
    return conv


def convert_main(conv: str, model_dir: str, outtype: str, outfile: str) -> None:
    """Run llama.cpp's converter in-process, forcing the pre-tokenizer to qwen2 when it does not
    recognize the (home-made) tokenizer's hash."""
    import importlib.util
    sys.path.insert(0, str(Path(conv).parent / "gguf-py"))
    sys.path.insert(0, str(Path(conv).parent))
    spec = importlib.util.spec_from_file_location("convert_hf_to_gguf", conv)
    m = importlib.util.module_from_spec(spec)
    sys.modules["convert_hf_to_gguf"] = m
    spec.loader.exec_module(m)
    base = sys.modules.get("conversion.base")  # newer llama.cpp: the model classes live there
    for owner in (base, m):
        cls = getattr(owner, "TextModel", None) or getattr(owner, "Model", None)
        if cls is not None and hasattr(cls, "get_vocab_base_pre"):
            orig = cls.get_vocab_base_pre

            def patched(self, tokenizer, _orig=orig):
                try:
                    return _orig(self, tokenizer)
                except NotImplementedError:
                    print("peer_cpu: unknown pre-tokenizer hash: forcing 'qwen2'", file=sys.stderr)
                    return "qwen2"
            cls.get_vocab_base_pre = patched
    sys.argv = ["convert_hf_to_gguf.py", model_dir, "--outtype", outtype, "--outfile", outfile]
    m.main()


def ensure_gguf(model_dir: Path, outtype: str, cache: Path, logdir: Path) -> tuple[Path, float]:
    st = model_dir / "model.safetensors"
    stamp = hashlib.sha1(f"{model_dir.resolve()}:{st.stat().st_mtime_ns if st.exists() else 0}".encode()).hexdigest()[:10]
    out = cache / f"{model_dir.name}-{stamp}-{outtype}.gguf"
    if out.exists():
        return out, 0.0
    conv = find_converter(cache)
    t = time.perf_counter()
    with open(logdir / f"convert-{outtype}.log", "w") as lf:
        rc = subprocess.run([sys.executable, __file__, "--_convert", str(conv), str(model_dir), outtype,
                             str(out) + ".tmp"], stdout=lf, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise RuntimeError(f"convert_hf_to_gguf failed (rc {rc}); see {logdir / f'convert-{outtype}.log'}")
    os.replace(str(out) + ".tmp", out)
    return out, time.perf_counter() - t


# ============================================================================ bench
def run_bench(bench: str, model_dir: Path, prompt_lens: list[int], decode_tokens: int, trials: int,
              workdir: Path) -> dict:
    """bench's own numbers: its in-process candle engine on the same folder, f32 and bf16
    weights (activations f32 on the CPU), through a generated suite. Prefill = bench's ttft_s
    (start of prefill to the first token, tokenization excluded), decode = its decode_tps on the
    128-token case. Read from the run's measurements.jsonl. Not interleaved with the peers:
    bench runs its targets one after the other after the peers."""
    suite = workdir / "peer-cpu-suite.toml"
    targets = "".join(f"""
[[target]]
name = "candle-cpu-{dt}"
engine = "candle"
model = "{model_dir.resolve()}"
device = "cpu"
dtype = "{dt}"
""" for dt in ("f32", "bf16"))
    suite.write_text(f"""# generated by ci/peer_cpu.py
[suite]
name = "peer-cpu"
repetitions = {trials}
warmup = 1

[power]
sampler = "none"
{targets}
[[workload]]
name = "ttft"
kind = "llm"
prompt_tokens = {json.dumps(prompt_lens)}
gen_tokens = {decode_tokens}
""")
    results = workdir / "bench-results"
    cmd = [bench, "run", "--quiet", "--json", "--results", str(results), str(suite)]
    log(f"bench: {' '.join(cmd)}")
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"bench exited {p.returncode}: {(p.stderr or p.stdout).strip()[-400:]}")
    summary = json.loads(p.stdout)
    run_dir = Path(summary["dir"])
    records = [json.loads(ln) for ln in (run_dir / "measurements.jsonl").read_text().splitlines() if ln.strip()]
    rows = []
    for dt in ("f32", "bf16"):
        mine = [r for r in records if r["target"] == f"candle-cpu-{dt}" and r["status"] == "ok"]
        prefill = {L: [r["metrics"]["ttft_s"] for r in mine if r["params"]["prompt_tokens"] == L]
                   for L in prompt_lens}
        shortest = min(prompt_lens)
        decode = [r["metrics"]["decode_tps"] for r in mine
                  if r["params"]["prompt_tokens"] == shortest and "decode_tps" in r["metrics"]]
        rows.append({"engine": "bench (candle, in-process)", "dtype": f"{dt} weights, f32 activations",
                     "status": "ok", "wall_s": time.perf_counter() - t,
                     "prefill": {str(L): cell(prefill[L], lower_is_better=True) for L in prompt_lens},
                     "decode_tps": cell(decode, lower_is_better=False),
                     "note": f"bench run {run_dir.name}; not interleaved with the peers"})
    return {"rows": rows, "suite": suite.read_text(), "command": cmd, "run_dir": str(run_dir)}


# ============================================================================ coordinator
def cell(values: list[float], lower_is_better: bool) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": statistics.median(values),
            "best": min(values) if lower_is_better else max(values),
            "min": min(values), "max": max(values), "values": values}


def prompt_ids(seed: int, length: int, trial: int, kind: str) -> list[int]:
    import random
    r = random.Random(f"{seed}:{kind}:{length}:{trial}")
    return [r.randrange(FIRST_SPECIAL_ID) for _ in range(length)]


def machine_info() -> dict:
    cpu = "?"
    flags = ""
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name") and cpu == "?":
                cpu = ln.split(":", 1)[1].strip()
            if ln.startswith("flags") and not flags:
                flags = ln
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(),
            "isa": [f for f in ("avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")
                    if f" {f} " in flags.replace("\n", " ") + " "],
            "loadavg_at_start": os.getloadavg(), "nice": os.nice(0)}


def fmt(c: dict, digits: int = 2) -> str:
    if not c or not c.get("n"):
        return "—"
    return f"{c['median']:.{digits}f} ({c['best']:.{digits}f})"


def markdown(res: dict) -> str:
    lens = res["params"]["prompt_lens"]
    g = res.get("gemm") or {}
    m = res["machine"]
    L = 512 if 512 in lens else lens[len(lens) // 2]
    out = [f"### CPU peers on `{res['model_dir']}` — {m['cpu']}, {m['cores']} cores "
           f"({', '.join(m.get('isa', [])) or 'no AVX2'}), {res['params']['threads']} threads",
           "",
           (f"Matmul peak (torch n×n×n GEMM, {g.get('threads')} threads): bf16 {g['bf16_gflops']:.1f} GFLOP/s (n={g.get('bf16_n')}), "
            f"fp32 {g['fp32_gflops']:.0f} GFLOP/s (n={g.get('fp32_n')})." if "bf16_gflops" in g else f"Matmul peak: not measured ({g.get('error', '?')})."),
           f"Trials: {res['params']['trials']} interleaved (+1 warm-up); load average at start "
           f"{', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}"
           + (f", at end {', '.join(f'{x:.2f}' for x in m['loadavg_at_end'])}" if m.get("loadavg_at_end") else "")
           + f" (1/5/15 min; {m['cores']} cores); nice {m['nice']}. "
           "Cells: median (best) — best = min time / max rate.",
           "",
           "| engine | dtype | " + " | ".join(f"prefill s @{n}" for n in lens) + f" | prefill tok/s @{L} | decode tok/s | note |",
           "|---|---|" + "---:|" * (len(lens) + 2) + "---|"]
    for r in res["rows"]:
        if r.get("status") != "ok":
            out.append(f"| {r['engine']} | {r['dtype']} | " + " | ".join("—" for _ in lens)
                       + f" | — | — | {r.get('error', r.get('status'))} |")
            continue
        pre = r["prefill"]
        c = pre.get(str(L), {})
        tps = (f"{L / c['median']:.0f} ({L / c['best']:.0f})" if c.get("n") else "—")
        out.append(f"| {r['engine']} | {r['dtype']} | " + " | ".join(fmt(pre.get(str(n), {})) for n in lens)
                   + f" | {tps} | {fmt(r['decode_tps'], 1)} | {r.get('note', '')} |")
    out += ["",
            f"prefill s @N: one forward pass over N prompt tokens (empty cache) to the greedy first token's logits "
            f"(in-process time to first token, no tokenization). decode tok/s: {res['params']['decode_tokens']} greedy "
            f"tokens after a {res['params']['decode_prompt']}-token prompt, EOS ignored, (tokens−1)/(t_last−t_first)."]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", nargs="?")
    ap.add_argument("--bench", help="path to the bench binary: adds bench's own row (see run_bench)")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--out", default="peer-cpu-results.json")
    ap.add_argument("--peers", default=DEFAULT_PEERS, help=f"comma list from {','.join(PEERS)}")
    ap.add_argument("--prompt-lens", default="128,512,2048")
    ap.add_argument("--decode-tokens", type=int, default=64)
    ap.add_argument("--decode-prompt", type=int, default=128)
    ap.add_argument("--mlx-max-prompt", type=int, default=128,
                    help="mlx[cpu]'s reference BLAS runs ~5 GFLOP/s: longer prompts are skipped for it")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--slow-s", type=float, default=10)
    ap.add_argument("--slow-trials", type=int, default=1)
    ap.add_argument("--max-cell-s", type=float, default=60,
                    help="skip a peer's prompt lengths whose prefill the warm-up predicts to take longer")
    ap.add_argument("--gemm-size", type=int, default=4096, help="n of the n×n×n GEMM peak check (0: skip)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--install-status", help="JSON written by peer-cpu.sh")
    ap.add_argument("--cache", default=os.environ.get("PEERS_CACHE", str(Path(tempfile.gettempdir()) / "peer-cpu-cache")),
                    help="where converted GGUF files and worker logs go")
    ap.add_argument("--synth", metavar="DIR", help="write a Qwen3-0.6B-shaped random model folder and exit")
    ap.add_argument("--timeout", type=float, default=900, help="seconds for one request to a peer")
    # internal
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--gguf", help=argparse.SUPPRESS)
    ap.add_argument("--n-ctx", type=int, default=4096, help=argparse.SUPPRESS)
    ap.add_argument("--_convert", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args._convert:
        convert_main(*args._convert)
        return 0
    if args.worker:
        worker_main(args)
        return 0
    if args.synth:
        synth_model(Path(args.synth), args.seed)
        return 0
    if not args.model_dir:
        ap.error("MODEL_DIR is required")

    model_dir = Path(args.model_dir).resolve()
    cfg = json.loads((model_dir / "config.json").read_text())
    vocab = int(cfg["vocab_size"])
    if vocab < FIRST_SPECIAL_ID:
        global_limit = vocab
    else:
        global_limit = FIRST_SPECIAL_ID
    lens = [int(x) for x in args.prompt_lens.split(",")]
    n_ctx = ((max(lens + [args.decode_prompt]) + args.decode_tokens + 64 + 255) // 256) * 256
    cache = Path(args.cache); cache.mkdir(parents=True, exist_ok=True)
    logdir = cache / "logs"; logdir.mkdir(exist_ok=True)
    status = json.loads(Path(args.install_status).read_text()) if args.install_status else {}

    def ids(length: int, trial: int, kind: str) -> list[int]:
        return [i % global_limit for i in prompt_ids(args.seed, length, trial, kind)]

    res: dict = {"model_dir": str(model_dir), "machine": machine_info(),
                 "params": {"prompt_lens": lens, "decode_tokens": args.decode_tokens,
                            "decode_prompt": args.decode_prompt, "trials": args.trials,
                            "threads": args.threads, "seed": args.seed, "mlx_max_prompt": args.mlx_max_prompt,
                            "prompt_ids": f"random.Random('{{seed}}:{{prefill|decode}}:{{len}}:{{trial}}').randrange({global_limit})"},
                 "install": status, "rows": []}
    me = [sys.executable, os.path.abspath(__file__), "--threads", str(args.threads)]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(args.threads))
    env.setdefault("TOKENIZERS_PARALLELISM", "false")

    # --- matmul peaks, before any model is loaded
    if args.gemm_size > 0:
        w = Worker("gemm", me + ["--worker", "gemm", "--gemm-size", str(args.gemm_size)], logdir, env)
        try:
            r = w.read(args.timeout)
            res["gemm"] = r.get("gemm") or {"error": r.get("error")}
            log(f"GEMM peaks: {res['gemm']}")
        except Exception as e:  # noqa: BLE001
            res["gemm"] = {"error": str(e)}
        finally:
            w.close()
    else:
        res["gemm"] = {"error": "skipped (--gemm-size 0)"}

    # --- start the peers
    rows: dict[str, dict] = {}
    workers: dict[str, Worker] = {}
    import atexit
    import signal
    atexit.register(lambda: [w.p.kill() for w in workers.values() if w.p.poll() is None])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that atexit stops the workers
    for name in [p for p in args.peers.split(",") if p]:
        engine, dtype, needs = PEERS[name]
        row = {"peer": name, "engine": engine, "dtype": dtype, "status": "ok"}
        rows[name] = row
        missing = [f"{k}: {status[k].get('detail')}" for k in needs if k in status and status[k].get("status") != "ok"]
        if missing:
            row.update(status="not installed", error="; ".join(missing)[:300]); continue
        argv = me + [str(model_dir), "--worker", name]
        if name.startswith("llama-"):
            try:
                gg, conv_s = ensure_gguf(model_dir, dtype, cache, logdir)
                row["gguf"] = str(gg); row["convert_s"] = round(conv_s, 1)
                log(f"{name}: GGUF {gg} ({gg.stat().st_size / 1e9:.2f} GB; converted in {conv_s:.0f} s)")
            except Exception as e:  # noqa: BLE001
                row.update(status="conversion failed", error=str(e)[:300]); continue
            argv += ["--gguf", str(gg), "--n-ctx", str(n_ctx)]
        log(f"{name}: loading")
        w = Worker(name, argv, logdir, env)
        try:
            r = w.read(args.timeout)
        except Exception as e:  # noqa: BLE001
            r = {"ok": False, "error": str(e)}
        if not r.get("ok"):
            row.update(status="load failed", error=f"{r.get('error')} (log: {w.logf.name})"[:300]); w.close(); continue
        row["load_s"] = round(r["load_s"], 2); row["info"] = r["info"]
        workers[name] = w
        log(f"{name}: loaded in {r['load_s']:.1f} s")

    skipped_why: dict[str, dict[int, str]] = {n: {} for n in workers}
    for name in workers:
        if name.startswith("mlx-"):
            for L in lens:
                if L > args.mlx_max_prompt:
                    skipped_why[name][L] = "mlx[cpu] reference BLAS; --mlx-max-prompt"

    def peer_lens(name: str) -> list[int]:
        return [n for n in lens if n not in skipped_why[name]]

    samples = {n: {"prefill": {L: [] for L in lens}, "decode_tps": [], "tokens": {}} for n in workers}

    def call(name: str, prompt: list[int], n: int) -> dict | None:
        w = workers.get(name)
        if w is None or w.error:
            return None
        try:
            r = w.request(prompt, n, args.timeout)
        except Exception as e:  # noqa: BLE001
            r = {"ok": False, "error": str(e)}
        if not r.get("ok"):
            w.error = r.get("error"); log(f"{name}: FAILED: {w.error}")
            if w.p.poll() is None and "no answer" in str(w.error):
                w.p.kill()  # a request that timed out leaves the engine busy: stop it
            return None
        time.sleep(0.3)  # let its thread pool go idle before the next engine runs
        return r

    # --- warm-up (unmeasured): the shortest prompt, which also estimates the cost of the longer
    # ones (at least linear in length): lengths predicted over --max-cell-s are skipped for that
    # peer; then the longest remaining prompt (allocations, graph sizes) and a short decode.
    # A peer whose shortest prefill takes over --slow-s is "slow": it gets --slow-trials trials,
    # and (when the decode prompt has that length) its prefill sample is the decode run's own
    # time to first token, which is the same operation on a fresh prompt.
    slow: dict[str, str] = {}
    for name in list(workers):
        t = time.perf_counter()
        L0 = min(peer_lens(name) or [min(lens)])
        r = call(name, ids(L0, -1, "prefill"), 1)
        if r:
            per_tok = r["times"][0] / L0
            for L in peer_lens(name):
                if L != L0 and per_tok * L > args.max_cell_s:
                    skipped_why[name][L] = f"predicted {per_tok * L:.0f} s > --max-cell-s {args.max_cell_s:.0f}"
            if r["times"][0] > args.slow_s:
                slow[name] = (f"slow (warm-up prefill @{L0} took {r['times'][0]:.0f} s > --slow-s "
                              f"{args.slow_s:.0f}): {args.slow_trials} trial(s)")
            Lmax = max(peer_lens(name) or [L0])
            if Lmax != L0:
                call(name, ids(Lmax, -1, "prefill"), 1)
        call(name, ids(16, -1, "decode"), 4)
        log(f"{name}: warm-up {time.perf_counter() - t:.1f} s; skips {skipped_why[name] or 'none'}; {slow.get(name, 'not slow')}")

    # --- interleaved trials
    order = list(workers)
    res["machine"]["loadavg_per_trial"] = []
    for t in range(args.trials):
        res["machine"]["loadavg_per_trial"].append(os.getloadavg())
        rot = order[t % len(order):] + order[:t % len(order)] if order else []
        for L in lens:
            for name in rot:
                if L not in peer_lens(name):
                    continue
                if name in slow and (t >= args.slow_trials or L == args.decode_prompt):
                    continue
                r = call(name, ids(L, t, "prefill"), 1)
                if r:
                    samples[name]["prefill"][L].append(r["times"][0])
                    log(f"trial {t + 1}/{args.trials} {name} prefill@{L}: {r['times'][0]:.3f} s")
        for name in rot:
            if name in slow and t >= args.slow_trials:
                continue
            r = call(name, ids(args.decode_prompt, t, "decode"), args.decode_tokens)
            if r:
                tm = r["times"]
                if name in slow and args.decode_prompt in samples[name]["prefill"]:
                    samples[name]["prefill"][args.decode_prompt].append(tm[0])
                tps = (len(tm) - 1) / (tm[-1] - tm[0])
                samples[name]["decode_tps"].append(tps)
                samples[name]["tokens"][str(t)] = r["tokens"][:16]
                log(f"trial {t + 1}/{args.trials} {name} decode: {tps:.2f} tok/s (ttft {tm[0]:.3f} s)")
        # Raw samples so far, in case the run is cut short.
        Path(args.out + ".partial").write_text(json.dumps(
            {"after_trial": t + 1, "machine": res["machine"], "gemm": res.get("gemm"),
             "skipped": {k: {str(L): v for L, v in d.items()} for k, d in skipped_why.items()}, "slow": slow,
             "samples": {n: {"prefill": {str(L): v for L, v in d["prefill"].items()},
                             "decode_tps": d["decode_tps"]} for n, d in samples.items()}}, indent=1))
    for w in workers.values():
        w.close()
    res["machine"]["loadavg_at_end"] = os.getloadavg()

    for name, row in rows.items():
        if name not in samples:
            continue
        s = samples[name]
        row["prefill"] = {str(L): cell(s["prefill"][L], True) for L in lens}
        row["decode_tps"] = cell(s["decode_tps"], False)
        row["first_tokens"] = s["tokens"]
        notes = []
        if workers[name].error:
            row["error"] = workers[name].error; notes.append(f"failed: {workers[name].error[:120]}")
        if name in slow:
            row["slow"] = slow[name]
            notes.append(slow[name] + (f"; its prefill @{args.decode_prompt} is the decode run's first token"
                                       if args.decode_prompt in lens else ""))
        if skipped_why[name]:
            row["skipped"] = {str(k): v for k, v in skipped_why[name].items()}
            notes.append("skipped " + ", ".join(f"@{k} ({v})" for k, v in sorted(skipped_why[name].items())))
        # Sanity check that every engine runs the same model: how many leading greedy tokens agree
        # with PyTorch's (random weights give flat logits, so bf16 rounding may flip near-ties).
        for ref in ("torch-fp32", "torch-bf16"):
            if ref in samples and name != ref and s["tokens"]:
                rt = samples[ref]["tokens"]
                row[f"greedy_prefix_agreement_with_{ref}"] = [
                    sum(1 for _ in _prefix(rt.get(k, []), v)) for k, v in s["tokens"].items()]
        row["note"] = "; ".join(notes)
    res["rows"] = list(rows.values())

    if args.bench:
        try:
            b = run_bench(args.bench, model_dir, lens, args.decode_tokens, args.trials, cache)
            res["rows"] += b["rows"]; res["bench_run"] = b["run_dir"]
        except Exception as e:  # noqa: BLE001
            res["rows"].append({"engine": "bench (candle, in-process)", "dtype": "f32",
                                "status": "failed", "error": str(e)[:300]})

    Path(args.out).write_text(json.dumps(res, indent=1))
    print(markdown(res))
    print(f"\n(full results: {os.path.abspath(args.out)}; worker logs: {logdir})")
    return 0


def _prefix(a: list[int], b: list[int]):
    for x, y in zip(a, b):
        if x != y:
            return
        yield x


if __name__ == "__main__":
    sys.exit(main())
