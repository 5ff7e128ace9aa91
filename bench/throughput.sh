#!/usr/bin/env bash
# Grading throughput on this machine: waves of c identical correct submissions, every check, the
# full profile when DATA is given (GPU) else smoke, graded with `grader batch --jobs c`.
#
#   bench/throughput.sh [DATA_DIR] [c ...]        (default c: 1 4 8)
#
# GRADER=path/to/grader and RUNNER=path/to/grader-runner use prebuilt binaries (a GPU machine
# without Rust); otherwise the release grader is built and builds its runner per submission.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-}; shift || true
levels=${*:-1 4 8}
grader=${GRADER:-target/release/grader}
[ -n "${GRADER:-}" ] || cargo build -q --release -p resnet-lab-grader
profile=(--profile smoke); [ -n "$data" ] && profile=(--profile full --data "$data")
runner=(); [ -n "${RUNNER:-}" ] && runner=(--runner "$RUNNER")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 scripts/corpus.py "$work/corpus" correct > /dev/null
echo "jobs  submissions  seconds  per-hour"
for c in $levels; do
  mkdir -p "$work/in$c"
  for i in $(seq "$c"); do cp "$work/corpus/all/correct.zip" "$work/in$c/s$i.zip"; done
  start=$(date +%s.%N)
  "$grader" batch "$work/in$c" --out "$work/out$c" "${profile[@]}" "${runner[@]}" --jobs "$c" --release --quiet > /dev/null
  python3 - "$c" "$start" <<'PY'
import sys, time
c, start = int(sys.argv[1]), float(sys.argv[2])
took = time.time() - start
print(f"{c:>4}  {c:>11}  {took:7.1f}  {3600 * c / took:8.0f}")
PY
done
