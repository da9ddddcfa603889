#!/usr/bin/env bash
# What measuring costs: bench's own CPU per 1,000 streamed tokens, and how many concurrent
# streams one core keeps with a schedule lag p99 under 1 ms, against a local server that
# streams as fast as it can (fast_server.py: one write per token, no sleeps). With AIPERF set
# to an `aiperf` binary (pip install aiperf), the same load is run through AIPerf for
# comparison. Figures land in $OUT (default /tmp/bench-client-cost).
#
#   ci/client-cost/run.sh                      # bench only
#   AIPERF=/path/to/venv/bin/aiperf ci/client-cost/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/bench-client-cost}
PORT=${PORT:-8123}
REQUESTS=${REQUESTS:-2000}
rm -rf "$OUT" && mkdir -p "$OUT"
cargo build --release --quiet
BENCH=target/release/bench

python3 ci/client-cost/fast_server.py --port "$PORT" --yield-every 1 >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
  sleep 0.1
done

suite() { # name, workload lines
  cat >"$OUT/$1.toml" <<TOML
[suite]
name = "$1"
repetitions = 1
warmup = 0

[power]
sampler = "none"

[[target]]
name = "fast"
engine = "openai"
url = "http://127.0.0.1:$PORT"
model = "synth:tiny"
served_model = "mock-model"
timeout_s = 60

[[workload]]
name = "stream"
kind = "llm"
prompt_tokens = 128
gen_tokens = 256
$2
TOML
}

report() { # results folder: one line per pattern
  python3 - "$1" <<'PY'
import json, sys, glob
for path in sorted(glob.glob(sys.argv[1] + "/*/loads.jsonl")):
    for line in open(path):
        l = json.loads(line)
        print(f"{l['case']}: {l['ok']}/{l['sent']} ok, {l['output_tps']:.0f} tok/s, "
              f"bench CPU {l['client_cpu_s']:.2f} s = {l['client_cpu_s_per_1k_tokens']*1e3:.2f} ms per 1k tokens "
              f"(network thread {l.get('network_thread_cpu_s') or 0:.2f} s), "
              f"lag p50 {l['lag_s']['median']*1e3:.3f} ms p99 {l['lag_s']['p99']*1e3:.3f} ms max {l['lag_s']['max']*1e3:.3f} ms")
PY
}

echo "== bench: CPU per 1k tokens (closed loop, $REQUESTS requests of 256 tokens)"
suite cost "concurrency = [8, 32]
requests = $REQUESTS"
/usr/bin/time -f "whole bench process: %U s user %S s sys, %e s wall" \
  "$BENCH" run --quiet --results "$OUT/cost" "$OUT/cost.toml" 2>"$OUT/cost.time" || true
report "$OUT/cost"
tail -1 "$OUT/cost.time"

echo "== bench: schedule lag as concurrency grows (one network thread)"
suite lag "concurrency = [64, 256, 1024]
requests = 4096"
"$BENCH" run --quiet --results "$OUT/lag" "$OUT/lag.toml" || true
report "$OUT/lag"

if [[ -n "${AIPERF:-}" ]]; then
  TOKENIZER=$(ls -d "${BENCH_CACHE_DIR:-$HOME/.cache/bench}"/models/*/ | head -1)
  for c in 8 32; do
    echo "== AIPerf $("$AIPERF" --version 2>/dev/null | tail -1), concurrency $c, $REQUESTS requests"
    /usr/bin/time -f "aiperf process tree: %U s user %S s sys, %e s wall" \
      "$AIPERF" profile --model mock-model --url "http://127.0.0.1:$PORT" --endpoint-type chat \
      --streaming --tokenizer "$TOKENIZER" --isl 128 --isl-stddev 0 --osl 256 --osl-stddev 0 \
      --extra-inputs ignore_eos:true --concurrency "$c" --request-count "$REQUESTS" --ui none \
      --no-server-metrics --no-gpu-telemetry --use-server-token-count \
      --artifact-dir "$OUT/aiperf-$c" >"$OUT/aiperf-$c.log" 2>"$OUT/aiperf-$c.time" || true
    tail -1 "$OUT/aiperf-$c.time"
  done
fi
