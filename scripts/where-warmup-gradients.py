#!/usr/bin/env python3
"""Seed medians of the gradients and probe quantities behind docs/findings.md's description of
where-warmup-acts (the collapse without warmup): per arm, at updates 2, 6, 10, 20 and 60, the
RMS gradient of attn.q, attn.v and ffn.w1 weights (geometric mean over blocks, `update` probe),
the share of inactive FFN units (`units`), mean log Z and the attention entropy (`attention`),
and each block's attention entropy at update 20. A uniform causal row over T keys has entropy
ln(i + 1) at query i: its mean over a row of T = 64 is sum(ln(i + 1))/64 = 3.206 nats.

    python3 scripts/where-warmup-gradients.py results/where-warmup-acts
"""
import glob
import json
import math
import os
import statistics
import sys

STEPS = (2, 6, 10, 20, 60)


def arm_of(config):
    """A short name of the arm: warmup length, groups and interventions."""
    w, m = config["schedule"]["warmup"], config["model"]
    parts = [f"w={w.get('steps', 0)}"]
    if w.get("groups"):
        parts.append(f"groups={w['groups']}")
    if m.get("qk_norm"):
        parts.append("qk-norm")
    if m.get("z_loss"):
        parts.append(f"z-loss={m['z_loss']}")
    if m["activation"] != "relu":
        parts.append(m["activation"])
    if "sharpness" in config.get("probe", {}).get("names", []):
        parts.append("(sharpness probes)")
    return " ".join(parts)


def grad(point, suffix):
    stats = point.get("update")
    if not stats:
        return None
    logs = [math.log(max(s["grad_rms"], 1e-300)) for k, s in stats.items() if k.endswith(suffix)]
    return math.exp(sum(logs) / len(logs)) if logs else None


QUANTITIES = {
    "q": lambda p: grad(p, ".attn.q.weight"),
    "v": lambda p: grad(p, ".attn.v.weight"),
    "w1": lambda p: grad(p, ".ffn.w1.weight"),
    "inactive": lambda p: sum(p["ffn_inactive"]) / len(p["ffn_inactive"]) if p.get("ffn_inactive") else None,
    "logZ": lambda p: p["attention"]["log_z_mean"] if p.get("attention") else None,
    "entropy": lambda p: statistics.mean(l["entropy"] for l in p["attention"]["layers"]) if p.get("attention") else None,
}


def block_entropies(runs, step):
    """Per block: (min, median, max) over seeds of the attention entropy at `step`."""
    per_block = {}
    for r in runs:
        for p in r["probes"]:
            if p["step"] == step and p.get("attention"):
                for i, layer in enumerate(p["attention"]["layers"]):
                    per_block.setdefault(i, []).append(layer["entropy"])
    return {i: (min(v), statistics.median(v), max(v)) for i, v in sorted(per_block.items())}


def main(folder):
    arms = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path) as handle:
            result = json.load(handle)
        if "summary" not in result or result.get("status") == "interrupted":
            continue
        arms.setdefault(arm_of(result["config"]), []).append(result)
    for arm, runs in sorted(arms.items()):
        print(f"{arm} ({len(runs)} seeds)")
        for step in STEPS:
            cells = []
            for name, read in QUANTITIES.items():
                values = [v for r in runs for p in r["probes"] if p["step"] == step for v in [read(p)] if v is not None]
                cells.append(f"{name} {statistics.median(values):.2g}" if values else f"{name} -")
            print(f"  update {step}: " + ", ".join(cells))
        blocks = block_entropies(runs, 20)
        if blocks:
            text = "; ".join(f"block {i} {lo:.2f}/{mid:.2f}/{hi:.2f}" for i, (lo, mid, hi) in blocks.items())
            print(f"  attention entropy at update 20 (min/median/max over seeds): {text}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: scripts/where-warmup-gradients.py RESULTS/STUDY", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
