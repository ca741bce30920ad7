#!/usr/bin/env bash
# Sets up, builds and runs every test: lit (dialects, passes, importer, emit
# round trip), GoogleTest (ISA, simulator, loader), end-to-end against ONNX
# Runtime, determinism and docs checks.
#   scripts/test.sh [ctest args...]       e.g. scripts/test.sh -R e2e
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root/build"
ctest --output-on-failure -j "$(nproc)" "$@"
