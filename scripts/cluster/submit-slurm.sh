#!/bin/bash
# Grades a course on a Slurm cluster: an array of N grading tasks (one GPU each), then a merge
# job that starts only when every task succeeded (--dependency=afterok).
#
#   DATA=/shared/cifar-10 scripts/cluster/submit-slurm.sh N SUBMISSIONS OUT
#
# A failed task can be resubmitted alone (sbatch --array=K scripts/cluster/grade-array.sbatch
# SUBMISSIONS OUT); it skips what it already graded. Then run the merge again
# (sbatch scripts/cluster/merge.sbatch OUT).
set -euo pipefail
shards=${1:?usage: submit-slurm.sh N SUBMISSIONS OUT}
submissions=${2:?usage: submit-slurm.sh N SUBMISSIONS OUT}
out=${3:?usage: submit-slurm.sh N SUBMISSIONS OUT}
sbatch=${SBATCH:-sbatch}
array=$("$sbatch" --parsable --export=ALL --array="1-$shards" scripts/cluster/grade-array.sbatch "$submissions" "$out")
array=${array%%;*}
merge=$("$sbatch" --parsable --export=ALL --dependency="afterok:$array" scripts/cluster/merge.sbatch "$out")
echo "grading: array job $array ($shards tasks); merge: job $merge (after all of them)"
