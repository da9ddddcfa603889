#!/usr/bin/env bash
# On an NVIDIA GPU machine: bench's GPU suites and the PyTorch peer on the same card, in one go.
#
#   ci/gpu-run.sh qwen|ratio|flux|flash|fluxstep|kernels|check|first OUT_DIR
#
# Needs dist/bench-cuda (ci/build-cuda.sh makes it on any Linux box) and, on the GPU machine,
# PyTorch with its CUDA 13 runtime wheels, transformers, and for `flux` diffusers (a wheel in
# .whl/ is installed into a temporary folder when present: the lent GPU machine has no network).
# Writes, under OUT_DIR: machine.txt (nvidia-smi, `bench hw`), the run folders as
# run-<part>.tar.gz, peer-<part>.json (PyTorch), log-<part>.txt, and for `flux` also
# peer-matmul.json and calibration.json (`bench calibrate`). The parts are sized to fit one
# 10-minute call to a lent GPU machine each. Each step has its own
# time limit; a bench run stopped by it stores what finished and can be resumed.
set -uo pipefail
cd "$(dirname "$0")/.."

part="${1:?usage: ci/gpu-run.sh qwen|ratio|flux|flash|fluxstep|kernels|check|first OUT_DIR}"
out="${2:?usage: ci/gpu-run.sh qwen|ratio|flux|flash|fluxstep|kernels|check|first OUT_DIR}"
mkdir -p "$out"
exec > >(tee -a "$out/log-$part.txt") 2>&1

