#!/usr/bin/env bash
# Live test of bench's token counting against a real server that sends no usage block:
# llama-cpp-python's OpenAI server (`python -m llama_cpp.server`), serving a GGUF converted
# from a Qwen3-0.6B-shaped model that bench synthesizes. It runs harness/tests/llama_cpp_server.rs
# (`api = "completions"`, 32 tokens asked): output tokens = 32 by the finish reason, no gap
# invented, and bench's decode rate beside llama.cpp's in-process rate on the same file
# (measured here by ci/peer-cpu.sh): printed, and checked only to be of the same kind (within
# a factor of 4), since a speed bound fails on a busy machine.
#
#   ci/llama-cpp-live.sh [--bench PATH_TO_bench]
#
# Everything it installs or makes is cached, keyed by version, in
# ${BENCH_PEER_CACHE:-$HOME/.cache/bench}/llama-cpp-python-0.3.36/:
#   venv/   llama-cpp-python[server] built from source for this CPU (only llama-cpp-python
#           itself: its build tools, CMake among them, come as wheels), and torch, transformers
#           and safetensors for llama.cpp's convert_hf_to_gguf.py
#   model/  the synthesized model (bf16 safetensors, bench's tokenizer)
#   peer/   the GGUF ci/peer_cpu.py converted, and its worker logs
#   logs/   install logs, peer-cpu.json, and times.txt (seconds of each step)
#
# BENCH_LIVE_TIME_LEFT_S: seconds the caller can spare (.ci/run passes what is left of CI's
# time). A step that is not cached and would not fit is not started: the script says
# "skipped: ..." and exits 0, as it does when an install fails (no registry, no compiler).
# A failed check of bench fails the script.
set -euo pipefail

VERSION=0.3.36
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CACHE="${BENCH_PEER_CACHE:-${HOME:-/tmp}/.cache/bench}/llama-cpp-python-$VERSION"
VENV="$CACHE/venv"
MODEL="$CACHE/model"
LOGS="$CACHE/logs"
BENCH=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bench) BENCH="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "llama-cpp-live: unexpected argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$LOGS"
TIMES="$LOGS/times.txt"
: >"$TIMES"

log() { printf '[llama-cpp-live %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
skip() { echo "skipped: llama-cpp-python live test: $*"; exit 0; }
START=$SECONDS
# Seconds the caller can still spare (a day when it did not say).
left_s() { echo $((${BENCH_LIVE_TIME_LEFT_S:-86400} - (SECONDS - START))); }
# need SECONDS WHAT: skip unless the caller's time left holds SECONDS more.
need() {
  local left
  left=$(left_s)
  if [[ $left -lt $1 ]]; then
    skip "$2 takes up to $1 s and only $left s are left (cache: $CACHE)"
  fi
}
# step NAME COMMAND...: run, log its time; returns its status.
step() {
  local name="$1" t0=$SECONDS rc=0
  shift
  "$@" || rc=$?
  echo "$name $((SECONDS - t0)) s (rc $rc)" >>"$TIMES"
  log "$name: $((SECONDS - t0)) s (rc $rc)"
  return $rc
}

# ------------------------------------------------------------ llama-cpp-python, from source
build_llama() {
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DGGML_CCACHE=OFF -DLLAMA_CURL=OFF}" \
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    timeout "$(left_s)" "$VENV/bin/python" -m pip install --progress-bar off --disable-pip-version-check \
    --no-binary llama-cpp-python "llama-cpp-python[server]==$VERSION" >"$LOGS/build.log" 2>&1
}
if ! "$VENV/bin/python" -c "import llama_cpp.server.app" >/dev/null 2>&1; then
  # 273 s on 2 quiet cores, 629 s with the cores shared with a Rust build.
  need 1800 "building llama-cpp-python $VERSION from source"
  log "building llama-cpp-python $VERSION (log: $LOGS/build.log)"
  step build-llama-cpp-python build_llama ||
    skip "pip could not build llama-cpp-python $VERSION: $(tail -n 3 "$LOGS/build.log" | tr '\n' ' ' | cut -c1-300)"
fi

