#!/usr/bin/env bash
# Run a study: every pending run of experiments/NAME.json, on the local cores or as a Slurm job array.
#
#   scripts/sweep.sh experiments/NAME.json [--jobs N] [--threads T] [--results DIR]
#                    [--checkpoint-every U] [--tensorboard DIR] [--slurm [--no-wait]]
#
# Locally: N runs at a time (default: the number of cores), each with T candle threads (default 1,
# so N*T never exceeds the cores: candle's thread pool collapses when they are oversubscribed).
# Finished runs are skipped (their result JSON is complete); a failed run is recorded in
# <results>/<study>/failed/<id>.log and the sweep goes on; the exit code is 1 if any run failed.
# Killed at any moment and started again, it completes every run exactly once: results are
# written atomically, a run still executing in an orphaned process is waited for (its lock), and
# an unfinished run continues from its checkpoint (every U updates, default 500), bit for bit.
# Ctrl-C (or SIGTERM) lets every running run finish its update and checkpoint, then exits 130
# (143); the same command continues the sweep.
# With --slurm: one job array, one task per pending run, logs in <results>/<study>/logs/;
# tasks are requeueable and get SIGTERM 120 s before their time limit, so a preempted or
# requeued task continues its run from the checkpoint. Waits and reports failed tasks, or with
# --no-wait prints the job id and returns.
# Before the runs it prints a warning line for each claim its seed counts cannot decide
# (lnwarm sweep plan STUDY --power has the whole design check).
# LNWARM_BIN overrides the binary (default: target/release/lnwarm, built if needed).
set -euo pipefail

# Started in the background by a non-interactive shell (`scripts/sweep.sh ... &` in a script,
# nohup), a sweep inherits SIGINT ignored, and bash cannot trap a signal ignored on entry: it
# would ignore Ctrl-C and kill -INT. Restore the default once (coreutils' env) so that it stops
# like a sweep in the foreground (issue 33).
if [ -z "${LNWARM_SWEEP_SIGNALS:-}" ] && env --default-signal=INT true 2>/dev/null; then
  export LNWARM_SWEEP_SIGNALS=1
  exec env --default-signal=INT bash "$0" "$@"
fi
# The command as typed, for the line that says how to continue.
CONTINUE=$(printf '%q ' "$0" "$@")

usage() { echo "usage: scripts/sweep.sh experiments/NAME.json [--jobs N] [--threads T] [--results DIR] [--checkpoint-every U] [--tensorboard DIR] [--slurm [--no-wait]]" >&2; exit 2; }
die() { echo "error: $*" >&2; exit 2; }

[ $# -ge 1 ] || usage
STUDY=$1; shift
[ -f "$STUDY" ] || die "study $STUDY: no such file (allowed: a study JSON such as experiments/smoke.json)"
CORES=$(nproc)
JOBS=""; THREADS=""; RESULTS=results; SLURM=0; WAIT=1; CKPT=500; TB=()
while [ $# -gt 0 ]; do
  case $1 in
    --jobs) JOBS=${2:-}; shift 2 ;;
    --threads) THREADS=${2:-}; shift 2 ;;
    --results) RESULTS=${2:-}; shift 2 ;;
    --checkpoint-every) CKPT=${2:-}; shift 2 ;;
    --tensorboard) [ -n "${2:-}" ] || die "--tensorboard needs a folder"; TB=(--tensorboard "$(realpath -m "$2")"); shift 2 ;;
    --slurm) SLURM=1; shift ;;
    --no-wait) WAIT=0; shift ;;
    *) die "unknown argument '$1' (allowed: --jobs N, --threads T, --results DIR, --checkpoint-every U, --tensorboard DIR, --slurm, --no-wait)" ;;
  esac
