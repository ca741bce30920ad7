#!/usr/bin/env bash
# Installs everything rbln needs on a fresh Debian 12 machine (run as root), then configures and
# builds. Idempotent: a second run only rebuilds what changed.
#   scripts/setup.sh [build-dir]     (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}

pkgs=(cmake ninja-build ccache g++ python3-venv
      libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
      libonnx-dev protobuf-compiler libprotobuf-dev libcli11-dev libfmt-dev
      googletest libgtest-dev libeigen3-dev libopenblas-dev)
"$root/scripts/apt-install.sh" setup "${pkgs[@]}"

# Python oracles (ONNX Runtime, the onnx package, numpy) in a project virtual environment.
venv=$root/.venv
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import onnx, onnxruntime, numpy, pytest, onnx_ir" 2>/dev/null; then
  echo "[setup] installing onnx, onnxruntime, onnx-ir, numpy, pytest into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/scripts/requirements.txt"
fi
# The rbln Python package (python/rbln) from this checkout, importable in the
# venv; it finds this build's runtime library and tools (or $RBLN_HOME's).
site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
[ -f "$site/rbln-checkout.pth" ] || echo "$root/python" >"$site/rbln-checkout.pth"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${RBLN_BUILD_TYPE:-Release} \
    -DPython3_EXECUTABLE="$venv/bin/python" "${launcher[@]}" ${RBLN_CMAKE_ARGS:-}
fi
echo "[setup] building in $build"
cmake --build "$build" -j "$(nproc)"
