#!/usr/bin/env bash
# Live test of bench's exo engine against a real exo cluster of one and two nodes, on this
# machine's CPU (exo runs MLX on the CPU on Linux).
#
#   ci/exo-live.sh [--archive exo-1.0.71.tar.gz] [--bench PATH_TO_bench] [--out DIR]
#                  [--install-only]
#   (EXO_LIVE_FAIL_FIRST=1 fails the first 2-node pass on purpose, to check its retry.)
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
#      namespace, then starts node B, waits until both are linked, and runs
#      ci/exo-live-2.toml (`nodes = [2, 1]`, each node's power from a `bench power serve`
#      replaying a capture, node b's stopped after 25 s) and checks it (ci/exo_live_check.py);
#   4. saves the exo responses it met (/state, /instance/previews, POST /instance, the bench
#      reply, a stream) to OUT/responses/, and each run folder to OUT/runs/.
#
# OUT defaults to target/exo-live. Needs root (ip netns). BENCH_LIVE_TIME_LEFT_S: seconds
# the caller can spare; a step that is not cached and would not fit is skipped, as is an
# install that fails. exo 1.0.71 on 2 busy cores sometimes never loads a 2-node instance: the
# 2-node phase then runs once more on a fresh cluster. A failed bench run fails the script.
set -euo pipefail

VERSION=1.0.71
# Everything here talks to addresses inside the namespaces: never through a proxy.
export NO_PROXY='*' no_proxy='*'
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
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
  need 900 "installing exo $VERSION (its Rust part builds from source; 253 s measured cold on 2 cores)"
  step install install_exo || skip "installing exo failed (see $LOGS/install.log)"
fi
log "exo $VERSION is installed in $SRC"
[[ $INSTALL_ONLY == 1 ]] && exit 0

# -------------------------------------------------------------------------------- bench
if [[ -z "$BENCH" ]]; then
  step build-bench cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
  BENCH="$ROOT/target/release/bench"
fi
mkdir -p "$OUT/responses" "$OUT/runs" "$OUT/logs"

# ------------------------------------------------------------------------ the model
# `synth:tiny` with seed 0, the same bytes the suites' `model = "synth:tiny"` tokenizes with,
# in the layout exo reads: a safetensors index beside the weights, a card per node.
MODEL_ID="bench/qwen3-tiny"
MODELS="$CACHE/models"
MODEL_DIR="$MODELS/bench--qwen3-tiny"
if [[ ! -f "$MODEL_DIR/model.safetensors.index.json" ]]; then
  rm -rf "$MODEL_DIR"
  "$BENCH" model synth --preset tiny --out "$MODEL_DIR" >/dev/null
  python3 - "$MODEL_DIR" "$MODEL_ID" <<'EOF'
import json, struct, sys, pathlib
folder, model_id = pathlib.Path(sys.argv[1]), sys.argv[2]
weights = folder / "model.safetensors"
header_len = struct.unpack("<Q", weights.read_bytes()[:8])[0]
header = json.loads(weights.read_bytes()[8:8 + header_len])
names = [k for k in header if k != "__metadata__"]
size = weights.stat().st_size
(folder / "model.safetensors.index.json").write_text(json.dumps(
    {"metadata": {"total_size": size}, "weight_map": {n: "model.safetensors" for n in names}}))
config = json.loads((folder / "config.json").read_text())
(folder / "exo-card.toml").write_text(
    f'model_id = "{model_id}"\n'
    f'n_layers = {config["num_hidden_layers"]}\n'
    f'hidden_size = {config["hidden_size"]}\n'
    f'num_key_value_heads = {config["num_key_value_heads"]}\n'
    'supports_tensor = false\ntasks = ["TextGeneration"]\n\n'
    f'[storage_size]\nin_bytes = {size}\n')
EOF
fi

