#!/usr/bin/env bash
# lnwarm vs PyTorch eager on the same model and update, one after the other (never at once:
# both use every core). Usage: scripts/bench-vs-torch.sh [configs/cpu-small.json] [STEPS]
# Needs torch (pip install torch safetensors). Prints each side's figures and the ratio.
set -euo pipefail
CONFIG=${1:-configs/cpu-small.json}
STEPS=${2:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --quiet
OUT=$(mktemp -d)
for ARCH in pre-ln post-ln; do
  target/release/lnwarm bench --config "$CONFIG" --arch "$ARCH" --steps "$STEPS" --out "$OUT/lnwarm-$ARCH.json"
  python3 scripts/bench_torch.py --config "$CONFIG" --arch "$ARCH" --steps "$STEPS" --out "$OUT/torch-$ARCH.json"
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
print(f"{'arch':<8} {'lnwarm tok/s':>13} {'torch tok/s':>12} {'ratio':>7}  {'lnwarm MiB':>10} {'torch MiB':>9}")
for arch in ("pre-ln", "post-ln"):
    a = json.load(open(f"{out}/lnwarm-{arch}.json"))
    b = json.load(open(f"{out}/torch-{arch}.json"))
    ra, rb = a["tokens_per_s"]["median"], b["tokens_per_s"]["median"]
    print(f"{arch:<8} {ra:>13.0f} {rb:>12.0f} {ra / rb:>7.2f}  {a['peak_rss_mib'] or 0:>10.0f} {b['peak_rss_mib']:>9.0f}")
PY
