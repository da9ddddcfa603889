#!/usr/bin/env python3
"""Time per kernel name from an Nsight Compute CSV (`ncu --csv --page raw`), largest first.

    ci/ncu_summary.py ncu-flux.csv [--from N] [--to M]

`--from`/`--to` keep launches N..M (ncu's "ID" column), to look at one phase of a run.
"""
import argparse
import collections
import csv
import sys


def launches(path):
    with open(path, newline="") as f:
        rows = [line for line in f if line.startswith('"')]
    reader = csv.DictReader(rows)
    for row in reader:
        try:
            yield int(row["ID"]), row["Kernel Name"], float(row["gpu__time_duration.sum"].replace(",", ""))
        except (KeyError, ValueError):
            continue  # the units row, or a line ncu wrote for another reason


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("--from", dest="first", type=int, default=0)
    ap.add_argument("--to", dest="last", type=int, default=sys.maxsize)
    args = ap.parse_args()
    per_name = collections.defaultdict(lambda: [0, 0.0])
    total = 0.0
    count = 0
    for launch, name, ns in launches(args.csv):
        if not args.first <= launch <= args.last:
            continue
        short = name.split("(")[0][:90]
        per_name[short][0] += 1
        per_name[short][1] += ns
        total += ns
        count += 1
    print(f"{count} launches, {total / 1e6:.1f} ms of kernel time")
    for name, (n, ns) in sorted(per_name.items(), key=lambda kv: -kv[1][1]):
        print(f"{ns / 1e6:10.2f} ms {100 * ns / max(total, 1):5.1f}% {n:6d}x  {name}")


if __name__ == "__main__":
    main()
