#!/usr/bin/env bash
# Live test of bench's exo engine against a real exo cluster of one and two nodes, on this
# machine's CPU (exo runs MLX on the CPU on Linux).
#
#   ci/exo-live.sh [--archive exo-1.0.71.tar.gz] [--bench PATH_TO_bench] [--out DIR]
#                  [--install-only]
#
# exo's source comes as an archive given by --archive or $EXO_ARCHIVE (exo v1.0.71 from
# github.com/exo-explore/exo, which this machine cannot reach). Without one the script says
# "skipped: ..." and exits 0.
#
# What it does:
#   1. installs exo into ${BENCH_PEER_CACHE:-$HOME/.cache/bench}/exo-1.0.71/ (cached: the
#      Rust part, exo_pyo3_bindings, is built once; about 10 minutes cold on 2 cores);
#   2. synthesizes a small Qwen3 model (`bench model synth --preset tiny`) in the layout exo
#      reads (a safetensors index, and a model card in each node's EXO_HOME);
#   3. makes two network namespaces joined by a veth pair (10.77.0.1/24, 10.77.0.2/24; removed
#      on exit), starts node A alone and runs ci/exo-live-1.toml against it from inside A's
#      namespace, then starts node B, waits until the topology has both, and runs
#      ci/exo-live-2.toml (`nodes = [1, 2]`, both exo endpoints);
#   4. saves the exo responses it met (/state, /instance/previews, POST /instance, the bench
#      reply, a stream) to OUT/responses/, and each run folder to OUT/runs/.
#
# OUT defaults to target/exo-live. Needs root (ip netns). BENCH_LIVE_TIME_LEFT_S: seconds
# the caller can spare; a step that is not cached and would not fit is skipped, as is an
# install that fails. A failed bench run fails the script.
set -euo pipefail

VERSION=1.0.71
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CACHE="${BENCH_PEER_CACHE:-${HOME:-/tmp}/.cache/bench}/exo-$VERSION"
ARCHIVE="${EXO_ARCHIVE:-}"
BENCH=""
OUT="$ROOT/target/exo-live"
INSTALL_ONLY=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --archive) ARCHIVE="$2"; shift 2 ;;
    --bench) BENCH="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --install-only) INSTALL_ONLY=1; shift ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "exo-live: unexpected argument $1" >&2; exit 2 ;;
  esac
done

LOGS="$CACHE/logs"
mkdir -p "$LOGS"
TIMES="$LOGS/times.txt"
: >"$TIMES"
log() { printf '[exo-live %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
skip() { echo "skipped: exo live test: $*"; exit 0; }
START=$SECONDS
left_s() { echo $((${BENCH_LIVE_TIME_LEFT_S:-86400} - (SECONDS - START))); }
need() {
  local left
  left=$(left_s)
  [[ $left -ge $1 ]] || skip "$2 takes up to $1 s and only $left s are left (cache: $CACHE)"
}
step() {
  local name="$1" t0=$SECONDS rc=0
  shift
  "$@" || rc=$?
  echo "$name $((SECONDS - t0)) s (rc $rc)" >>"$TIMES"
  log "$name: $((SECONDS - t0)) s (rc $rc)"
  return $rc
}

# ------------------------------------------------------------------------------ install
SRC="$CACHE/src"
# A Python 3.13 that runs (pyenv's shim exists even where 3.13 is not the selected version).
python313() {
  local candidate
  for candidate in "${EXO_PYTHON:-}" python3.13 "$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13; do
    [[ -n "$candidate" ]] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' \
      >/dev/null 2>&1 && { command -v "$candidate"; return 0; }
  done
  return 1
}
EXO_BIN="$SRC/.venv/bin/exo"
install_exo() {
  local tools="$CACHE/tools"
  [[ -x "$tools/bin/uv" ]] || {
    "$PYTHON" -m venv "$tools" && "$tools/bin/pip" install -q --disable-pip-version-check \
      uv==0.13.9 maturin
  } >"$LOGS/tools.log" 2>&1
  rm -rf "$SRC" && mkdir -p "$SRC"
  tar xzf "$ARCHIVE" -C "$SRC" --strip-components=1
  (
    cd "$SRC"
    "$tools/bin/uv" venv --python "$PYTHON" .venv
    # exo's constants refuse to start without a dashboard build; bench never opens it.
    mkdir -p dashboard/build && echo '<html><body>stub</body></html>' >dashboard/build/index.html
    # PyPI instead of exo's git sources: mlx-lm from PyPI has every name v1.0.71 imports (it
    # needs mlx 0.31.2); torch is never imported on this path; mlx-vlm as upstream's lock.
    printf '%s\n' 'mlx==0.31.2' 'mlx-cpu==0.31.2' 'mlx-lm==0.31.3' 'mlx-vlm==0.4.4' \
      'transformers==5.2.0' 'torch; python_version < "0"' >overrides.txt
    VIRTUAL_ENV="$SRC/.venv" CARGO_BUILD_JOBS="$(nproc)" timeout "$(left_s)" \
      "$tools/bin/uv" pip install --no-config --no-sources --override overrides.txt \
      -e '.[cpu]' ./rust/exo_pyo3_bindings
  ) >"$LOGS/install.log" 2>&1
}
if [[ ! -x "$EXO_BIN" ]] || ! "$SRC/.venv/bin/python" -c "import exo, exo_pyo3_bindings" >/dev/null 2>&1; then
  [[ -n "$ARCHIVE" ]] || skip "no exo source archive (--archive or EXO_ARCHIVE; exo $VERSION's tag from github.com/exo-explore/exo)"
  [[ -f "$ARCHIVE" ]] || skip "the archive $ARCHIVE does not exist"
  PYTHON="$(python313)" || skip "exo $VERSION needs Python 3.13 (python3.13, pyenv or EXO_PYTHON): not found"
  need 1800 "installing exo $VERSION (its Rust part builds from source)"
  step install install_exo || skip "installing exo failed (see $LOGS/install.log)"
fi
log "exo $VERSION is installed in $SRC"
[[ $INSTALL_ONLY == 1 ]] && exit 0
