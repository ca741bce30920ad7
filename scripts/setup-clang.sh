#!/usr/bin/env bash
# Configures a clang-22 build of the whole toolchain (compiler, runtime,
# simulator, tools, tests, fuzz targets) with AddressSanitizer,
# UndefinedBehaviorSanitizer including float-cast-overflow (which GCC's
# -fsanitize=undefined leaves out) and libFuzzer coverage. Installs clang-22,
# its sanitizer runtimes and lld from Debian if missing. Shared libraries and
# ccache keep rebuilds short.
#   scripts/setup-clang.sh [BUILD_DIR=build-fuzz]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-fuzz}
"$root/scripts/setup.sh" "$root/build" >/dev/null   # packages, venv (and the main build)
pkgs=(clang-22 libclang-rt-22-dev lld-22)
"$root/scripts/apt-install.sh" setup-clang "${pkgs[@]}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_CXX_FLAGS="-gline-tables-only" -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld-22 -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld-22 \
    -DRBLN_SANITIZE=address,undefined,float-cast-overflow -DRBLN_FUZZ=ON \
    -DPython3_EXECUTABLE="$root/.venv/bin/python" "${launcher[@]}" >/dev/null
fi
