#!/usr/bin/env bash
# Grading throughput on this machine: waves of c identical correct submissions, every check, the
# full profile when DATA is given (GPU) else smoke, graded with `grader batch --jobs c`.
#
#   bench/throughput.sh [DATA_DIR] [c ...]        (default c: 1 4 8)
#
# On a GPU it starts the MPS daemon for the measurement (MPS=0: without) and stops it after.
# GRADER=path/to/grader, JUDGE=path/to/grader-judge and WORKER=path/to/grader-worker (built against
# the corpus submission) use prebuilt binaries (a GPU machine
# without Rust); otherwise the release grader is built and builds a worker per submission.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-}; shift || true
levels=${*:-1 4 8}
grader=${GRADER:-target/release/grader}
[ -n "${GRADER:-}" ] || cargo build -q --release -p resnet-lab-grader
profile=(--profile smoke); [ -n "$data" ] && profile=(--profile full --data "$data")
runner=(); [ -n "${JUDGE:-}" ] && runner+=(--judge "$JUDGE"); [ -n "${WORKER:-}" ] && runner+=(--worker "$WORKER")
mps=off
# Concurrent check processes share the GPU far better through MPS than by time-slicing (c=1:
# 37 s → 31 s per submission on an H100); MPS=0 measures without it.
if [ -n "$data" ] && [ "${MPS:-1}" = 1 ] && command -v nvidia-cuda-mps-control >/dev/null \
   && nvidia-cuda-mps-control -d 2>/dev/null; then
  mps=on
fi
work=$(mktemp -d)
trap 'rm -rf "$work"; [ $mps = on ] && echo quit | nvidia-cuda-mps-control' EXIT
echo "MPS: $mps"
# A correct submission: the solution's answer files (the demo's alice_correct.zip).
"$grader" samples "$work/samples" > /dev/null
echo "jobs  submissions  seconds  per-hour"
for c in $levels; do
  mkdir -p "$work/in$c"
  for i in $(seq "$c"); do cp "$work/samples/alice_correct.zip" "$work/in$c/s$i.zip"; done
  start=$(date +%s.%N)
  "$grader" batch "$work/in$c" --out "$work/out$c" "${profile[@]}" "${runner[@]}" --jobs "$c" --release --quiet > /dev/null
  python3 - "$c" "$start" <<'PY'
import sys, time
c, start = int(sys.argv[1]), float(sys.argv[2])
took = time.time() - start
print(f"{c:>4}  {c:>11}  {took:7.1f}  {3600 * c / took:8.0f}")
PY
done
