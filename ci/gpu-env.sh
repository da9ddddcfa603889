# Sourced by ci/gpu-run.sh and ci/gpu-profile.sh on an NVIDIA GPU machine: sets `bench` to the
# CUDA build (unpacking dist/bench-cuda.xz), puts the CUDA runtime libraries on
# LD_LIBRARY_PATH, checks for the driver, and sets BENCH_CACHE_DIR. Exits 2 when something is
# missing.

bench="$PWD/dist/bench-cuda"
# The binary travels compressed (73 MB stripped, 10 MB as .xz: most of it is PTX text).
if [[ ! -x "$bench" && -f "$bench.xz" ]]; then
  xz -d -k "$bench.xz" && chmod +x "$bench"
fi
[[ -x "$bench" ]] || { echo "$0: $bench is missing; build it with ci/build-cuda.sh"; exit 2; }

# The CUDA runtime libraries candle links (cudart, cuBLAS, cuRAND, NVRTC) from PyTorch's wheels;
# libcuda.so.1 comes from the driver.
cu13_lib="$(python3 -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null)"
if [[ -d "$cu13_lib" ]]; then
  export LD_LIBRARY_PATH="$cu13_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if ! ldconfig -p | grep -q 'libcuda.so.1'; then
  echo "$0: no libcuda.so.1: is the NVIDIA driver installed?"
  exit 2
fi
export BENCH_CACHE_DIR="${BENCH_CACHE_DIR:-/tmp/bench-cache}"
