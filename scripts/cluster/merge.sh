#!/bin/bash
# Merges the shards a course's grading wrote (OUT/shard-*) into OUT/all: the gradebook, the
# dashboard and every student's page; the body of the Slurm merge job (submitted with
# --dependency=afterok on the array) and of the Kubernetes merge Job.
#
#   merge.sh OUT        (GRADER: default target/release/grader)
set -euo pipefail
out=${1:?usage: merge.sh OUT}
grader=${GRADER:-target/release/grader}
shopt -s nullglob
shards=("$out"/shard-*)
if [ ${#shards[@]} -eq 0 ]; then
  echo "merge.sh: no $out/shard-* folders: did the grading tasks run?" >&2
  exit 2
fi
"$grader" merge "${shards[@]}" --out "$out/all"
echo "dashboard: $out/all/index.html"
