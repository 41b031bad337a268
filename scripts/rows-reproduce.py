#!/usr/bin/env python3
"""Checks finished runs against the committed reports without rerunning anything: every result
JSON under RESULTS (default results/) whose run id is a row of some committed
docs/studies/*/runs.csv must have that row's final validation loss bit for bit (the float as the
JSON holds it against the row's shortest round-trip decimal). Run ids hash the whole
configuration and seed, so equal ids mean the same run; a sweep on another CPU (or at another
revision) that reran committed rows says here whether they reproduced (docs/studies.md,
"Reproducing a number"). `lnwarm sweep verify` reruns rows instead; this reads what a sweep
already computed.

Usage: scripts/rows-reproduce.py [RESULTS] [--reports docs/studies]
Prints each row that differs, then one line per report (rows compared, identical, CPUs and
revisions of the reruns; where rows differ, how many changed outcome and the median and largest
|difference| of the final loss over the compared rows); exit 0 when at least one row was
compared and every one is identical, 1 otherwise, 2 on bad input.
"""
import argparse
import collections
import csv
import glob
import json
import os
import statistics
import sys


def committed_rows(reports):
    """run id -> [(report name, committed row)]."""
    rows = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(reports, "*", "runs.csv"))):
        report = os.path.basename(os.path.dirname(path))
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows[row["id"]].append((report, row))
    return rows


def finished(results):
    """(run id, result) for every complete result JSON under results/<study>/."""
    for path in sorted(glob.glob(os.path.join(results, "*", "*.json"))):
        with open(path) as handle:
            result = json.load(handle)
        summary = result.get("summary") if isinstance(result, dict) else None
        if summary is None or result.get("status") == "interrupted":
            continue  # study.json, or a partial run
        yield os.path.basename(path)[: -len(".json")], result


def where(result):
    """The CPU and revision a result ran on, as a short label."""
    prov = result.get("provenance", {})
    cpu = prov.get("cpu") or {}
    return f"{cpu.get('model', '?')} family {cpu.get('family', '?')} {cpu.get('simd', '?')} at {prov.get('git_revision', '?')[:7]}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", default="results")
    parser.add_argument("--reports", default="docs/studies")
    args = parser.parse_args()
    for folder in (args.results, args.reports):
        if not os.path.isdir(folder):
            print(f"rows-reproduce: {folder}: not a folder", file=sys.stderr)
            return 2
    rows = committed_rows(args.reports)
    # (report, run id) -> whether every result of that id matched; a run id can be finished in
    # several study folders (a part's files copied from the whole study), each compared.
    matched = {}
    places = collections.defaultdict(set)
    # report -> |committed - here| of every comparison, and the run ids whose outcome changed.
    gaps = collections.defaultdict(list)
    outcome_changed = collections.defaultdict(set)
    for run_id, result in finished(args.results):
        mine = result["summary"].get("final_val_loss")
        for report, row in rows.get(run_id, []):
            theirs = row["final_val_loss"]
            same = theirs != "" and mine is not None and float(theirs) == mine
            matched[report, run_id] = matched.get((report, run_id), True) and same
            places[report].add(where(result))
            if theirs != "" and mine is not None:
                gaps[report].append(abs(float(theirs) - mine))
            if row.get("outcome") != result["summary"].get("outcome"):
                outcome_changed[report].add(run_id)
            if not same:
                print(f"differs: {report} {run_id}: committed {theirs}, here {mine}")
    for report in sorted(places):
        flags = [same for (name, _), same in matched.items() if name == report]
        line = f"{report}: {sum(flags)} of {len(flags)} rows identical ({'; '.join(sorted(places[report]))})"
        if not all(flags):
            line += (
                f"; {len(outcome_changed[report])} changed outcome; final loss |difference|"
                f" median {statistics.median(gaps[report]):.4f}, largest {max(gaps[report]):.4f}"
            )
        print(line)
    compared, identical = len(matched), sum(matched.values())
    if compared == 0:
        print("rows-reproduce: no finished run is a committed row", file=sys.stderr)
        return 1
    return 0 if identical == compared else 1


if __name__ == "__main__":
    sys.exit(main())
