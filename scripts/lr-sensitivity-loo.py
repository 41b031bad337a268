#!/usr/bin/env python3
"""How much the "L" verdicts of an LR-curve study lean on the ends of its rate grid (issue 32).

Reads a committed report's runs.csv (no results folder needed) and, per architecture, prints:

- d = S(no warmup) - S(warmup), S = mean over rates of (median final loss - the curve's best
  median), as src/compare/lr_curves.rs computes it (no run of Part A diverged, so
  min(final, loss at init) is the final loss); the full-grid d must equal the committed one;
- the leave-one-rate-out range of d (each rate of the grid left out in turn) and, per leave-out,
  whether the verdict's one-sided bootstrap lower bound at 0.05/k stays above 0 (seeds resampled
  at every rate, 2,000 resamples, as the Rust code does; Python's RNG, so bounds differ from the
  committed ones in the third digit);
- the best rate with and without warmup, and the bootstrap probability that warmup's best rate
  is larger (ties counted as half).

An independent reimplementation in plain Python (no numpy).

    python3 scripts/lr-sensitivity-loo.py docs/studies/why-warmup-cpu-part-a/runs.csv
"""
import csv
import random
import statistics
import sys
from collections import defaultdict

RESAMPLES = 2000
ALPHA = 0.05


def curves(path):
    """{(arch, warmup): {rate: [final losses]}} of the runs with a final loss."""
    out = defaultdict(lambda: defaultdict(list))
    with open(path) as f:
        for row in csv.DictReader(f):
            if row["final_val_loss"] in ("", "null"):
                continue
            key = (row["model.arch"], int(row["schedule.warmup.steps"]))
            out[key][float(row["schedule.peak_lr"])].append(float(row["final_val_loss"]))
    return out


def medians(curve, rates):
    return [statistics.median(curve[r]) for r in rates]


def sensitivity(meds):
    best = min(meds)
    return sum(m - best for m in meds) / len(meds)


def resample(curve, rates, rng):
    return {r: [rng.choice(curve[r]) for _ in curve[r]] for r in rates}


def quantile(values, q):
    values = sorted(values)
    pos = q * (len(values) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def lower_bound(none, warm, rates, level, rng):
    draws = []
    for _ in range(RESAMPLES):
        a, b = resample(none, rates, rng), resample(warm, rates, rng)
        draws.append(sensitivity(medians(a, rates)) - sensitivity(medians(b, rates)))
    return quantile(draws, level)


def best_rate_probability(none, warm, rates, rng):
    larger = 0.0
    for _ in range(RESAMPLES):
        a, b = resample(none, rates, rng), resample(warm, rates, rng)
        ra = rates[min(range(len(rates)), key=lambda i: medians(a, rates)[i])]
        rb = rates[min(range(len(rates)), key=lambda i: medians(b, rates)[i])]
        larger += 1.0 if rb > ra else 0.5 if rb == ra else 0.0
    return larger / RESAMPLES


def main(path):
    data = curves(path)
    archs = sorted({arch for arch, _ in data})
    pairs = [(a, data[(a, 0)], data[(a, w)]) for a in archs for w in sorted({w for b, w in data if b == a and w > 0})]
    level = ALPHA / len(pairs)
    rng = random.Random(20261207)
    print(f"{path}: {len(pairs)} pairs, one-sided level {ALPHA}/{len(pairs)} = {level:.4f}")
    for arch, none, warm in pairs:
        rates = sorted(set(none) & set(warm))
        d = sensitivity(medians(none, rates)) - sensitivity(medians(warm, rates))
        holds = lower_bound(none, warm, rates, level, rng) > 0
        loo = []
        for left in rates:
            kept = [r for r in rates if r != left]
            d_left = sensitivity(medians(none, kept)) - sensitivity(medians(warm, kept))
            lb = lower_bound(none, warm, kept, level, rng)
            loo.append((left, d_left, lb > 0))
        lo, hi = min(x[1] for x in loo), max(x[1] for x in loo)
        lost = [f"{r:g}" for r, _, kept_holds in loo if kept_holds != holds]
        best_none = rates[min(range(len(rates)), key=lambda i: medians(none, rates)[i])]
        best_warm = rates[min(range(len(rates)), key=lambda i: medians(warm, rates)[i])]
        p_larger = best_rate_probability(none, warm, rates, rng)
        meds_warm = dict(zip(rates, medians(warm, rates)))
        gap = meds_warm[best_none] - meds_warm[best_warm]
        print(
            f"{arch}: d = {d:+.4f} (lower bound > 0: {'yes' if holds else 'no'}); "
            f"leave one rate out: d in [{lo:+.4f}, {hi:+.4f}], verdict changes without "
            f"{', '.join(lost) if lost else 'no rate'}; best rate {best_none:g} without warmup, "
            f"{best_warm:g} with (warmup's loss at the no-warmup best rate {gap:+.4f} nats above "
            f"its best); P(warmup's best rate is larger) = {p_larger:.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/studies/why-warmup-cpu-part-a/runs.csv")
