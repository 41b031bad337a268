#!/usr/bin/env python3
"""Read lnwarm's TensorBoard event files with TensorBoard's own reader and check them against
the result JSONs: one TensorBoard run (TB_DIR/<run id>) per result in RESULTS_DIR, the expected
tags, and every scalar equal (as float32) to the JSON value at the same step. For a run that was
interrupted and resumed, TensorBoard must show each step once (the SessionLog START purge).

Usage: .ci/check-tensorboard.py RESULTS_DIR TB_DIR   (needs: pip install tensorboard)
"""
import glob
import json
import os
import sys

import numpy as np
from tensorboard.backend.event_processing import event_accumulator


def tag_of(param):
    parts = param.split(".", 2)
    if len(parts) == 3 and parts[0] == "blocks":
        return f"grad_norm/blocks.{parts[1]}/{parts[2]}"
    group, dot, rest = param.partition(".")
    return f"grad_norm/{group}/{rest}" if dot else f"grad_norm/{param}"


def expected_scalars(result):
    want = {}
    for p in result["train"]:
        for tag, key in [("loss/train", "train_loss"), ("lr", "lr"), ("grad_norm/global", "grad_norm"),
                         ("tokens_per_s", "tokens_per_s")]:
            want.setdefault(tag, {})[p["step"]] = p[key]
    for p in result["eval"]:
        want.setdefault("loss/val", {})[p["step"]] = p["val_loss"]
    for p in result["grad_norms"]:
        for param, norm in p["norms"].items():
            want.setdefault(tag_of(param), {})[p["step"]] = norm
    return want


def check_run(result_path, run_dir):
    result = json.load(open(result_path))
    acc = event_accumulator.EventAccumulator(run_dir, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    want = expected_scalars(result)
    got_tags = set(acc.Tags()["scalars"])
    if got_tags != set(want):
        raise SystemExit(f"{run_dir}: tags differ: missing {sorted(set(want) - got_tags)[:5]}, "
                         f"extra {sorted(got_tags - set(want))[:5]}")
    for tag, by_step in want.items():
        events = acc.Scalars(tag)
        steps = [e.step for e in events]
        if steps != sorted(by_step):
            raise SystemExit(f"{run_dir}: {tag}: steps {steps[:8]}... differ from the JSON's {sorted(by_step)[:8]}...")
        for e in events:
            if np.float32(e.value) != np.float32(by_step[e.step]):
                raise SystemExit(f"{run_dir}: {tag} at step {e.step}: {e.value} vs JSON {by_step[e.step]}")
    if "config" not in acc.Tags()["tensors"]:
        raise SystemExit(f"{run_dir}: no config text")
    return len(want), sum(len(v) for v in want.values())


def main():
    results_dir, tb_dir = sys.argv[1], sys.argv[2]
    results = [p for p in sorted(glob.glob(os.path.join(results_dir, "*.json")))
               if os.path.basename(p) != "study.json"]
    runs = sorted(os.listdir(tb_dir))
    ids = [os.path.basename(p)[:-len(".json")] for p in results]
    if runs != ids:
        raise SystemExit(f"TensorBoard runs {runs} are not the results {ids}")
    for path, run_id in zip(results, ids):
        tags, values = check_run(path, os.path.join(tb_dir, run_id))
        print(f"tensorboard: {run_id}: {tags} tags, {values} scalars equal to the result JSON")
    print(f"tensorboard: ok ({len(ids)} runs)")


if __name__ == "__main__":
    main()
