#!/usr/bin/env bash
# The whole toolchain under sanitizers, as CI runs it:
#  1. compiler, runtime, simulator, tools and tests built with clang-22,
#     AddressSanitizer and UndefinedBehaviorSanitizer (with float-cast-overflow)
#     by scripts/setup-clang.sh (the same build the fuzz targets use), then
#     every unit, lit and end-to-end test under them — all of ctest except the
#     Python package's tests, whose ctypes loads the library into an
#     uninstrumented interpreter;
#  2. the simulator's worker lanes (rings of jobs, cross-lane waits) under
#     ThreadSanitizer: its unit tests with 0, 1, 2, 3 and one thread per core.
# Bad input must never reach undefined behaviour; the simulator's threads
# must not race.
#   scripts/test-sanitizers.sh [BUILD_DIR=build-fuzz]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-fuzz}
"$root/scripts/setup-clang.sh" "$build"
echo "[sanitizers] building the whole toolchain with clang-22 ASan + UBSan in $build"
cmake --build "$build" -j "$(nproc)"
(
  cd "$build"
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
    ctest --output-on-failure -j "$(nproc)" -E '^python/'
)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
tsan=$root/build-sanitize-tsan
cmake -S "$root" -B "$tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRBLN_ENABLE_COMPILER=OFF \
  -DRBLN_SANITIZE=thread -DPython3_EXECUTABLE="$root/.venv/bin/python" "${launcher[@]}" >/dev/null
cmake --build "$tsan" -j "$(nproc)" --target rbln-unittests
TSAN_OPTIONS=halt_on_error=1 "$tsan/bin/rbln-unittests" --gtest_filter='Simulator*'
