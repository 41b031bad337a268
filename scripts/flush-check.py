#!/usr/bin/env python3
"""Does flushing subnormals change a conclusion of why-warmup-cpu Part A, and what does it save?
(issue 35; the rule is in experiments/flush-subnormals.json's description, stated before the runs.)

Usage: scripts/flush-check.py [RESULTS/flush-subnormals] [--committed docs/studies/why-warmup-cpu-part-a/runs.csv]

Pairs every flushed run (train.flush_subnormals true) with the committed Part A row of the same
arch, warmup, peak rate and seed (the ids differ: the key is part of the config). Per cell it
prints the failure counts (committed vs flushed), whether each flushed final loss lies inside the
committed cell's seed range [min, max] (and by how much it falls outside if not), the largest
per-seed |difference| of the final loss, and the median wall time of the flushed runs with its
ratio to the same scheme and warmup's 4e-3 cell. Exit 0 when every cell has the same failure
count and every final loss is inside its range, 1 otherwise, 2 on bad input.
"""
import argparse
import collections
import csv
import glob
import json
import os
import statistics
import sys

FAILED = {"stalled", "diverged"}


def key(arch, warmup, lr, seed):
    return (arch, int(float(warmup)), float(lr), int(seed))


def committed_rows(path):
    rows = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            k = key(row["model.arch"], row["schedule.warmup.steps"], row["schedule.peak_lr"], row["train.seed"])
            rows[k] = row
    return rows


def flushed_runs(folder):
    runs = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        if path.endswith("study.json"):
            continue
        r = json.load(open(path))
        cfg = r["config"]
        if not cfg["train"].get("flush_subnormals") or r["status"] == "interrupted":
            continue
        k = key(cfg["model"]["arch"], cfg["schedule"]["warmup"]["steps"], cfg["schedule"]["peak_lr"], cfg["train"]["seed"])
        runs[k] = r
    return runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="?", default="results/flush-subnormals")
    parser.add_argument("--committed", default="docs/studies/why-warmup-cpu-part-a/runs.csv")
    args = parser.parse_args()
    if not os.path.isdir(args.results) or not os.path.isfile(args.committed):
        print(f"error: need the folder {args.results} and the file {args.committed}", file=sys.stderr)
        return 2
    committed, flushed = committed_rows(args.committed), flushed_runs(args.results)
    if not flushed:
        print(f"error: no finished flushed run in {args.results}", file=sys.stderr)
        return 2
    cells = collections.defaultdict(list)
    for k, run in flushed.items():
        if k not in committed:
            print(f"error: no committed Part A row for {k}", file=sys.stderr)
            return 2
        cells[k[:3]].append((k[3], run, committed[k]))
    wall = {cell: statistics.median(r["summary"]["wall_time_s"] for _, r, _ in runs) for cell, runs in cells.items()}
    ok = True
    print("| arch | warmup | peak lr | seeds | failed committed | failed flushed | finals in committed range | max per-seed abs diff | median wall s (flushed) | ratio to 4e-3 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cell in sorted(cells):
        runs = cells[cell]
        arch, warmup, lr = cell
        failed_then = sum(c["outcome"] in FAILED for _, _, c in runs)
        failed_now = sum(r["summary"]["outcome"] in FAILED for _, r, _ in runs)
        then = [float(c["final_val_loss"]) for _, _, c in runs if c["final_val_loss"]]
        lo, hi = (min(then), max(then)) if then else (float("nan"), float("nan"))
        outside = []
        diffs = []
        for seed, r, c in runs:
            now = r["summary"]["final_val_loss"]
            if now is None or not c["final_val_loss"]:
                continue
            diffs.append(abs(now - float(c["final_val_loss"])))
            if not lo <= now <= hi:
                outside.append(f"s{seed} {now:.4f} ({min(abs(now - lo), abs(now - hi)):.4f} out)")
        same = failed_then == failed_now
        ok = ok and same and not outside
        reference = wall.get((arch, warmup, 0.004))
        ratio = f"{wall[cell] / reference:.2f}" if reference else "-"
        inside = "all" if not outside else "; ".join(outside)
        print(f"| {arch} | {warmup} | {lr:g} | {len(runs)} | {failed_then} | {failed_now} | {inside} | {max(diffs) if diffs else float('nan'):.2e} | {wall[cell]:.1f} | {ratio} |")
    print("no conclusion changed" if ok else "a cell differs (see the table)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