# ------------------------------------------------------------ the converter's needs
if ! "$VENV/bin/python" -c "import torch, transformers, safetensors" >/dev/null 2>&1; then
  need 900 "installing torch and transformers for llama.cpp's converter"
  log "installing torch, transformers (log: $LOGS/convert-deps.log)"
  step convert-deps timeout "$(left_s)" "$VENV/bin/python" -m pip install --progress-bar off --disable-pip-version-check \
    torch transformers safetensors sentencepiece >"$LOGS/convert-deps.log" 2>&1 ||
    skip "pip could not install torch and transformers: $(tail -n 3 "$LOGS/convert-deps.log" | tr '\n' ' ' | cut -c1-300)"
fi

# ------------------------------------------------------------ the model
if [[ -z "$BENCH" ]]; then
  BENCH="${CARGO_TARGET_DIR:-$ROOT/target}/debug/bench"
  if [[ ! -x "$BENCH" ]]; then
    need 1200 "building bench"
    step build-bench cargo build -q --locked -p bench --manifest-path "$ROOT/Cargo.toml"
  fi
fi
if [[ ! -f "$MODEL/model.safetensors" ]]; then
  need 300 "synthesizing the model"
  rm -rf "$MODEL.tmp"
  step synth "$BENCH" model synth --preset qwen3-0.6b --dtype bf16 --out "$MODEL.tmp" >"$LOGS/synth.log" 2>&1 ||
    { cat "$LOGS/synth.log" >&2; exit 1; }
  mv "$MODEL.tmp" "$MODEL"
fi

# ------------------------------------------------------------ llama.cpp in-process: the reference
# The conversion (first time only) and the in-process rate, in one peer-cpu.sh run of the bf16
# peer: greedy, 32 tokens after a 32-token prompt, 3 interleaved trials after a warm-up.
# llama.cpp computes on all cores but one, in-process and in the server alike: the server's
# Python threads and bench need a core, and a llama.cpp thread that waits for one stalls every
# step (on 2 cores with 2 threads the server decoded 27% to 70% slower than in-process, and
# varied from request to request; with 1 thread bench saw 0.95 to 0.99 of the in-process rate).
THREADS="${BENCH_LLAMA_CPP_THREADS:-$(($(nproc) > 1 ? $(nproc) - 1 : 1))}"
need 900 "converting the model and measuring llama.cpp in-process"
PEER_JSON="$LOGS/peer-cpu.json"
rm -f "$PEER_JSON"
step peer-cpu timeout "$(left_s)" env PEERS_VENV="$VENV" bash "$HERE/peer-cpu.sh" "$MODEL" --no-install \
  --peers llama-bf16 --threads "$THREADS" --trials 3 --prompt-lens 32 --decode-prompt 32 \
  --decode-tokens 32 --gemm-size 0 --cache "$CACHE/peer" --out "$PEER_JSON" >"$LOGS/peer-cpu.log" 2>&1 ||
  skip "ci/peer-cpu.sh failed (see $LOGS/peer-cpu.log): $(tail -n 3 "$LOGS/peer-cpu.log" | tr '\n' ' ' | cut -c1-300)"
read -r GGUF PEER_TPS < <("$VENV/bin/python" - "$PEER_JSON" <<'EOF'
import json, sys
row = json.load(open(sys.argv[1]))["rows"][0]
print(row.get("gguf", ""), (row.get("decode_tps") or {}).get("median", ""))
EOF
)
[[ -f "$GGUF" && -n "$PEER_TPS" ]] ||
  skip "ci/peer-cpu.sh gave no GGUF or no decode rate (see $PEER_JSON and $LOGS/peer-cpu.log)"
log "GGUF $GGUF; llama.cpp in-process decode $PEER_TPS tok/s on $THREADS thread(s)"

# ------------------------------------------------------------ bench against the server
need 600 "the live test"
step live-test env BENCH_LLAMA_CPP_PYTHON="$VENV/bin/python" BENCH_LLAMA_CPP_GGUF="$GGUF" \
  BENCH_LLAMA_CPP_MODEL="$MODEL" BENCH_LLAMA_CPP_PEER_DECODE_TPS="$PEER_TPS" \
  BENCH_LLAMA_CPP_THREADS="$THREADS" \
  cargo test -q --locked --manifest-path "$ROOT/Cargo.toml" -p bench --test llama_cpp_server \
  -- --nocapture
log "done in $((SECONDS - START)) s: $(tr '\n' ';' <"$TIMES")"