done
is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
THREADS=${THREADS:-1}
is_count "$THREADS" || die "--threads $THREADS: must be a positive integer"
JOBS=${JOBS:-$(( CORES / THREADS > 0 ? CORES / THREADS : 1 ))}
is_count "$JOBS" || die "--jobs $JOBS: must be a positive integer"
[[ $CKPT =~ ^[0-9]+$ ]] || die "--checkpoint-every $CKPT: must be a number of updates (0: only when interrupted)"

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
# The design check: a warning line per claim the seed counts cannot decide (both ways), before
# any CPU hour is spent (the whole check: lnwarm sweep plan STUDY --power).
"$BIN" sweep plan "$STUDY" --power | grep '^warning:' | sed "s|^|sweep $NAME: |" >&2 || true

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
#SBATCH --requeue
#SBATCH --signal=B:TERM@120
set -uo pipefail
ID=\$(sed -n "\$((SLURM_ARRAY_TASK_ID + 1))p" "$DIR/slurm/ids.txt")
cd "$ROOT"
export RAYON_NUM_THREADS=$THREADS
# SIGTERM (the time limit, preemption, scontrol requeue) reaches lnwarm, which finishes its
# update, checkpoints and exits 143; the requeued task continues from the checkpoint.
"$BIN" sweep run "$STUDY" --id "\$ID" --results "$RESULTS" --checkpoint-every $CKPT ${TB[*]:-} --quiet > "$DIR/logs/\$ID.log" 2>&1 &
CHILD=\$!
trap 'kill -TERM \$CHILD 2>/dev/null' TERM
STATUS=0
wait \$CHILD || STATUS=\$?
while kill -0 \$CHILD 2>/dev/null; do STATUS=0; wait \$CHILD || STATUS=\$?; done
case \$STATUS in
  0) ;;
  130|143) echo "\$ID: interrupted, checkpointed (exit \$STATUS)"; exit \$STATUS ;;
  *) cp "$DIR/logs/\$ID.log" "$DIR/failed/\$ID.log"; exit 1 ;;
esac
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
  local id=$1 child status=0
  # Forwarded by the sweep's own trap: the run finishes its update, checkpoints, exits 143.
  trap 'kill -TERM $child 2>/dev/null' TERM
  RAYON_NUM_THREADS=$THREADS "$BIN" sweep run "$STUDY" --id "$id" --results "$RESULTS" \
    --checkpoint-every "$CKPT" "${TB[@]}" --quiet > "$DIR/logs/$id.log" 2>&1 &
  child=$!
  wait $child || status=$?
  # A trap ends `wait` early: wait until the run has written its checkpoint and exited.
  while kill -0 $child 2>/dev/null; do status=0; wait $child || status=$?; done
  case $status in
    0) rm -f "$DIR/failed/$id.log" ;;
    130|143) return $status ;;
    *) cp "$DIR/logs/$id.log" "$DIR/failed/$id.log"; return 1 ;;
  esac
}
# Ctrl-C or SIGTERM: every running run checkpoints; the same command continues the sweep.
stop_all() {
  local code=$1
  trap '' INT TERM
  echo "sweep $NAME: interrupted; ${#PIDS[@]} running run(s) finish their update and checkpoint" >&2
  for pid in "${!PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait
  echo "sweep $NAME: stopped; run the same command to continue (finished runs are kept, the others resume): ${CONTINUE% }" >&2
  exit "$code"
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
  case $status in
    0) word=ok ;;
    130|143) word="interrupted (checkpointed)" ;;
    *) word="FAILED (log: $DIR/failed/$id.log)"; FAILED=$(( FAILED + 1 )) ;;
  esac
  echo "[$DONE_NOW/${#PENDING[@]}] $id $word | ${elapsed}s elapsed, eta ${eta}s"
  # A run stopped by a signal that did not reach the sweep (sent to the run, or to the group
  # before the trap ran): the user is stopping; stop the sweep the same way, not as a failure.
  case $status in 130|143) stop_all "$status" ;; esac
}
trap 'stop_all 130' INT
trap 'stop_all 143' TERM
for id in "${PENDING[@]}"; do
  while [ ${#PIDS[@]} -ge "$JOBS" ]; do reap; done
  run_one "$id" & PIDS[$!]=$id
done
while [ ${#PIDS[@]} -gt 0 ]; do reap; done
report_missing || exit 1
[ $FAILED = 0 ]
