#!/usr/bin/env bash
# On an NVIDIA GPU machine: time every kernel bench's candle engine launches, with Nsight Compute.
#
#   ci/gpu-profile.sh OUT_DIR [flux] [qwen]
#
# Runs ci/gpu-profile-flux.toml (one FLUX.1-dev image of 2 steps at 1024²) and
# ci/gpu-profile-qwen.toml (one 2,048-token Qwen3-8B prefill) under `ncu`, one metric
# (gpu__time_duration.sum), no clock control, and writes ncu-<part>.csv (one line per kernel
# launch, in launch order) and log-profile.txt under OUT_DIR. `ci/ncu_summary.py` turns a CSV
# into time per kernel name. Needs dist/bench-cuda(.xz) as ci/gpu-run.sh does.
set -uo pipefail
cd "$(dirname "$0")/.."

out="${1:?usage: ci/gpu-profile.sh OUT_DIR [flux] [qwen]}"
shift
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(flux qwen)
mkdir -p "$out"
exec > >(tee -a "$out/log-profile.txt") 2>&1

# shellcheck source=ci/gpu-env.sh
source ci/gpu-env.sh
ncu="$(command -v ncu || echo /usr/local/cuda/bin/ncu)"

for part in "${parts[@]}"; do
  echo "== $(date -u +%H:%M:%S) ncu over ci/gpu-profile-$part.toml"
  timeout "${PROFILE_LIMIT_S:-300}" "$ncu" --clock-control none --metrics gpu__time_duration.sum \
    --csv --page raw --print-units base --launch-count "${PROFILE_MAX_KERNELS:-20000}" \
    --log-file "$out/ncu-$part.csv" \
    "$bench" run "ci/gpu-profile-$part.toml" --results "/tmp/profile-results-$part"
  echo "ncu exit: $?"
  python3 ci/ncu_summary.py "$out/ncu-$part.csv" | head -40
done
ls -l "$out"
