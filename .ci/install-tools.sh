#!/usr/bin/env bash
# Installs the system tools the CI checks need, each only if it is missing: `chromium` (the compare
# page), `slurm` (slurm-wlm), `nvcc` (Debian's nvidia-cuda-toolkit 11.8 from contrib + non-free:
# libcuda1 535.261 depends on nvidia-support, which lives in contrib; without it apt answers "held
# broken packages", exit 100), `python` (TensorBoard's reader, Pillow). One apt transaction for
# all, so that .ci/run can start it in the background while the Rust steps compile: the CUDA
# toolkit alone is ~2.5 GB to fetch and ~5.7 GB to unpack, network and disk time that overlaps
# compilation. Each check script calls it again for its own tool, a no-op once installed.
# Needs root. Usage: .ci/install-tools.sh [chromium] [slurm] [nvcc] [python]  (none: all)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
WANT=("$@")
[ ${#WANT[@]} -gt 0 ] || WANT=(chromium slurm nvcc python)

PACKAGES=()
for tool in "${WANT[@]}"; do
  case "$tool" in
    chromium) command -v chromium >/dev/null || PACKAGES+=(chromium) ;;
    slurm) command -v slurmctld >/dev/null || PACKAGES+=(slurm-wlm) ;;
    nvcc)
      if ! command -v nvcc >/dev/null; then
        cat > /etc/apt/sources.list.d/lnwarm-non-free.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        PACKAGES+=(nvidia-cuda-toolkit)
      fi ;;
    python)
      python3 -c "import tensorboard" 2>/dev/null || python3 -m pip install -q tensorboard
      python3 -c "import PIL" 2>/dev/null || python3 -m pip install -q pillow ;;
    *) echo "install-tools: unknown tool '$tool' (allowed: chromium, slurm, nvcc, python)" >&2; exit 2 ;;
  esac
done
if [ ${#PACKAGES[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi
