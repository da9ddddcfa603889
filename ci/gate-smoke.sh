#!/usr/bin/env bash
# The gate end to end, as .ci/run exercises it: two small runs of one suite, then
# `bench gate` and `bench compare` on them in every way CI uses them.
#
#   ci/gate-smoke.sh [BENCH_BINARY]   (default: target/debug/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${1:-target/debug/bench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results
export BENCH_RESULTS=$results

"$BENCH" run --quiet --model-cache "$work/models" ci/gate-smoke.toml
"$BENCH" run --quiet --model-cache "$work/models" ci/gate-smoke.toml
mapfile -t runs < <(ls -d "$results"/*/ | sort)
base=${runs[0]%/} current=${runs[1]%/}

echo "== a run gated against itself passes"
"$BENCH" gate "$base" --baseline "$base" --config ci/gate.toml --format md >"$work/self.md"
grep -q "bench gate passed" "$work/self.md"

echo "== the second run against the newest earlier run in the history"
# Two runs of one commit on a shared host: the gate must decide (0 or 1), never fail to (2).
set +e
"$BENCH" gate --config ci/gate.toml
code=$?
set -e
echo "gate exit code: $code"
[ "$code" -le 1 ]
python3 - "$current/gate-junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
tests = int(root.get("tests"))
assert tests > 0, "no gated metric"
print(f"JUnit: {tests} test cases, {root.get('failures')} failed, {root.get('skipped')} skipped")
PY
test -s "$current/gate.md"

echo "== a baseline file gives the same gate as its folder"
"$BENCH" baseline "$base" --out "$work/baselines/smoke.json"
"$BENCH" gate "$base" --baseline "$work/baselines/smoke.json" --config ci/gate.toml >/dev/null

echo "== compare in JSON and Markdown"
"$BENCH" compare "$base" "$current" --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["cases"], "no matched case"
print("compare:", len(d["cases"]), "cases matched")'
"$BENCH" compare "$base" "$current" --format md >"$work/compare.md"
grep -q "^| case | metric |" "$work/compare.md"

echo "== bad input exits 2"
set +e
"$BENCH" gate "$current" --baseline "$work/models" >/dev/null 2>&1
code=$?
set -e
[ "$code" -eq 2 ]
echo "gate smoke test passed"
