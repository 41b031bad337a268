#!/usr/bin/env bash
# The CUDA build, on a machine without a GPU: NVIDIA's compiler and headers from Debian's
# non-free archive (nvidia-cuda-toolkit 11.8, installed by .ci/install-tools.sh; PyPI's
# nvidia-cuda-nvcc-cu12 wheels carry ptxas and NVVM but no nvcc driver), CUDA_COMPUTE_CAP so
# nothing probes for a GPU, then `cargo build --features cuda` (candle-kernels compiles its PTX
# and static kernels with nvcc) and the binary's answer to --device cuda: one line, exit 2, "no CUDA-capable device".
# Needs root. Usage: .ci/cuda-build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-tools.sh nvcc
nvcc --version | tail -1
# A build check, not a fast binary: skip device-code optimization (-O0 for NVVM and ptxas).
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-80}
export NVCC_APPEND_FLAGS="${NVCC_APPEND_FLAGS:--Xcicc -O0 -Xptxas -O0}"
# ... and PTX instead of SASS for candle-kernels' static MoE/MMQ library (.ci/nvcc-ptx-only).
export NVCC="${NVCC:-$PWD/.ci/nvcc-ptx-only}"
# cudaforge compiles those files on half the cores by default; here on all of them.
export CUDAFORGE_THREADS=${CUDAFORGE_THREADS:-$(nproc)}
START=$(date +%s)
# Dependencies and lnwarm at opt-level 0 too: a build check, and a binary that only has to start
# (lnwarm alone, with the dependencies built: 46 s at opt-level 0, 185 s at the dev profile's 1;
# the whole build's times: docs/performance.md#cuda).
cargo build --locked --features cuda --config 'profile.dev.package."*".opt-level=0' \
  --config 'profile.dev.opt-level=0'
echo "cuda build: $(( $(date +%s) - START )) s"
set +e
BIN=${CARGO_TARGET_DIR:-target}/debug/lnwarm
OUT=$("$BIN" --device cuda --data synthetic --steps 1 --out "$(mktemp -d)/cuda.json" 2>&1)
CODE=$?
set -e
echo "$OUT"
[ "$CODE" = 2 ] || { echo "cuda: expected exit 2 without a GPU, got $CODE"; exit 1; }
[ "$(echo "$OUT" | wc -l)" = 1 ] || { echo "cuda: expected one line"; exit 1; }
echo "$OUT" | grep -q "no CUDA-capable device" || { echo "cuda: unexpected error"; exit 1; }
echo "cuda: ok (built; without a GPU the binary says so in one line)"
