#!/usr/bin/env bash
# PrairieLearn external-grader entry point: grades the files in /grade/student with every check and
# writes /grade/results/results.json (score 0-1, gradable, tests, the plots as images). GRADE_ROOT,
# RESNET_LAB_GRADER and GRADER_FLAGS exist for testing this script outside PrairieLearn
# (tests/autograder.rs).
set -uo pipefail
root=${GRADE_ROOT:-/grade}
source_dir=${RESNET_LAB_SOURCE:-/opt/resnet-lab}
grader=${RESNET_LAB_GRADER:-$source_dir/target/release/grader}
[ -f "$HOME/.cargo/env" ] && source "$HOME/.cargo/env"
mkdir -p "$root/results"
work=$(mktemp -d)
# shellcheck disable=SC2086 # GRADER_FLAGS is a list of flags
(cd "$source_dir" 2>/dev/null || cd "$(dirname "$grader")"; "$grader" grade "$root/student" --format prairielearn --out "$work" --quiet ${GRADER_FLAGS:---release}) > "$work/stdout.txt" 2> "$work/stderr.txt"
if [ -f "$work/results.json" ]; then
  cp "$work/results.json" "$root/results/results.json"
else
  # The grader could not grade at all (exit 2): not the student's fault, so not gradable.
  python3 - "$work/stderr.txt" "$root/results/results.json" <<'PY'
import json, sys
reason = open(sys.argv[1]).read()[-4000:]
json.dump({"gradable": False, "score": 0,
           "message": "The autograder could not grade this submission:\n" + reason, "tests": []},
          open(sys.argv[2], "w"))
PY
fi
cat "$work/stdout.txt"
exit 0