# shellcheck source=ci/gpu-env.sh
source ci/gpu-env.sh
if [[ -d .whl ]] && compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/peer-site .whl/*.whl && export PYTHONPATH="/tmp/peer-site${PYTHONPATH:+:$PYTHONPATH}"
fi

# GPU_RUN_RESULTS: where the run folders go (default /tmp/bench-results; under $OUT, what finished
# comes back even when the call is stopped).
results="${GPU_RUN_RESULTS:-/tmp/bench-results}"
mkdir -p "$results"
models="$BENCH_CACHE_DIR/models"
export PYTHONUNBUFFERED=1

step() { echo; echo "== $(date -u +%H:%M:%S) $*"; }
# `suite LIMIT_S SUITE [RESULTS]`: a bench run, stopped (in order, resumable) at its limit.
suite() {
  step "bench run $2"
  timeout --signal=TERM "$1" "$bench" run "$2" --results "${3:-$results}"
  echo "bench exit: $?"
}
# `peer LIMIT_S ARGS…`: ci/peer_gpu.py ARGS within the limit.
peer() {
  local limit="$1"
  shift
  timeout "$limit" python3 ci/peer_gpu.py "$@"
  echo "peer exit: $?"
}
qwen8b="$models/qwen3-8b-bf16-seed0-v1"
# `kernel_benches LIMIT_S`: workloads/benches/kernels.rs (dist/kernels-cuda), the benchmarks
# whose names match KERNELS_FILTER (a regular expression; all when unset), into kernels.txt.
kernel_benches() {
  step "criterion: workloads/benches/kernels.rs ${KERNELS_FILTER:-}"
  local kernels="$PWD/dist/kernels-cuda"
  [[ -x "$kernels" || ! -f "$kernels.xz" ]] || { xz -d -k "$kernels.xz" && chmod +x "$kernels"; }
  CRITERION_HOME="$out/criterion" timeout "$1" "$kernels" --bench --warm-up-time 0.5 \
    --measurement-time 1.5 --noplot ${KERNELS_FILTER:+"$KERNELS_FILTER"} 2>&1 | tee "$out/kernels.txt"
}

if [[ ! -f "$out/machine.txt" ]]; then
  step "machine"
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit,clocks.max.sm --format=csv
    echo "-- nvidia-smi --query-gpu=name,memory.total --format=csv,noheader (what bench's manifest reads)"
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    nvidia-smi | head -4
    "$bench" hw
  } >"$out/machine.txt" 2>&1
  cat "$out/machine.txt"
fi

case "$part" in
  qwen)
    # Sized for one call: Qwen3 in bench, in PyTorch and both in one bench run; PyTorch's
    # FLUX.1-dev step; the out-of-memory fault.
    suite 170 suites/gpu-qwen.toml
    step "PyTorch: Qwen3-8B, in-process"
    peer 90 qwen --repetitions "${PEER_REPETITIONS:-3}" --out "$out/peer-qwen.json" --model "$qwen8b"
    step "PyTorch behind ci/peer_gpu.py serve, for suites/gpu-qwen-vs-pytorch.toml"
    python3 ci/peer_gpu.py serve --model "$qwen8b" --port 8100 &
    server=$!
    for _ in $(seq 120); do
      kill -0 "$server" 2>/dev/null || break # the server died: the run below says so
      python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8100/v1/models', timeout=1)" 2>/dev/null && break
      sleep 0.5
    done
    suite 140 suites/gpu-qwen-vs-pytorch.toml
    kill "$server"
    wait "$server" 2>/dev/null
    step "PyTorch: FLUX.1-dev transformer step and VAE decode"
    # The folder bench's synth:flux-dev resolves to: configs and tokenizers, weights in memory.
    [[ -d "$models/flux-dev-bf16-seed0-v1" ]] ||
      "$bench" model synth --preset flux-dev --dtype bf16 --out "$models/flux-dev-bf16-seed0-v1"
    peer 60 flux --steps-timed 5 --out "$out/peer-flux.json" --model "$models/flux-dev-bf16-seed0-v1"
    # A case that does not fit, then one that does.
    suite 40 ci/gpu-faults.toml "$results/faults"
    ;;
  ratio)
    # Qwen3-8B in bench and in PyTorch (in-process) in one short call: the TTFT and decode
    # ratios of issue 14.
    suite 120 ci/gpu-qwen-8b.toml
    step "PyTorch: Qwen3-8B, in-process"
    peer 120 qwen --repetitions 3 --out "$out/peer-qwen.json" --model "$qwen8b"
    ;;
  flux)
    suite 300 suites/gpu-flux.toml
    step "PyTorch: FLUX transformer step and VAE decode"
    peer 120 flux --out "$out/peer-flux.json" \
      --model "$models/flux-dev-bf16-seed0-v1" --model "$models/flux-schnell-bf16-seed0-v1"
    # A case that does not fit, then one that does.
    suite 60 ci/gpu-faults.toml "$results/faults"
    step "the card's bf16 matrix rate: PyTorch, then bench calibrate"
    peer 30 matmul --out "$out/peer-matmul.json"
    timeout 60 "$bench" calibrate --results "$results" --sizes 2048,4096 --json >"$out/calibration.json"
    ;;
  flash)
    # Every ratio of issue 14 from one call: FLUX.1-dev and schnell in bench, PyTorch's FLUX
    # step, then Qwen3-8B in bench and in PyTorch.
    suite 220 suites/gpu-flux.toml
    step "PyTorch: FLUX.1-dev transformer step and VAE decode"
    peer 80 flux --steps-timed 5 --out "$out/peer-flux.json" --model "$models/flux-dev-bf16-seed0-v1"
    suite 150 ci/gpu-qwen-8b.toml
    step "PyTorch: Qwen3-8B, in-process"
    peer 100 qwen --repetitions 3 --out "$out/peer-qwen.json" --model "$qwen8b"
    step "bench calibrate: the card's matrix rates and memory-read bandwidth"
    timeout 60 "$bench" calibrate --results "$results" --sizes 4096 --json >"$out/calibration.json"
    ;;
  fluxstep)
    # FLUX.1-dev in bench and PyTorch's FLUX step, in about two minutes: the FLUX ratio after
    # a change, when device time is short.
    suite 130 ci/gpu-flux-dev.toml
    step "PyTorch: FLUX.1-dev transformer step and VAE decode"
    peer 50 flux --steps-timed 5 --out "$out/peer-flux.json" --model "$models/flux-dev-bf16-seed0-v1"
    ;;
  first)
    # One call that gets a figure for every target of issue 14 when calls are scarce: each
    # bench run stops at its limit with what finished stored (the machine keeps nothing, so a
    # later call starts new runs).
    suite 170 suites/gpu-qwen.toml
    step "PyTorch: Qwen3-8B, in-process"
    peer 90 qwen --repetitions 2 --prompts 2048 --out "$out/peer-qwen.json" --model "$qwen8b"
    suite 170 suites/gpu-flux.toml
    step "PyTorch: FLUX.1-dev step, the card's bf16 matrix rate"
    peer 70 flux --steps-timed 5 --out "$out/peer-flux.json" --model "$models/flux-dev-bf16-seed0-v1"
    peer 20 matmul --out "$out/peer-matmul.json"
    ;;
  kernels)
    # The fused kernels against the candle operations they replace (workloads/benches/kernels.rs),
    # then FLUX.1-dev's step beside PyTorch's: what a kernel change bought, in about four minutes.
    kernel_benches 150
    suite 130 ci/gpu-flux-dev.toml
    step "PyTorch: FLUX.1-dev transformer step and VAE decode"
    peer 50 flux --steps-timed 5 --out "$out/peer-flux.json" --model "$models/flux-dev-bf16-seed0-v1"
    ;;
  check)
    # After a change, every ratio of issue 14 in one call of about eight minutes: the row-wise
    # and norm kernels (KERNELS_FILTER, default `rowwise|norm`), FLUX.1-dev and Qwen3-8B in
    # bench and in PyTorch, and the out-of-memory fault.
    KERNELS_FILTER="${KERNELS_FILTER:-rowwise|norm}" kernel_benches 90
    suite 130 ci/gpu-flux-dev.toml
    step "PyTorch: FLUX.1-dev transformer step and VAE decode"
    peer 50 flux --steps-timed 5 --out "$out/peer-flux.json" --model "$models/flux-dev-bf16-seed0-v1"
    suite 120 ci/gpu-qwen-8b.toml
    step "PyTorch: Qwen3-8B, in-process"
    peer 100 qwen --repetitions 3 --out "$out/peer-qwen.json" --model "$qwen8b"
    suite 40 ci/gpu-faults.toml "$results/faults"
    ;;
  *)
    echo "gpu-run: unknown part $part (qwen, ratio, flux, flash, fluxstep, kernels, check or first)"
    exit 2
    ;;
esac

step "packing the run folder"
tar czf "$out/run-$part.tar.gz" -C "$results" --exclude='*.png' .
ls -l "$out"
