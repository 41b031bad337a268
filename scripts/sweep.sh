#!/usr/bin/env bash
# Run a study: every pending run of experiments/NAME.json, on the local cores or as a Slurm job array.
#
#   scripts/sweep.sh experiments/NAME.json [--jobs N] [--threads T] [--results DIR] [--slurm [--no-wait]]
#
# Locally: N runs at a time (default: the number of cores), each with T candle threads (default 1,
# so N*T never exceeds the cores: candle's thread pool collapses when they are oversubscribed).
# Finished runs are skipped (their result JSON is complete); a failed run is recorded in
# <results>/<study>/failed/<id>.log and the sweep goes on; the exit code is 1 if any run failed.
# Killed at any moment and started again, it completes every run exactly once: results are
# written atomically, and a run still executing in an orphaned process is waited for (its lock).
# With --slurm: one job array, one task per pending run, logs in <results>/<study>/logs/;
# waits and reports failed tasks, or with --no-wait prints the job id and returns.
# LNWARM_BIN overrides the binary (default: target/release/lnwarm, built if needed).
set -euo pipefail

usage() { echo "usage: scripts/sweep.sh experiments/NAME.json [--jobs N] [--threads T] [--results DIR] [--slurm [--no-wait]]" >&2; exit 2; }
die() { echo "error: $*" >&2; exit 2; }

[ $# -ge 1 ] || usage
STUDY=$1; shift
[ -f "$STUDY" ] || die "study $STUDY: no such file (allowed: a study JSON such as experiments/smoke.json)"
CORES=$(nproc)
JOBS=""; THREADS=""; RESULTS=results; SLURM=0; WAIT=1
while [ $# -gt 0 ]; do
  case $1 in
    --jobs) JOBS=${2:-}; shift 2 ;;
    --threads) THREADS=${2:-}; shift 2 ;;
    --results) RESULTS=${2:-}; shift 2 ;;
    --slurm) SLURM=1; shift ;;
    --no-wait) WAIT=0; shift ;;
    *) die "unknown argument '$1' (allowed: --jobs N, --threads T, --results DIR, --slurm, --no-wait)" ;;
  esac
done
is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
THREADS=${THREADS:-1}
is_count "$THREADS" || die "--threads $THREADS: must be a positive integer"
JOBS=${JOBS:-$(( CORES / THREADS > 0 ? CORES / THREADS : 1 ))}
is_count "$JOBS" || die "--jobs $JOBS: must be a positive integer"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${LNWARM_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  LNWARM_BIN=$ROOT/target/release/lnwarm
fi
BIN=$(realpath "$LNWARM_BIN")
STUDY=$(realpath "$STUDY")
mkdir -p "$RESULTS"
RESULTS=$(realpath "$RESULTS")
DIR=$("$BIN" sweep plan "$STUDY" --results "$RESULTS" --dir)
NAME=$(basename "$DIR")
mkdir -p "$DIR/logs" "$DIR/failed"

TOTAL=$("$BIN" sweep plan "$STUDY" --results "$RESULTS" --ids | wc -l)
mapfile -t PENDING < <("$BIN" sweep plan "$STUDY" --results "$RESULTS" --ids --pending)
echo "sweep $NAME: ${#PENDING[@]} of $TOTAL runs to do; results in $DIR"
[ ${#PENDING[@]} -gt 0 ] || { echo "sweep $NAME: all $TOTAL runs complete"; exit 0; }

report_missing() {
  mapfile -t LEFT < <("$BIN" sweep plan "$STUDY" --results "$RESULTS" --ids --pending)
  if [ ${#LEFT[@]} -gt 0 ]; then
    echo "sweep $NAME: ${#LEFT[@]} run(s) without a result:" >&2
    for id in "${LEFT[@]}"; do echo "  $id (log: $DIR/failed/$id.log or $DIR/logs/)" >&2; done
    return 1
  fi
  echo "sweep $NAME: all $TOTAL runs complete"
}

if [ $SLURM = 1 ]; then
  command -v sbatch >/dev/null || die "--slurm: sbatch not found (is this a Slurm login node?)"
  mkdir -p "$DIR/slurm"
  printf '%s\n' "${PENDING[@]}" > "$DIR/slurm/ids.txt"
  cat > "$DIR/slurm/sweep.sbatch" <<JOB
#!/bin/bash
#SBATCH --job-name=lnwarm-$NAME
#SBATCH --cpus-per-task=$THREADS
#SBATCH --output=$DIR/logs/slurm-%A_%a.log
set -euo pipefail
ID=\$(sed -n "\$((SLURM_ARRAY_TASK_ID + 1))p" "$DIR/slurm/ids.txt")
cd "$ROOT"
export RAYON_NUM_THREADS=$THREADS
if ! "$BIN" sweep run "$STUDY" --id "\$ID" --results "$RESULTS" --quiet > "$DIR/logs/\$ID.log" 2>&1; then
  cp "$DIR/logs/\$ID.log" "$DIR/failed/\$ID.log"
  exit 1
fi
JOB
  J=$(sbatch --parsable --array=0-$(( ${#PENDING[@]} - 1 )) "$DIR/slurm/sweep.sbatch")
  J=${J%%;*}
  echo "sweep $NAME: submitted Slurm job array $J (${#PENDING[@]} tasks)"
  [ $WAIT = 1 ] || { echo "$J"; exit 0; }
  START=$(date +%s); LAST=-1
  while squeue -h -j "$J" 2>/dev/null | grep -q .; do
    DONE=$(( TOTAL - $("$BIN" sweep plan "$STUDY" --results "$RESULTS" --ids --pending | wc -l) ))
    if [ "$DONE" != "$LAST" ]; then
      echo "sweep $NAME: $DONE/$TOTAL done, $(( $(date +%s) - START ))s"
      LAST=$DONE
    fi
    sleep 1
  done
  report_missing
  exit $?
fi

# Local: a pool of JOBS runs, THREADS threads each.
START=$(date +%s); DONE_NOW=0; FAILED=0
declare -A PIDS=()
run_one() {
  local id=$1
  if RAYON_NUM_THREADS=$THREADS "$BIN" sweep run "$STUDY" --id "$id" --results "$RESULTS" --quiet > "$DIR/logs/$id.log" 2>&1; then
    rm -f "$DIR/failed/$id.log"
  else
    cp "$DIR/logs/$id.log" "$DIR/failed/$id.log"
    return 1
  fi
}
# Reap one finished run (wait -n returns its status and, with -p, its pid).
reap() {
  local status=0
  wait -n -p DONE_PID || status=$?
  finish_one "$DONE_PID" "$status"
}
finish_one() {
  local pid=$1 status=$2 id=${PIDS[$1]}
  unset "PIDS[$pid]"
  DONE_NOW=$(( DONE_NOW + 1 ))
  local elapsed=$(( $(date +%s) - START ))
  local eta=$(( elapsed * (${#PENDING[@]} - DONE_NOW) / DONE_NOW ))
  if [ $status = 0 ]; then word=ok; else word="FAILED (log: $DIR/failed/$id.log)"; FAILED=$(( FAILED + 1 )); fi
  echo "[$DONE_NOW/${#PENDING[@]}] $id $word | ${elapsed}s elapsed, eta ${eta}s"
}
for id in "${PENDING[@]}"; do
  while [ ${#PIDS[@]} -ge "$JOBS" ]; do reap; done
  run_one "$id" & PIDS[$!]=$id
done
while [ ${#PIDS[@]} -gt 0 ]; do reap; done
report_missing || exit 1
[ $FAILED = 0 ]