# ----------------------------------------------------------------- network namespaces
NS_A=bench-exo-a
NS_B=bench-exo-b
ADDR_A=10.77.0.1
ADDR_B=10.77.0.2
RUN="$CACHE/run"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  ip netns pids "$NS_A" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns pids "$NS_B" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
make_namespaces() {
  ip netns add "$NS_A" && ip netns add "$NS_B" &&
    ip link add bench-exo-va type veth peer name bench-exo-vb &&
    ip link set bench-exo-va netns "$NS_A" && ip link set bench-exo-vb netns "$NS_B" &&
    ip -n "$NS_A" addr add "$ADDR_A/24" dev bench-exo-va &&
    ip -n "$NS_B" addr add "$ADDR_B/24" dev bench-exo-vb &&
    ip -n "$NS_A" link set bench-exo-va up && ip -n "$NS_B" link set bench-exo-vb up &&
    ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up
}
make_namespaces 2>"$LOGS/netns.log" || skip "cannot make network namespaces (needs root and ip netns): $(tail -1 "$LOGS/netns.log")"
in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# start_node NAME NAMESPACE: exo with its own EXO_HOME, API on 52415. The nodes find each
# other by mDNS over the veth pair. Neither dials the other (--bootstrap-peers): exo 1.0.71
# re-dials a bootstrap peer every 5 s, every new connection restarts its master election, and
# the cluster then pauses its API every few seconds and, here, never loaded a second 2-node
# instance.
start_node() {
  local name="$1" ns="$2" home="$RUN/$1"
  rm -rf "$home" && mkdir -p "$home/custom_model_cards" "$home/models"
  cp "$MODEL_DIR/exo-card.toml" "$home/custom_model_cards/bench--qwen3-tiny.toml"
  ip netns exec "$ns" env EXO_HOME="$home" EXO_OFFLINE=true HF_HUB_OFFLINE=1 \
    EXO_MODELS_READ_ONLY_DIRS="$MODELS" "$EXO_BIN" -v --api-port 52415 --libp2p-port 4001 \
    >"$OUT/logs/exo-$name.log" 2>&1 &
  PIDS+=($!)
  disown # its end, killed by cleanup, is not news
}
# wait_for NAMESPACE URL SECONDS [PYTHON_CONDITION_ON_doc]: until the URL answers (and the
# condition holds on its JSON).
wait_for() {
  local ns="$1" url="$2" limit="$3" cond="${4:-True}" t0=$SECONDS
  while ((SECONDS - t0 < limit)); do
    if ip netns exec "$ns" curl -sf --max-time 2 "$url" 2>/dev/null |
      python3 -c "import json,sys; doc=json.load(sys.stdin); sys.exit(0 if ($cond) else 1)" 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  return 1
}
API_A="http://$ADDR_A:52415"

