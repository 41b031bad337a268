#!/usr/bin/env python3
"""Checks that probes change nothing a run computes: in a study's results folder, every run is
compared with the runs of the same configuration and seed that differ only in their probe
settings (without probes, or with other probes or another schedule: the same config once
`probe` is removed), and every validation loss, train loss, learning rate, gradient
norm and per-parameter gradient norm must be equal bit for bit (the floats as the JSON holds
them; wall times and throughput are left out). The probes read the model on their own batches
and must not touch its weights, optimizer state or data stream (docs/probes.md).

Usage: scripts/probes-change-nothing.py RESULTS/STUDY
Prints one line per compared pair that differs and a summary; exit 0 when every pair is equal
and at least one pair was compared, 1 otherwise, 2 on bad input.
"""
import glob
import json
import os
import sys

TRAIN_KEYS = ("step", "lr", "train_loss", "grad_norm")


def computed(result):
    """What the run computed, as comparable values: no timings, no probe output."""
    train = [tuple(entry.get(key) for key in TRAIN_KEYS) for entry in result["train"]]
    return {
        "eval": result["eval"],
        "train": train,
        "grad_norms": result["grad_norms"],
        "outcome": result["summary"].get("outcome"),
        "diverged_at_step": result.get("diverged_at_step"),
    }


def pair_key(result):
    """The configuration without its probe settings, and the seed."""
    config = dict(result["config"])
    config.pop("probe", None)
    return json.dumps(config, sort_keys=True), result["seed"]


def main(folder):
    if not os.path.isdir(folder):
        print(f"probes-change-nothing: {folder}: not a folder (give results/STUDY)", file=sys.stderr)
        return 2
    twins = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path) as handle:
            result = json.load(handle)
        if "config" not in result or result.get("status") == "interrupted":
            continue  # study.json, or a partial run (its checkpoint continues it)
        twins.setdefault(pair_key(result), []).append(path)
    compared, differing = 0, 0
    for key, paths in sorted(twins.items()):
        if len(paths) < 2:
            continue
        # The reference: the twin without probes if there is one, else the first.
        def unprobed(path):
            with open(path) as handle:
                return not (json.load(handle)["config"].get("probe") or {}).get("names")
        paths = sorted(paths, key=lambda p: (not unprobed(p), p))
        with open(paths[0]) as handle:
            reference = computed(json.load(handle))
        for path in paths[1:]:
            compared += 1
            with open(path) as handle:
                if computed(json.load(handle)) != reference:
                    differing += 1
                    print(f"differs: {os.path.basename(path)} vs {os.path.basename(paths[0])}")
    print(f"{compared} runs compared with a twin that differs only in its probe settings: {compared - differing} equal bit for bit, {differing} differ")
    return 0 if compared > 0 and differing == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: scripts/probes-change-nothing.py RESULTS/STUDY", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
