#!/usr/bin/env bash
# Sets up, builds, compiles the bundled example (a 3-layer MLP, examples/mlp)
# for an NPU target, runs it on the simulator, and checks it against ONNX
# Runtime.
#   scripts/demo.sh [target] [dtype]      (defaults: atom fp32)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-atom}
dtype=${2:-fp32}
"$root/scripts/setup.sh"
bin=$root/build/bin
work=$root/build/demo
mkdir -p "$work"
model=$root/examples/mlp/mlp.onnx
echo
echo "== rbln-compile $model --target=$target --dtype=$dtype"
"$bin/rbln-compile" "$model" -o "$work/mlp.rbln" --target="$target" --dtype="$dtype"
echo
echo "== rbln-objdump --metadata"
"$bin/rbln-objdump" --metadata "$work/mlp.rbln"
echo
echo "== ONNX Runtime reference"
inputs=$("$root/.venv/bin/python" "$root/examples/mlp/reference.py" "$model" "$work")
rtol=1e-4; atol=1e-5
[ "$dtype" != fp32 ] && rtol=2e-2 && atol=1e-3
echo
echo "== rbln-run (simulated $target) against ONNX Runtime (rtol $rtol, atol $atol)"
# shellcheck disable=SC2086
"$bin/rbln-run" "$work/mlp.rbln" $inputs --output=- --expected-output=@"$work/ref_0.npy" \
  --rtol=$rtol --atol=$atol --stats --profile="$work/trace.json"
