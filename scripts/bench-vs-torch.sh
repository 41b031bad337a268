#!/usr/bin/env bash
# lnwarm vs PyTorch eager on the same model and update (Adam step included), alternated in one
# run on one machine (never at once: both use the cores they are given), with the CPU it ran on.
#
#   scripts/bench-vs-torch.sh [--size study|default] [--threads "1 2"] [--rounds 3]
#                             [--steps 10] [--arch post-ln] [--out FILE.md]
#
# --size study: the studies' model (configs/cpu-small.json at 4 layers, seq 64, batch 16: the
# size of why-warmup-cpu and where-warmup-acts); default: configs/cpu-small.json as it is.
# Each round times lnwarm, then PyTorch, at each thread count; the table gives every round's
# tokens/s and the ratio lnwarm / PyTorch, the range of the ratio over rounds, lnwarm's achieved
# GFLOP/s as a share of a 1024^3 GEMM on the same machine and threads (`lnwarm bench`'s
# yardstick), and whether the issue-35 target (lnwarm >= 1.3x PyTorch in every round) is met.
# PyTorch is a developer tool here, not a dependency: pip install torch safetensors.
set -euo pipefail
SIZE=study; THREADS="1 2"; ROUNDS=3; STEPS=10; ARCH=post-ln; OUT=""
die() { echo "error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --size) SIZE=${2:-}; shift 2 ;;
    --threads) THREADS=${2:-}; shift 2 ;;
    --rounds) ROUNDS=${2:-}; shift 2 ;;
    --steps) STEPS=${2:-}; shift 2 ;;
    --arch) ARCH=${2:-}; shift 2 ;;
    --out) OUT=${2:-}; shift 2 ;;
    *) die "unknown argument '$1' (allowed: --size study|default, --threads \"1 2\", --rounds N, --steps N, --arch ARCH, --out FILE.md)" ;;
  esac
done
case $SIZE in study|default) ;; *) die "--size $SIZE: allowed: study, default" ;; esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds $ROUNDS: must be a positive integer"
python3 -c "import torch" 2>/dev/null || die "PyTorch is not installed (pip install torch safetensors)"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=${LNWARM_BIN:-}
if [ -z "$BIN" ]; then cargo build --release --quiet; BIN=target/release/lnwarm; fi
WORK=$(mktemp -d)
CONFIG=configs/cpu-small.json
if [ "$SIZE" = study ]; then
  python3 - "$CONFIG" "$WORK/study-size.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["model"]["n_layers"] = 4
cfg["data"]["seq_len"] = 64
cfg["data"]["batch_size"] = 16
json.dump(cfg, open(sys.argv[2], "w"))
PY
  CONFIG=$WORK/study-size.json
fi
for round in $(seq 1 "$ROUNDS"); do
  for t in $THREADS; do
    "$BIN" bench --config "$CONFIG" --arch "$ARCH" --steps "$STEPS" --threads "$t" \
      --out "$WORK/lnwarm-t$t-r$round.json" > /dev/null
    python3 scripts/bench_torch.py --config "$CONFIG" --arch "$ARCH" --steps "$STEPS" \
      --threads "$t" --out "$WORK/torch-t$t-r$round.json" > /dev/null
  done
done
python3 - "$WORK" "$ROUNDS" "$THREADS" "$SIZE" "$ARCH" "$STEPS" > "$WORK/table.md" <<'PY'
import json, platform, re, sys
work, rounds, threads, size, arch, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), *sys.argv[4:]
cpuinfo = open("/proc/cpuinfo").read() if platform.system() == "Linux" else ""
model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
family = re.search(r"cpu family\s*:\s*(\d+)", cpuinfo)
number = re.search(r"\nmodel\s*:\s*(\d+)", cpuinfo)
flags = set(re.search(r"flags\s*:\s*(.*)", cpuinfo).group(1).split()) if "flags" in cpuinfo else set()
simd = "avx512f" if "avx512f" in flags else "avx2+fma" if {"avx2", "fma"} <= flags else "sse2"
import torch
a0 = json.load(open(f"{work}/lnwarm-t{threads[0]}-r1.json"))
m, d = a0["config"]["model"], a0["config"]["data"]
print(f"CPU: {model.group(1) if model else platform.processor()} (family {family.group(1) if family else '?'}, model {number.group(1) if number else '?'}), widest SIMD {simd}; torch {torch.__version__}, {torch.backends.mkldnn.is_available() and 'oneDNN' or 'no oneDNN'}; lnwarm {a0['provenance']['git_revision']}")
print(f"model: {arch} L={m['n_layers']} d={m['d_model']} T={d['seq_len']} B={d['batch_size']} ({size} size), {steps} timed updates per side per round, {rounds} rounds alternated\n")
print("| threads | round | lnwarm tok/s | PyTorch tok/s | ratio | lnwarm GFLOP/s (share of a 1024³ GEMM) |")
print("|---|---|---|---|---|---|")
met = True
for t in threads:
    ratios = []
    for r in range(1, rounds + 1):
        a = json.load(open(f"{work}/lnwarm-t{t}-r{r}.json"))
        b = json.load(open(f"{work}/torch-t{t}-r{r}.json"))
        ra, rb = a["tokens_per_s"]["median"], b["tokens_per_s"]["median"]
        ratios.append(ra / rb)
        share = a.get("fraction_of_large_gemm")
        share = f" ({100 * share:.0f}% of {a['large_gemm_gflop_per_s']:.0f})" if share else ""
        print(f"| {t} | {r} | {ra:.0f} | {rb:.0f} | {ra / rb:.2f} | {a['gflop_per_s']:.1f}{share} |")
    print(f"| {t} | all | | | {min(ratios):.2f}–{max(ratios):.2f} | |")
    met = met and min(ratios) >= 1.3
print(f"\ntarget (issue 35: lnwarm >= 1.3x PyTorch eager in every round): {'met' if met else 'not met'}")
PY
cat "$WORK/table.md"
if [ -n "$OUT" ]; then cp "$WORK/table.md" "$OUT"; echo "wrote $OUT"; fi
