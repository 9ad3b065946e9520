#!/usr/bin/env bash
# One command for every benchmark, on a fresh machine: installs upstream cargo-dist 0.34.0 for
# the side-by-side columns when it is missing (about 11 minutes on 2 cores; set
# UPSTREAM_DIST=none to skip it, or to a path to use another build), then runs the end-to-end
# cases next to their floors, then the store, archive and key micro-benchmarks.
# Prints tables; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

upstream=${UPSTREAM_DIST:-}
if [ -z "$upstream" ]; then
  root="${XDG_CACHE_HOME:-$HOME/.cache}/cargo-dist-bench/upstream-0.34.0"
  upstream="$root/bin/dist"
  if [ ! -x "$upstream" ]; then
    echo "installing cargo-dist 0.34.0 into $root (once)" >&2
    cargo install cargo-dist --version 0.34.0 --locked --root "$root" >&2
  fi
fi
args=("$@")
if [ "$upstream" != "none" ]; then
  args+=(--upstream "$upstream")
fi
python3 bench/bench.py "${args[@]}"
echo
cargo bench -q -p dist-store --bench store_bench
echo
cargo bench -q -p dist-recipes --bench archive_bench
echo
cargo bench -q --bench keys
