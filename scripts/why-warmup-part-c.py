#!/usr/bin/env python3
"""Apply the rate rule of docs/studies/why-warmup-cpu/rules-part-c.md to why-warmup-cpu's Part A
results and write experiments/why-warmup-cpu-part-c.json.

The rule: the lowest peak rate of Part A's grid at which Post-LN without warmup fails (stalls or
diverges) in at least 5 of its 6 seeds and Post-LN with linear warmup 100 fails in none. Part C
is Part B's eight Post-LN arms at that rate (only the rate changes), plus Part A's two unprobed
Post-LN configurations at it (their runs exist already: copy them into the Part C folder).

Usage: python3 scripts/why-warmup-part-c.py [RESULTS_DIR] [--write]
RESULTS_DIR defaults to results/why-warmup-cpu. Without --write it only prints the decision.
Exit 2 when Part A's Post-LN runs are incomplete; 0 otherwise (also when no rate qualifies).
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FULL = ROOT / "experiments/why-warmup-cpu.json"
PART_B = ROOT / "experiments/why-warmup-cpu-part-b.json"
OUT = ROOT / "experiments/why-warmup-cpu-part-c.json"
SEEDS = 6


def plain_post_ln(config):
    """A Part A Post-LN run: Adam, no probes, no substitute."""
    optim, warmup = config["optim"], config["schedule"]["warmup"]
    return (config["model"]["arch"] == "post-ln" and optim["kind"] == "adam"
            and not config.get("probe", {}).get("names") and not optim.get("v_fill")
            and optim.get("update_cap") is None and not optim.get("freeze_top")
            and not warmup.get("start_search"))


def failures(results_dir):
    """(peak rate, warmup steps) -> list of failed flags, one per seed."""
    out = {}
    for path in sorted(results_dir.glob("*.json")):
        if path.name == "study.json":
            continue
        run = json.loads(path.read_text())
        config = run["config"]
        if not plain_post_ln(config):
            continue
        key = (config["schedule"]["peak_lr"], config["schedule"]["warmup"]["steps"])
        failed = run["status"] == "diverged" or run["summary"]["outcome"] in ("stalled", "diverged")
        out.setdefault(key, []).append(failed)
    return out


def choose(rates, counts):
    for rate in sorted(rates):
        none, warm = counts.get((rate, 0), []), counts.get((rate, 100), [])
        if len(none) < SEEDS or len(warm) < SEEDS:
            sys.exit(f"rate {rate}: {len(none)} and {len(warm)} of {SEEDS} seeds done: Part A's Post-LN runs are incomplete")
        print(f"rate {rate}: no warmup failed {sum(none)}/{SEEDS}, warmup 100 failed {sum(warm)}/{SEEDS}")
        if sum(none) >= 5 and sum(warm) == 0:
            return rate
    return None


def main():
    args = [a for a in sys.argv[1:] if a != "--write"]
    results_dir = pathlib.Path(args[0]) if args else ROOT / "results/why-warmup-cpu"
    full = json.loads(FULL.read_text())
    rates = full["scientific"]["schedule.peak_lr"]
    try:
        rate = choose(rates, failures(results_dir))
    except SystemExit as stop:
        print(stop, file=sys.stderr)
        sys.exit(2)
    if rate is None:
        print("no rate qualifies: Part C is not run (rules-part-c.md)")
        return
    print(f"Part C rate: {rate}")
    part_b = json.loads(PART_B.read_text())
    extra = [dict(arm, **{"schedule.peak_lr": rate}) for arm in part_b["extra"]
             if arm["model.arch"] == "post-ln"]
    study = dict(part_b)
    study["description"] = (
        f"why-warmup-cpu Part C (docs/studies/why-warmup-cpu/rules-part-c.md, stated before its runs): "
        f"Part B's eight Post-LN arms (every probe every 20 updates: no warmup, linear warmup 100, and "
        f"each warmup substitute) at {rate}, the lowest Part A rate at which Post-LN fails in >= 5 of 6 "
        f"seeds without warmup and 0 of 6 with it (chosen by scripts/why-warmup-part-c.py), plus Part A's "
        f"two unprobed Post-LN configurations at {rate} (their runs exist: copy them), x 6 seeds, 60 runs.")
    study["scientific"] = {"model.arch": ["post-ln"], "schedule.warmup.steps": [0, 100],
                           "schedule.peak_lr": [rate]}
    study["extra"] = extra
    if "--write" in sys.argv:
        OUT.write_text(json.dumps(study, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
