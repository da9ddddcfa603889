#!/usr/bin/env bash
# Build bench with the `cuda` feature on a machine with no GPU and no CUDA install.
#
# The CUDA 13.0 toolkit comes from NVIDIA's PyPI wheels (CUDA 13.0 matches driver 580; 13.1 and
# later emit a PTX ISA that driver may refuse). The wheels go into a cache folder keyed by the
# toolkit version, so only the first run downloads them. No wheel ships the driver's link-time
# `libcuda.so`: the script writes a stub exporting the `cu*` symbols cudarc declares, used only to
# link; at run time the driver's own libcuda.so.1 is loaded.
#
# Usage:
#   ci/build-cuda.sh                 # release build: dist/bench-cuda (stripped) and .xz, and
#                                    # the kernels benchmark as dist/kernels-cuda(.xz)
#   ci/build-cuda.sh --check         # `cargo check --features cuda` only (no kernels linked)
# Environment:
#   BENCH_CUDA_CACHE   toolkit cache (default ~/.cache/bench/cuda-13.0.88)
#   CUDA_COMPUTE_CAP   compute capability the kernels are built for (default 90: H100/H200)
#   CARGO_TARGET_DIR   cargo's target folder (default target/cuda, apart from the CPU build)
# At run time on the GPU machine, put the folder holding libcudart.so.13, libcublas(Lt).so.13,
# libcurand.so.10 and libnvrtc.so.13 on LD_LIBRARY_PATH (PyTorch's site-packages/nvidia/cu13/lib
# has them; `ci/gpu-run.sh` finds it).
set -euo pipefail

cd "$(dirname "$0")/.."
mode="${1:-build}"

version=13.0.88
cache="${BENCH_CUDA_CACHE:-$HOME/.cache/bench/cuda-$version}"
wheels=(
  "nvidia-cuda-nvcc==13.0.88"
  "nvidia-nvvm==13.0.88"
  "nvidia-cuda-crt==13.0.88"
  "nvidia-cuda-runtime==13.0.96"
  "nvidia-cuda-cccl==13.0.85"
  "nvidia-cuda-nvrtc==13.0.88"
  "nvidia-cublas==13.1.0.3"
  "nvidia-curand==10.4.5.25"
)

if [[ ! -f "$cache/.installed" ]]; then
  echo "build-cuda: installing the CUDA $version toolkit wheels into $cache (once)"
  rm -rf "$cache"
  mkdir -p "$cache"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$cache/site" "${wheels[@]}"
  touch "$cache/.installed"
fi

cu13="$cache/site/nvidia/cu13"
root="$cache/root"
if [[ ! -f "$root/.assembled" ]]; then
  # A CUDA root as nvcc, bindgen_cuda and cudarc's build script expect it.
  rm -rf "$root"
  mkdir -p "$root/lib64/stubs"
  ln -s "$cu13/bin" "$root/bin"
  ln -s "$cu13/include" "$root/include"
  ln -s "$cu13/nvvm" "$root/nvvm"
  for lib in "$cu13"/lib/lib*.so.*; do
    base="$(basename "$lib")"
    ln -sf "$lib" "$root/lib64/$base"
    ln -sf "$lib" "$root/lib64/${base%%.so.*}.so"
  done
  touch "$root/.assembled"
fi

if [[ ! -f "$root/lib64/stubs/libcuda.so" ]]; then
  # The driver API symbols cudarc's bindings declare, each a stub: linking needs names only.
  # Every stub answers CUDA_ERROR_NO_DEVICE (100), so that the stub, put on LD_LIBRARY_PATH,
  # also stands in for "a driver but no GPU" when testing bench's errors on a GPU-less machine.
  cudarc="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name 'cudarc-*' | sort -V | tail -1)"
  if [[ -z "$cudarc" ]]; then
    cargo fetch --locked
    cudarc="$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name 'cudarc-*' | sort -V | tail -1)"
  fi
  grep -oh 'fn cu[A-Za-z0-9_]*' "$cudarc/src/driver/sys/mod.rs" | sed 's/^fn //' | sort -u |
    sed 's/.*/int &(void) { return 100; }/' >"$root/lib64/stubs/libcuda-stub.c"
  gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$root/lib64/stubs/libcuda.so" \
    "$root/lib64/stubs/libcuda-stub.c"
  ln -sf libcuda.so "$root/lib64/stubs/libcuda.so.1"
fi

export CUDA_HOME="$root" CUDA_PATH="$root" CUDA_ROOT="$root"
export NVCC="$root/bin/nvcc"
export PATH="$root/bin:$PATH"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export LIBRARY_PATH="$root/lib64:$root/lib64/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/cuda}"

case "$mode" in
  --check)
    cargo check --locked -p bench --features cuda --all-targets
    ;;
  build)
    cargo build --locked --release -p bench --features cuda
    mkdir -p dist
    strip -o dist/bench-cuda "$CARGO_TARGET_DIR/release/bench"
    # Compressed for carrying to a GPU machine: most of the binary is PTX text.
    xz -T0 -6 -k -f dist/bench-cuda
    ls -l dist/bench-cuda dist/bench-cuda.xz
    echo "build-cuda: dist/bench-cuda built for sm_$CUDA_COMPUTE_CAP"
    # The kernels' criterion benchmark (workloads/benches/kernels.rs), run by ci/gpu-run.sh
    # kernels.
    bench_bin="$(cargo bench --locked -p bench-workloads --features cuda --bench kernels --no-run \
      --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "kernels" and m.get("executable"):
        print(m["executable"])')"
    strip -o dist/kernels-cuda "$bench_bin"
    xz -T0 -6 -k -f dist/kernels-cuda
    ls -l dist/kernels-cuda.xz
    ;;
  *)
    echo "usage: ci/build-cuda.sh [--check]" >&2
    exit 2
    ;;
esac
