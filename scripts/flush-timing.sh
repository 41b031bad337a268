#!/usr/bin/env bash
# Side by side, one per core, one thread each (as Part A ran): the committed (unflushed) row and
# its flushed twin, for a high-rate and a low-rate Pre-LN cell and the slowest Peri-LN cell.
# Usage (repository root, after cargo build --release, on an otherwise idle machine):
#   scripts/flush-timing.sh    -> one "<id> unflushed|flushed <seconds> s" line per run;
# results in /tmp/ft-plain and /tmp/ft-flush (scripts/rows-reproduce.py /tmp/ft-plain checks the
# unflushed ones against the committed rows). docs/studies/flush-subnormals/README.md has a run.
set -u
B=target/release/lnwarm; A=experiments/why-warmup-cpu-part-a.json; F=experiments/flush-subnormals.json
rm -rf /tmp/ft-plain /tmp/ft-flush
pair() {
  ( /usr/bin/time -f "$1 unflushed %e s" $B sweep run $A --id $1 --results /tmp/ft-plain --threads 1 --quiet ) &
  ( /usr/bin/time -f "$2 flushed %e s" $B sweep run $F --id $2 --results /tmp/ft-flush --threads 1 --quiet ) &
  wait
}
pair pre-ln-adam-w0-lr3.2e-2-s1-2a0a9bdd pre-ln-adam-w0-lr3.2e-2-s1-305a1520
pair pre-ln-adam-w0-lr4e-3-s1-0a93af5b pre-ln-adam-w0-lr4e-3-s1-62d97e81
pair peri-ln-adam-w0-lr3.2e-2-s0-35fd0eb3 peri-ln-adam-w0-lr3.2e-2-s0-38575ae7
