#!/usr/bin/env bash
# One command for every benchmark: end-to-end cases next to their floors, then the store and
# archive micro-benchmarks. Prints tables; asserts nothing. Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 bench/bench.py "$@"
echo
cargo bench -q -p dist-store --bench store_bench
echo
cargo bench -q -p dist-recipes --bench archive_bench
