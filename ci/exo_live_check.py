#!/usr/bin/env python3
"""Checks a cluster run of ci/exo-live.sh (two exo nodes, each node's power from a
`bench power serve` replaying a recorded capture, node b's server stopped part way):

1. on every tick where the cluster total has a value, it equals the sum of each node's widest
   rail, and every node reading is one of the values its replay file holds (nothing invented);
2. after node b's server stopped, ticks have no total and name node b's error (a gap);
3. every planned measurement is in measurements.jsonl with status ok (nothing lost); those
   before the gap carry cluster energy, those overlapping it carry no total and say why.

    exo_live_check.py RUN_DIR REPLAY_A REPLAY_B

Prints what it found; exits 1 on the first failed check.
"""
import json
import sys
from pathlib import Path

BREADTH = ["system", "platform", "cpu-gpu-ane", "package", "gpu-board", "gpu", "cpu", "core", "other"]


def fail(message):
    print(f"exo-live check FAILED: {message}")
    sys.exit(1)


def lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def replay_values(path):
    values = {}
    for sample in lines(path):
        for rail in sample["rails"]:
            if rail.get("watts") is not None:
                values.setdefault(rail["rail"], set()).add(rail["watts"])
    return values


def main():
    run, replay_a, replay_b = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    replays = {"node-a": replay_values(replay_a), "node-b": replay_values(replay_b)}
    samples = [s for s in lines(run / "power.jsonl") if s.get("source") == "cluster"]
    if not samples:
        fail(f"{run}/power.jsonl has no cluster samples")
    summed = gaps = 0
    first_gap = None
    for s in samples:
        rails = {r["rail"]: r for r in s["rails"]}
        total = rails.get("cluster", {}).get("watts")
        widest = {}
        for name, rail in rails.items():
            if "/" not in name or rail.get("watts") is None:
                continue
            node, bare = name.split("/", 1)
            # Equal to a replayed value, up to the decimal round trip of Prometheus' text.
            if not any(abs(rail["watts"] - v) <= 1e-9 * max(1.0, abs(v))
                       for v in replays[node].get(bare, set())):
                fail(f"t={s['t_s']:.2f}: {name} = {rail['watts']} W is not in {node}'s replay")
            rank = BREADTH.index(rail["scope"]) if rail["scope"] in BREADTH else len(BREADTH)
            if node not in widest or rank < widest[node][0]:
                widest[node] = (rank, rail["watts"])
        if total is None:
            gaps += 1
            errors = [x for x in s.get("scrapes", []) if x.get("error")]
            if not errors:
                fail(f"t={s['t_s']:.2f}: no total and no scrape error named")
            if any(x["node"] == "node-b" for x in errors) and first_gap is None:
                first_gap = s["t_s"]
            continue
        expected = sum(w for _, w in widest.values())
        if len(widest) != 2 or abs(total - expected) > 1e-9 * max(1.0, expected):
            fail(f"t={s['t_s']:.2f}: cluster {total} W != sum of nodes {expected} W ({widest})")
        summed += 1
    if first_gap is None:
        fail("node b's power server was stopped, but no tick names it as missing")
    print(f"power: {len(samples)} ticks; {summed} with the total equal to node a + node b; "
          f"{gaps} without a total (node b silent from t={first_gap:.1f} s)")

    # bench run exits non-zero when a planned measurement is missing; here each must be ok.
    records = lines(run / "measurements.jsonl")
    bad = [r for r in records if r.get("status") != "ok"]
    if bad:
        fail(f"{len(bad)} measurement(s) not ok: {bad[0].get('error')}")
    with_total = without = 0
    for r in records:
        energy = r.get("energy")
        if energy is None:
            fail(f"{r['case']} rep {r['repetition']}: no energy at all")
        has_total = "total" in energy["rails"].get("cluster", {}).get("phases", {})
        if has_total:
            with_total += 1
            if r["metrics"].get("energy_j") is None:
                fail(f"{r['case']}: cluster energy but no energy_j")
        else:
            without += 1
            if not energy.get("gaps"):
                fail(f"{r['case']} rep {r['repetition']}: no cluster total and no gap named")
            if r["metrics"].get("energy_j") is not None:
                fail(f"{r['case']}: energy_j reported across a gap")
    if with_total == 0 or without == 0:
        fail(f"expected measurements both before and after the gap: {with_total} with, {without} without")
    print(f"measurements: {len(records)} ok; {with_total} with cluster energy, "
          f"{without} overlapping node b's gap (no total, gap named)")


if __name__ == "__main__":
    main()
