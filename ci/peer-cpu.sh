#!/usr/bin/env bash
# Side-by-side CPU comparison of bench against real peer engines on ONE HF-layout model folder
# (config.json, model.safetensors, tokenizer.json; Qwen3 architecture).
#
#   ci/peer-cpu.sh MODEL_DIR [--bench PATH_TO_bench] [--trials N] [--out results.json]
#                            [--peers torch-fp32,torch-bf16,llama-bf16,llama-f32,mlx-bf16]
#                            [--decode-tokens N] [--mlx-max-prompt N] [--max-cell-s S] [...]
#                            [--install-only] [--no-install]
# Options other than --install-only/--no-install go to ci/peer_cpu.py (its --help lists them).
#
# Peers (each optional: a peer whose install fails gets a row saying why):
#   PyTorch+transformers fp32 and bf16, llama.cpp (llama-cpp-python) bf16 and f32 GGUF converted
#   from the folder, mlx-lm on CPU.
#
# The peers live in a venv at $PEERS_VENV (default: <repo>/.venv-peers, not committed). Installs
# are logged under $PEERS_VENV/install-logs/ and their outcome recorded in
# $PEERS_VENV/install-status.json, which peer_cpu.py reads. llama-cpp-python compiles llama.cpp
# from source (about 7-10 minutes on 2 idle cores); it is built with GGML_NATIVE for this CPU.
#
# Run heavy work politely on a shared machine with: nice -n 19 ci/peer-cpu.sh ...
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
PYTHON_BOOT="${PYTHON:-python3}"

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

