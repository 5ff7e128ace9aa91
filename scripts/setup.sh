#!/usr/bin/env bash
# Makes libtorch 2.11.0 available to cargo, then writes .cargo/config.toml so that plain `cargo build`,
# `cargo test` and rust-analyzer find it with no environment variables.
#
#   - LIBTORCH already set: that libtorch is checked (it must be 2.11.0) and used.
#   - Otherwise: torch==2.11.0 from PyPI in ./.venv (created if missing; ~2.7 GB download, ~2 min).
#
# Safe to re-run: an existing, correct setup is kept as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
want=2.11.0
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Prints the torch version found under a libtorch directory (pip layout or the official zip layout).
libtorch_version() {
  local dir=$1
  if [ -f "$dir/version.py" ]; then
    sed -n "s/^__version__ = '\([^']*\)'.*/\1/p" "$dir/version.py" | head -n1
  elif [ -f "$dir/build-version" ]; then
    head -n1 "$dir/build-version"
  fi
}

check_libtorch() {
  local dir=$1 version
  [ -d "$dir/lib" ] && ls "$dir/lib"/libtorch_cpu.* >/dev/null 2>&1 \
    || die "LIBTORCH=$dir does not hold lib/libtorch_cpu.so. Point LIBTORCH at a libtorch $want directory, or unset it to install torch==$want into ./.venv."
  version=$(libtorch_version "$dir")
  case "$version" in
    "$want"|"$want"+*) say "libtorch $version at $dir" ;;
    "") die "cannot tell the version of the libtorch at $dir (no version.py or build-version). tch 0.24 needs libtorch $want exactly." ;;
    *) die "the libtorch at $dir is $version, but tch 0.24 needs $want exactly. Install torch==$want (unset LIBTORCH and re-run make setup) or point LIBTORCH at libtorch $want." ;;
  esac
}

if [ -n "${LIBTORCH:-}" ]; then
  libtorch=$(cd "$LIBTORCH" 2>/dev/null && pwd) || die "LIBTORCH=$LIBTORCH does not exist."
  check_libtorch "$libtorch"
else
  python=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    command -v "$python" >/dev/null || die "no python3 found; install Python 3.10+ or set LIBTORCH to a libtorch $want directory."
    say "creating ./.venv with $($python --version 2>&1)"
    "$python" -m venv .venv || die "python3 -m venv failed; install the python3-venv package (Debian/Ubuntu) and re-run."
  fi
  installed=$(.venv/bin/python - <<'PY' 2>/dev/null || true
import importlib.metadata as m
try:
    print(m.version("torch"))
except m.PackageNotFoundError:
    pass
PY
)
  case "$installed" in
    "$want"|"$want"+*) say "torch $installed already in ./.venv" ;;
    *)
      [ -n "$installed" ] && say "./.venv holds torch $installed, but tch 0.24 needs $want: replacing it"
      say "installing torch==$want from PyPI into ./.venv (about 2.7 GB download, 4.6 GB on disk; ~2 minutes on a fast link)"
      .venv/bin/pip install --disable-pip-version-check -q "torch==$want" \
        || die "pip could not install torch==$want. Check your network or proxy, or set LIBTORCH to a libtorch $want directory."
      ;;
  esac
  # The instructor's workspace (it has bench/): its PyTorch parity test and
  # bench/pytorch_baseline.py read safetensors with numpy.
  if [ -d bench ]; then
    .venv/bin/python -c 'import safetensors, numpy' 2>/dev/null \
      || .venv/bin/pip install --disable-pip-version-check -q safetensors numpy \
      || die "pip could not install safetensors and numpy into ./.venv."
  fi
  libtorch=$(.venv/bin/python -c 'import torch, os; print(os.path.dirname(torch.__file__))') \
    || die "./.venv/bin/python cannot import torch; delete ./.venv and re-run make setup."
  check_libtorch "$libtorch"
fi

mkdir -p .cargo
config=.cargo/config.toml
cat > "$config.tmp" <<TOML
# Written by scripts/setup.sh (make setup); re-run it to change. Ignored by git.
[env]
LIBTORCH = "$libtorch"
TOML
# Unchanged: keep it (a rewrite would make cargo rebuild torch-sys), but newer than this script, so
# that make does not run the set-up again before every command.
if cmp -s "$config.tmp" "$config" 2>/dev/null; then rm "$config.tmp"; touch "$config"; else mv "$config.tmp" "$config"; say "wrote $config"; fi
command -v cargo >/dev/null || die "cargo not found; install Rust from https://rustup.rs and re-run."
say "ready: plain cargo build / cargo test now find libtorch $want (first build of tch takes ~3-5 minutes)"