# record NAME: exo's answers to what bench asks, saved as fixtures: /state, the previews, a
# placement, a whole /bench reply, a stream, and the removal.
record() {
  local tag="$1"
  in_a curl -sf "$API_A/state" >"$OUT/responses/state-$tag.json"
  in_a curl -sf "$API_A/instance/previews?model_id=$MODEL_ID" >"$OUT/responses/previews-$tag.json"
  in_a python3 - "$API_A" "$MODEL_ID" "$OUT/responses" "$tag" <<'EOF'
import json, sys, time, urllib.request
api, model, out, tag = sys.argv[1:]
def call(method, path, body=None, raw=False):
    req = urllib.request.Request(api + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        data = r.read()
    return data if raw else json.loads(data)
previews = call("GET", f"/instance/previews?model_id={model}")["previews"]
nodes = 2 if tag == "2node" else 1
def width(p):
    inner = next(iter(p["instance"].values()))
    return len(inner["shardAssignments"]["nodeToRunner"])
chosen = next(p for p in previews if p.get("error") is None and width(p) == nodes)
placed = call("POST", "/instance", {"instance": chosen["instance"]})
json.dump(placed, open(f"{out}/place-instance-{tag}.json", "w"), indent=1)
instance_id = next(iter(chosen["instance"].values()))["instanceId"]
for _ in range(120):
    state = call("GET", "/state")
    inner = state["instances"].get(instance_id)
    if inner:
        runners = next(iter(inner.values()))["shardAssignments"]["runnerToShard"]
        if all(next(iter(state["runners"].get(r, {"x": 0}))) in ("RunnerReady", "RunnerRunning") for r in runners):
            break
    time.sleep(0.5)
json.dump(state, open(f"{out}/state-ready-{tag}.json", "w"), indent=1)
ask = {"model": model, "messages": [{"role": "user", "content": "Say something."}], "max_tokens": 8}
json.dump(call("POST", "/bench/chat/completions", ask), open(f"{out}/bench-reply-{tag}.json", "w"), indent=1)
stream = call("POST", "/v1/chat/completions", dict(ask, stream=True), raw=True)
open(f"{out}/chat-stream-{tag}.txt", "wb").write(stream)
json.dump(call("DELETE", f"/instance/{instance_id}"), open(f"{out}/delete-instance-{tag}.json", "w"), indent=1)
EOF
}

# ------------------------------------------------------------------- one node
step start-node-a start_node a "$NS_A"
wait_for "$NS_A" "$API_A/state" 90 || { tail -20 "$OUT/logs/exo-a.log" >&2; echo "exo-live: node a's API never answered" >&2; exit 1; }
step record-1node record 1node
step bench-1node in_a "$BENCH" run "$HERE/exo-live-1.toml" --results "$OUT/runs" --quiet --json \
  >"$OUT/runs/summary-1node.json"

# ------------------------------------------------------------------- two nodes
# Each node's power: `bench power serve` in its namespace, on its veth address (so it needs
# the token), replaying a real powermetrics capture (harness/tests/fixtures/apple): node a an
# M4 Pro's GPU rail (5 samples), node b an M1's CPU+GPU+ANE rails (1 sample, repeated).
TOKEN="$ROOT/target/exo-live/token"
mkdir -p "$(dirname "$TOKEN")"
(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOKEN")
APPLE="$ROOT/harness/tests/fixtures/apple"
"$BENCH" power import --format powermetrics-plist \
  "$APPLE/plist_gpu_power_multiple_samples_m4pro_Mac16-8_matiasinsaurralde-powermetrics.xml" \
  --out "$OUT/replay-a.jsonl" 2>/dev/null
"$BENCH" power import --format powermetrics-plist \
  "$APPLE/plist_full_m1_MacBookPro17-1_graelo-pumas.xml" --out "$OUT/replay-b.jsonl" 2>/dev/null
serve_power() {
  local name="$1" ns="$2" addr="$3"
  ip netns exec "$ns" "$BENCH" power serve --replay "$OUT/replay-$name.jsonl" --loop \
    --bind "$addr:9464" --token-file "$TOKEN" >"$OUT/logs/power-serve-$name.log" 2>&1 &
  PIDS+=($!)
  disown
  eval "SERVE_${name^^}=$!"
}

# two_nodes: node b joins node a; exo's answers are recorded; the 2-node suite runs with each
# node's power served, node b's server stopped part way. Fails (status 1) on the first step
# that does.
two_nodes() {
  step start-node-b start_node b "$NS_B" || return 1
  # Joined, and linked both ways (a node links to a peer once it reaches the peer's API):
  # until then exo offers no 2-node placement ("No cycles found with sufficient memory").
  wait_for "$NS_A" "$API_A/state" 120 \
    "len(doc['topology']['nodes']) >= 2 and sum(len(v) for v in doc['topology']['connections'].values()) >= 2" ||
    { log "node b never joined and linked with node a (see $OUT/logs)"; return 1; }
  step record-2node record 2node || return 1
  # EXO_LIVE_FAIL_FIRST=1 fails the first pass here, to check the retry below.
  if [[ "${EXO_LIVE_FAIL_FIRST:-0}" == 1 ]]; then
    EXO_LIVE_FAIL_FIRST=0
    log "failing the first 2-node pass on purpose (EXO_LIVE_FAIL_FIRST)"
    return 1
  fi
  serve_power a "$NS_A" "$ADDR_A"
  serve_power b "$NS_B" "$ADDR_B"
  # Until each has served its first sample (a capture's first reading ends its first window).
  local addr
  for addr in "$ADDR_A" "$ADDR_B"; do
    for _ in $(seq 30); do
      in_a curl -sf --max-time 2 -H "Authorization: Bearer $(cat "$TOKEN")" \
        "http://$addr:9464/json" >/dev/null && break
      sleep 1
    done
  done
  # Node b's power server stops part way through the run: its power must become a gap.
  (sleep "${EXO_LIVE_STOP_B_AFTER_S:-25}" && kill "$SERVE_B" 2>/dev/null) &
  (cd "$ROOT" && step bench-2node in_a "$BENCH" run "$HERE/exo-live-2.toml" \
    --results "$OUT/runs" --quiet --json >"$OUT/runs/summary-2node.json") || return 1
}

# On 2 busy cores exo 1.0.71 sometimes never loads a 2-node instance (rank 0 never plans its
# ConnectToGroup); a fresh cluster does. So on a failure the cluster is started again, once,
# and the whole 2-node phase runs again; the retry is said in the log and in times.txt.
if ! two_nodes; then
  log "the 2-node phase failed (see $OUT/logs); retrying once on a fresh cluster"
  echo "retry-2node: the first 2-node phase failed" >>"$TIMES"
  ip netns pids "$NS_A" | xargs -r kill -9 2>/dev/null || true
  ip netns pids "$NS_B" | xargs -r kill -9 2>/dev/null || true
  sleep 2
  step restart-node-a start_node a "$NS_A"
  wait_for "$NS_A" "$API_A/state" 90 || { echo "exo-live: node a did not come back" >&2; exit 1; }
  two_nodes || { echo "exo-live: the 2-node phase failed twice (see $OUT/logs)" >&2; exit 1; }
fi
step check-2node python3 "$HERE/exo_live_check.py" "$(ls -d "$OUT"/runs/*exo-live-2-nodes | tail -1)" \
  "$OUT/replay-a.jsonl" "$OUT/replay-b.jsonl"

# The fixtures harness/tests/run_exo_recorded.rs reads, from the 2-node answers: /state without
# its download list of every model exo knows and its task history (hundreds of KB, unread).
python3 - "$OUT/responses" "$OUT/fixtures/v$VERSION" <<'EOF'
import json, pathlib, shutil, sys
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
for name, target in [("state-2node.json", "state.json"), ("state-ready-2node.json", "state_ready.json")]:
    state = json.loads((src / name).read_text())
    state["downloads"] = {node: [d for d in entries if "qwen3-tiny" in json.dumps(d)]
                          for node, entries in state.get("downloads", {}).items()}
    state["tasks"] = {}
    (dst / target).write_text(json.dumps(state, indent=1) + "\n")
for name, target in [("previews-2node.json", "previews.json"),
                     ("place-instance-2node.json", "place_instance_response.json"),
                     ("delete-instance-2node.json", "delete_instance_response.json"),
                     ("bench-reply-2node.json", "bench_chat_response.json"),
                     ("chat-stream-2node.txt", "chat_stream.txt")]:
    shutil.copy(src / name, dst / target)
EOF
cp "$TIMES" "$OUT/times.txt"
log "done: responses in $OUT/responses, runs in $OUT/runs, step times in $OUT/times.txt"