MODEL_DIR=""
INSTALL=1
INSTALL_ONLY=0
PASS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --install-only) INSTALL_ONLY=1; shift ;;
    --no-install) INSTALL=0; shift ;;
    --*=*) PASS+=("$1"); shift ;;
    --*)  # every other option belongs to peer_cpu.py and takes a value (see its --help)
      [[ $# -ge 2 ]] || { echo "peer-cpu: $1 needs a value" >&2; exit 2; }
      PASS+=("$1" "$2"); shift 2 ;;
    *)
      if [[ -z "$MODEL_DIR" ]]; then MODEL_DIR="$1"; shift
      else echo "peer-cpu: unexpected argument $1" >&2; exit 2; fi ;;
  esac
done
if [[ $INSTALL_ONLY -eq 0 ]]; then
  [[ -n "$MODEL_DIR" ]] || { usage >&2; exit 2; }
  for f in config.json; do
    [[ -f "$MODEL_DIR/$f" ]] || { echo "peer-cpu: $MODEL_DIR/$f not found" >&2; exit 2; }
  done
  ls "$MODEL_DIR"/*.safetensors >/dev/null 2>&1 || { echo "peer-cpu: no *.safetensors in $MODEL_DIR" >&2; exit 2; }
fi

log() { printf '[peer-cpu %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- venv and installs
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating venv $VENV"
  "$PYTHON_BOOT" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
fi
PY="$VENV/bin/python"
LOGS="$VENV/install-logs"
STATUS_DIR="$VENV/install-status.d"
mkdir -p "$LOGS" "$STATUS_DIR"

# record NAME STATUS SECONDS DETAIL
record() {
  "$PY" - "$STATUS_DIR/$1.json" "$1" "$2" "$3" "$4" <<'EOF'
import json, sys
path, name, status, secs, detail = sys.argv[1:6]
json.dump({"name": name, "status": status, "seconds": float(secs), "detail": detail}, open(path, "w"))
EOF
}

# try_install NAME IMPORT_CHECK PIP_ARGS... : skip when IMPORT_CHECK (python code) succeeds.
try_install() {
  local name="$1" check="$2"; shift 2
  if "$PY" -c "$check" >/dev/null 2>&1; then
    log "$name: already installed"
    [[ -f "$STATUS_DIR/$name.json" ]] || record "$name" ok 0 "already installed"
    return 0
  fi
  log "$name: pip install $* (log: $LOGS/$name.log)"
  local t0 t1 rc=0
  t0=$(date +%s)
  "$PY" -m pip install --progress-bar off "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
  t1=$(date +%s)
  if [[ $rc -eq 0 ]] && "$PY" -c "$check" >>"$LOGS/$name.log" 2>&1; then
    log "$name: installed in $((t1 - t0)) s"
    record "$name" ok "$((t1 - t0))" "installed"
  else
    local why
    why="$(grep -E 'ERROR|Error|error:' "$LOGS/$name.log" | tail -n 3 | tr '\n' ' ' | cut -c1-400)"
    [[ -n "$why" ]] || why="$(tail -n 3 "$LOGS/$name.log" | tr '\n' ' ' | cut -c1-400)"
    log "$name: install FAILED after $((t1 - t0)) s: $why"
    record "$name" failed "$((t1 - t0))" "pip install failed (see $LOGS/$name.log): $why"
  fi
  return 0
}

torch_index_args() {
  # The CPU-only wheel index is much smaller than PyPI's CUDA build; use it only when reachable.
  if "$PY" - <<'EOF' >/dev/null 2>&1
import urllib.request
urllib.request.urlopen("https://download.pytorch.org/whl/cpu/torch/", timeout=8).read(64)
EOF
  then echo "--index-url https://download.pytorch.org/whl/cpu"
  fi
}

if [[ $INSTALL -eq 1 ]]; then
  T_INSTALL0=$(date +%s)
  # Shared small dependencies first, so that the parallel installs below touch disjoint packages.
  try_install base "import numpy, safetensors, gguf, jinja2, diskcache, typing_extensions, yaml" \
    numpy safetensors gguf jinja2 diskcache typing_extensions pyyaml sentencepiece
  # llama-cpp-python compiles llama.cpp (the long pole): build it in the background meanwhile.
  (
    export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DGGML_CCACHE=OFF -DLLAMA_CURL=OFF}"
    export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
    # Build from the sdist kept in $VENV/src: peer_cpu.py takes llama.cpp's convert_hf_to_gguf.py
    # (and its gguf-py) from the same source, so converter and engine match. Only
    # llama-cpp-python itself comes as source: `--no-binary :all:` would also build its build
    # tools (CMake among them) from source, which took over 57 minutes on a cold machine.
    if ! "$PY" -c "import llama_cpp" >/dev/null 2>&1; then
      mkdir -p "$VENV/src"
      ls "$VENV"/src/llama_cpp_python-*.tar.gz >/dev/null 2>&1 ||
        "$PY" -m pip download --no-deps --no-binary llama-cpp-python -d "$VENV/src" \
          "${LLAMA_CPP_PYTHON_SPEC:-llama-cpp-python}" >"$LOGS/llama-cpp-python-sdist.log" 2>&1 || true
    fi
    SDIST="$(ls "$VENV"/src/llama_cpp_python-*.tar.gz 2>/dev/null | sort -V | tail -n 1 || true)"
    try_install llama-cpp-python "import llama_cpp" --no-cache-dir "${SDIST:-llama-cpp-python}"
  ) &
  LLAMA_PID=$!
  # shellcheck disable=SC2046
  try_install torch "import torch; torch.zeros(1)" $(torch_index_args) torch
  try_install transformers "import transformers" transformers
  try_install mlx "import mlx.core as mx; mx.zeros(1)" "mlx[cpu]"
  try_install mlx-lm "import mlx_lm" mlx-lm
  wait "$LLAMA_PID" || true
  log "installs done in $(( $(date +%s) - T_INSTALL0 )) s"
fi
"$PY" - "$STATUS_DIR" "$VENV/install-status.json" <<'EOF'
import glob, json, os, sys
d, out = sys.argv[1:3]
st = {}
for p in sorted(glob.glob(os.path.join(d, "*.json"))):
    r = json.load(open(p)); st[r["name"]] = r
json.dump(st, open(out, "w"), indent=1)
EOF
[[ $INSTALL_ONLY -eq 1 ]] && exit 0

# ---------------------------------------------------------------- the comparison
exec "$PY" "$HERE/peer_cpu.py" "$MODEL_DIR" --install-status "$VENV/install-status.json" \
  ${PASS[@]+"${PASS[@]}"}
