#!/usr/bin/env bash
# Gradescope image setup (runs once when the autograder is uploaded): Rust, libtorch 2.11.0 from
# PyPI, a release build of the grader, and a warm build of the checks against the pristine student
# crate, so that each submission costs one incremental build.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq curl build-essential python3 python3-venv python3-pip git zip bubblewrap >/dev/null
if ! command -v cargo >/dev/null; then
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
source "$HOME/.cargo/env"
cd /autograder/source
make setup
cargo build --release -p resnet-lab-grader
# Warm the shared target folder: dependencies and libtorch bindings compile here, once.
target/release/grader check --crate student --release --only basic_block.shape --quiet --out /tmp/warm || true
