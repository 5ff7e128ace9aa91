#!/usr/bin/env bash
# Installs Debian's bubblewrap, which builds the sandbox a submission's code runs in (README, "Trust
# model"). As root it installs the package; otherwise it says how. Grading still works without it,
# with weaker protections that every report names.
set -uo pipefail
say() { printf 'setup: %s\n' "$*"; }
if command -v bwrap >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  say "bubblewrap is not installed: submissions will be graded with weaker isolation (the report says which)."
  say "install it with your package manager (Debian/Ubuntu: sudo apt-get install bubblewrap)."
  exit 0
fi
say "installing bubblewrap (Debian package) for the worker sandbox"
if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; }; } >/tmp/resnet-lab-bubblewrap.log 2>&1; then
  tail -5 /tmp/resnet-lab-bubblewrap.log
  say "could not install bubblewrap; grading will use weaker isolation (the report says which)."
fi
exit 0
