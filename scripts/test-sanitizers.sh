#!/usr/bin/env bash
# Builds the runtime, simulator and their tests with AddressSanitizer and
# UndefinedBehaviorSanitizer (no compiler: it only links the uninstrumented
# MLIR libraries) and runs them, then the simulator's unit tests under
# ThreadSanitizer. Bad input to the runtime must never reach undefined
# behaviour, and the simulator's threads must not race. For the whole toolchain under sanitizers:
#   RBLN_CMAKE_ARGS=-DRBLN_SANITIZE=address,undefined scripts/setup.sh build-asan
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-sanitize}
"$root/scripts/setup.sh" "$root/build" >/dev/null   # packages and venv
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRBLN_ENABLE_COMPILER=OFF \
  -DRBLN_SANITIZE=address,undefined -DPython3_EXECUTABLE="$root/.venv/bin/python" "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
  ctest --output-on-failure -j "$(nproc)"
# The simulator's worker lanes (rings of jobs, cross-lane waits) under
# ThreadSanitizer: the simulator's unit tests run with 0, 1, 2, 3 and one
# thread per core.
tsan=$build-tsan
cmake -S "$root" -B "$tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRBLN_ENABLE_COMPILER=OFF \
  -DRBLN_SANITIZE=thread -DPython3_EXECUTABLE="$root/.venv/bin/python" "${launcher[@]}" >/dev/null
cmake --build "$tsan" -j "$(nproc)" --target rbln-unittests
TSAN_OPTIONS=halt_on_error=1 "$tsan/bin/rbln-unittests" --gtest_filter='Simulator*'
