#!/bin/bash
# Grades one shard of a course's submissions: the body of a Slurm array task or of a Kubernetes
# Indexed Job pod. Which shard comes from the scheduler:
#   Slurm:       SLURM_ARRAY_TASK_ID (1-based) of SLURM_ARRAY_TASK_COUNT
#   Kubernetes:  JOB_COMPLETION_INDEX (0-based) of SHARDS (the Job's `completions`)
#
#   grade-shard.sh SUBMISSIONS OUT       writes OUT/shard-K (resumable: a rerun skips what is graded)
#
# Settings (environment): GRADER (default target/release/grader), PROFILE (full, or smoke on a
# CPU), DATA (the CIFAR-10 folder; the full profile needs it), JOBS (submissions graded at once,
# default 4 on a GPU, 1 on a CPU), MPS (1: start the CUDA MPS daemon for this node's GPU when
# there is one, the README's "Measured" section says why), GRADER_FLAGS (more `grader batch` flags).
set -euo pipefail
submissions=${1:?usage: grade-shard.sh SUBMISSIONS OUT}
out=${2:?usage: grade-shard.sh SUBMISSIONS OUT}
if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
  index=$SLURM_ARRAY_TASK_ID
  count=${SLURM_ARRAY_TASK_COUNT:?Slurm sets SLURM_ARRAY_TASK_COUNT for an array job}
elif [ -n "${JOB_COMPLETION_INDEX:-}" ]; then
  index=$((JOB_COMPLETION_INDEX + 1))
  count=${SHARDS:?set SHARDS to the number of completions of the Indexed Job}
else
  echo "grade-shard.sh: no shard: run it as a Slurm array task or a Kubernetes Indexed Job" >&2
  exit 64
fi
grader=${GRADER:-target/release/grader}
profile=${PROFILE:-full}
flags=(--profile "$profile")
if [ "$profile" = full ]; then
  : "${DATA:?set DATA to the CIFAR-10 folder (cifar-10-batches-bin) for the full profile}"
  flags+=(--data "$DATA" --release)
  jobs=${JOBS:-4}
else
  jobs=${JOBS:-1}
fi
mps=off
if [ "$profile" = full ] && [ "${MPS:-1}" = 1 ] && command -v nvidia-cuda-mps-control >/dev/null; then
  # One MPS daemon per node, for this task's GPU; stopped when the task ends.
  export CUDA_MPS_PIPE_DIRECTORY=${TMPDIR:-/tmp}/mps-$index CUDA_MPS_LOG_DIRECTORY=${TMPDIR:-/tmp}/mps-log-$index
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  if nvidia-cuda-mps-control -d; then
    mps=on
    trap 'echo quit | nvidia-cuda-mps-control' EXIT
  fi
fi
echo "shard $index/$count: $submissions -> $out/shard-$index (profile $profile, --jobs $jobs, MPS $mps)"
# shellcheck disable=SC2086 # GRADER_FLAGS is a list of flags
"$grader" batch "$submissions" --out "$out/shard-$index" --shard "$index/$count" --jobs "$jobs" \
  "${flags[@]}" ${GRADER_FLAGS:-}
