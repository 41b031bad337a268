#!/usr/bin/env bash
# Real single-node Slurm (Debian's slurm-wlm): install, configure, start, run experiments/smoke.json
# through scripts/sweep.sh --slurm, check every result arrived; requeue a running task and check
# its run continued from its checkpoint to the uninterrupted result; both with --tensorboard, read
# back by TensorBoard's own reader (.ci/check-tensorboard.py); stop the daemons by PID.
# Needs root (LNWARM_BIN: any build; TensorBoard is in every build). Recipe:
# ../shared/slurm-single-node.md. Usage: .ci/slurm-smoke.sh LNWARM_BIN
set -euo pipefail
BIN=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=/tmp/lnwarm-slurm
RESULTS=$(mktemp -d /tmp/lnwarm-slurm-results.XXXX)

bash "$ROOT/.ci/install-tools.sh" slurm

rm -rf "$S"; mkdir -p "$S"/{state,spool,log}
chown -R slurm:slurm "$S"
HOST=$(hostname -s)
NODE=$(slurmd -C | head -1 | sed -E "s/^NodeName=[^ ]+/NodeName=$HOST/; s/RealMemory=[0-9]+/RealMemory=1000/")
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=$HOST(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
# Requeued jobs wait out the credential lifetime (default 120 s) before they start again.
AuthInfo=cred_expire=5
SlurmUser=slurm
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
InactiveLimit=0
MinJobAge=300
KillWait=5
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF

stop() {
  for f in "$S/slurmd.pid" "$S/slurmctld.pid" /run/munge/munged.pid; do
    [ -s "$f" ] || continue
    p=$(cat "$f"); kill -TERM "$p" 2>/dev/null || continue
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
}
trap stop EXIT

mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge; chmod 755 /run/munge
[ -s /etc/munge/munge.key ] || { mungekey --create --force; chown munge:munge /etc/munge/munge.key; }
runuser -u munge -- /usr/sbin/munged
munge -n | unmunge >/dev/null
/usr/sbin/slurmctld
/usr/sbin/slurmd
for _ in $(seq 1 120); do [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break; sleep 0.25; done
sinfo

cd "$ROOT"
LNWARM_BIN=$BIN scripts/sweep.sh experiments/smoke.json --slurm --results "$RESULTS" --tensorboard "$RESULTS/tb"
EXPECTED=$("$BIN" sweep plan experiments/smoke.json --results "$RESULTS" --ids | wc -l)
GOT=$(find "$RESULTS/smoke" -maxdepth 1 -name '*.json' ! -name study.json | wc -l)
PENDING=$("$BIN" sweep plan experiments/smoke.json --results "$RESULTS" --ids --pending | wc -l)
echo "slurm smoke: $GOT of $EXPECTED results, $PENDING pending"
[ "$GOT" = "$EXPECTED" ] && [ "$PENDING" = 0 ]
if grep -v 'JobState=COMPLETED' "$S/log/jobcomp.txt"; then echo "a Slurm task did not complete"; exit 1; fi
# One TensorBoard run per lnwarm run, read back by TensorBoard's own reader.
python3 .ci/check-tensorboard.py "$RESULTS/smoke" "$RESULTS/tb"

# Requeue: Slurm stops a running task (SIGTERM, as on preemption) and starts it again; the run
# must continue from its checkpoint and end equal to a run that was never interrupted.
REQ=.ci/slurm-requeue.json
J=$(LNWARM_BIN=$BIN scripts/sweep.sh $REQ --slurm --no-wait --results "$RESULTS" --checkpoint-every 100 --tensorboard "$RESULTS/tb-requeue" | tail -1)
RDIR=$("$BIN" sweep plan $REQ --results "$RESULTS" --dir)
ID=$("$BIN" sweep plan $REQ --results "$RESULTS" --ids)
for _ in $(seq 1 1200); do [ -f "$RDIR/$ID.json.ckpt/state.json" ] && break; sleep 0.05; done
[ -f "$RDIR/$ID.json.ckpt/state.json" ] || { echo "requeue: no checkpoint of $ID within 60 s"; exit 1; }
scontrol requeue "${J}_0"
echo "requeue: requeued task ${J}_0 after its checkpoint at update $(grep -m1 '"update"' "$RDIR/$ID.json.ckpt/state.json" | tr -dc 0-9)"
for _ in $(seq 1 1200); do squeue -h -j "$J" 2>/dev/null | grep -q . || break; sleep 0.25; done
scontrol show job "$J" | grep -oE "JobState=[A-Z]+|Restarts=[0-9]+" | tr '\n' ' '; echo
scontrol show job "$J" | grep -q "Restarts=1" || { echo "requeue: the task was not restarted"; exit 1; }
RAYON_NUM_THREADS=1 "$BIN" sweep run $REQ --id "$ID" --results "$RESULTS/uninterrupted" --checkpoint-every 0 --quiet
node .ci/same-run.js "$RDIR/$ID.json" "$RESULTS/uninterrupted/$(basename "$RDIR")/$ID.json"
# Its two event files (before and after the requeue) show every step once in TensorBoard.
python3 .ci/check-tensorboard.py "$RDIR" "$RESULTS/tb-requeue"

"$BIN" compare "$RESULTS/smoke" --out "$RESULTS/compare" > /dev/null
echo "$RESULTS/compare/index.html" > /tmp/lnwarm-compare-page
echo "slurm smoke: ok"
