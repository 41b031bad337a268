"""SciPy's numbers for lnwarm's margins (src/stats/margins.rs), written to
tests/fixtures/scipy/margins.json and checked by tests/margins_scipy.rs without SciPy in CI.

- rate_upper: scipy.stats.beta.ppf(1 - alpha, k + 1, n - k), the exact one-sided upper bound.
- rate_bounds: scipy.stats.binomtest(k, n, alternative="less" / "greater").proportion_ci(
  1 - alpha, method="exact"): the one-sided Clopper-Pearson upper and lower bounds.
- u_cdf: P(U <= u) of the Mann-Whitney U for samples of m and n, read off
  scipy.stats.mannwhitneyu(x, y, alternative="less", method="exact") on samples built to have
  U = u (x: m values, y: n values, u of the m*n pairs with x > y).
- shift: the Hodges-Lehmann estimate and its exact one-sided upper bound from the textbook
  definition (sorted pairwise differences, k the largest integer with P(U <= k - 1) <= alpha,
  bound D(mn + 1 - k)), P taken from mannwhitneyu as above.
- fisher_min: scipy.stats.fisher_exact on the most extreme table [[n_a, 0], [0, n_b]].

Usage: python3 scripts/margins_fixtures_scipy.py tests/fixtures/scipy/margins.json
(needs `pip install scipy`).
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats


def samples_with_u(m, n, u):
    """x (m values) and y (n values), distinct, with exactly u pairs x > y."""
    # Place x values among y's: x_i beats c_i of the y's, c non-decreasing, sum c = u.
    counts = []
    left = u
    for i in range(m):
        c = min(n, left - 0) if i == m - 1 else min(n, left // (m - i) if (m - i) else 0)
        counts.append(c)
        left -= c
    # Spread the rest greedily from the last x.
    i = m - 1
    while left > 0:
        add = min(n - counts[i], left)
        counts[i] += add
        left -= add
        i -= 1
    counts.sort()
    y = [float(j) for j in range(n)]
    x = [c - 0.5 for c in counts]
    x = [v + 1e-6 * i for i, v in enumerate(x)]
    return x, y


def u_cdf(m, n, u):
    x, y = samples_with_u(m, n, u)
    got = sum(1 for a in x for b in y if a > b)
    assert got == u, (m, n, u, got)
    return stats.mannwhitneyu(x, y, alternative="less", method="exact").pvalue


def shift(a, b, alpha):
    m, n = len(a), len(b)
    d = sorted(x - y for x in a for y in b)
    k = 0
    while k < m * n and u_cdf(m, n, k) <= alpha * (1 + 1e-12):
        k += 1
    return {
        "a": a,
        "b": b,
        "alpha": alpha,
        "hodges_lehmann": float(np.median(d)),
        "upper": d[m * n - k] if k > 0 else None,
        "lower": d[k - 1] if k > 0 else None,
    }


def main(out):
    rng = np.random.default_rng(23)
    rate_upper = [
        {"k": k, "n": n, "alpha": alpha, "upper": float(stats.beta.ppf(1 - alpha, k + 1, n - k))}
        for (k, n) in [(0, 2), (0, 6), (1, 6), (3, 6), (0, 11), (5, 12), (2, 30)]
        for alpha in (0.05, 0.025)
    ]
    rate_bounds = []
    for (k, n) in [(0, 2), (1, 2), (0, 6), (1, 6), (6, 6), (3, 11), (0, 13)]:
        for alpha in (0.05, 0.025):
            up = stats.binomtest(k, n, alternative="less").proportion_ci(1 - alpha, method="exact")
            lo = stats.binomtest(k, n, alternative="greater").proportion_ci(1 - alpha, method="exact")
            rate_bounds.append({"k": k, "n": n, "alpha": alpha, "upper": float(up.high),
                                "lower": float(lo.low)})
    u = [
        {"m": m, "n": n, "u": uu, "cdf": float(u_cdf(m, n, uu))}
        for (m, n) in [(2, 2), (3, 4), (6, 6), (5, 8)]
        for uu in sorted({0, 1, 2, (m * n) // 3, (m * n) // 2, m * n - 1})
    ]
    shifts = []
    for (m, n, delta) in [(2, 2, 0.0), (3, 3, 0.05), (6, 6, -0.03), (6, 6, 0.0), (5, 7, 0.02), (8, 8, -0.01)]:
        b = [round(float(v), 6) for v in 2.0 + 0.03 * rng.standard_normal(n)]
        a = [round(float(v), 6) for v in 2.0 + delta + 0.03 * rng.standard_normal(m)]
        for alpha in (0.05, 0.025):
            shifts.append(shift(a, b, alpha))
    fisher_min = [
        {"n_a": na, "n_b": nb,
         "p": float(stats.fisher_exact([[na, 0], [0, nb]], alternative="greater").pvalue)}
        for (na, nb) in [(2, 2), (3, 3), (6, 6), (4, 8), (11, 11)]
    ]
    fixture = {"scipy_version": scipy.__version__, "rate_upper": rate_upper,
               "rate_bounds": rate_bounds, "u_cdf": u,
               "shift": shifts, "fisher_min": fisher_min}
    with open(out, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
