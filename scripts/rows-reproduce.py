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
revisions of the reruns); exit 0 when at least one row was compared and every one is
identical, 1 otherwise, 2 on bad input.
"""
import argparse
import collections
import csv
import glob
import json
import os
import sys


def committed_rows(reports):
    """run id -> [(report name, final_val_loss as committed)]."""
    rows = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(reports, "*", "runs.csv"))):
        report = os.path.basename(os.path.dirname(path))
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows[row["id"]].append((report, row["final_val_loss"]))
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
    for run_id, result in finished(args.results):
        mine = result["summary"].get("final_val_loss")
        for report, theirs in rows.get(run_id, []):
            same = theirs != "" and mine is not None and float(theirs) == mine
            matched[report, run_id] = matched.get((report, run_id), True) and same
            places[report].add(where(result))
            if not same:
                print(f"differs: {report} {run_id}: committed {theirs}, here {mine}")
    for report in sorted(places):
        flags = [same for (name, _), same in matched.items() if name == report]
        print(f"{report}: {sum(flags)} of {len(flags)} rows identical ({'; '.join(sorted(places[report]))})")
    compared, identical = len(matched), sum(matched.values())
    if compared == 0:
        print("rows-reproduce: no finished run is a committed row", file=sys.stderr)
        return 1
    return 0 if identical == compared else 1


if __name__ == "__main__":
    sys.exit(main())
