#!/usr/bin/env bash
# Sets up, builds, then runs the two bundled examples on the simulator and
# checks them against ONNX Runtime: a small Llama-shaped decoder (random
# weights, test/models/llama_past.onnx) compiled into prefill and decode
# programs over a paged KV cache, generating tokens for a batch of prompts;
# and a 3-layer MLP (examples/mlp) with the modeled cycle summary.
#   scripts/demo.sh [target] [dtype]      (defaults: atom fp32)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-atom}
dtype=${2:-fp32}
"$root/scripts/setup.sh"
bin=$root/build/bin
work=$root/build/demo
mkdir -p "$work"
py=$root/.venv/bin/python

llm=$root/test/models/llama_past.onnx
echo
echo "== rbln-compile $llm (a decoder with past_key_values) --target=$target --dtype=$dtype"
"$bin/rbln-compile" "$llm" -o "$work/llama.rbln" --target="$target" --dtype="$dtype" \
  --max-seq-len=256 --kvcache-block-size=16 --prefill-chunk-size=32 --decode-batch-sizes=1,4
echo
echo "== rbln-run --generate: 4 prompts as one continuous batch, 32 new tokens each"
prompts=(--prompt=1,15,27 --prompt=5,9,2,44,71,300,12,8 --prompt=400,3 --prompt=17,17,23,99,150,6)
echo "${prompts[*]}" >"$work/generate.txt"
"$bin/rbln-run" "$work/llama.rbln" --generate "${prompts[@]}" --max-new-tokens=32 | tee -a "$work/generate.txt"
if [ "$dtype" = fp32 ]; then
  echo
  echo "== the same prompts through ONNX Runtime's own past_key_values loop"
  "$py" "$root/examples/llm/check_tokens.py" "$llm" "$work/generate.txt"
fi

model=$root/examples/mlp/mlp.onnx
echo
echo "== rbln-compile $model --target=$target --dtype=$dtype"
"$bin/rbln-compile" "$model" -o "$work/mlp.rbln" --target="$target" --dtype="$dtype"
echo
echo "== rbln-objdump --metadata"
"$bin/rbln-objdump" --metadata "$work/mlp.rbln"
echo
echo "== ONNX Runtime reference"
inputs=$("$py" "$root/examples/mlp/reference.py" "$model" "$work")
rtol=1e-4; atol=1e-5
[ "$dtype" != fp32 ] && rtol=2e-2 && atol=1e-3
echo
echo "== rbln-run (simulated $target) against ONNX Runtime (rtol $rtol, atol $atol)"
# shellcheck disable=SC2086
"$bin/rbln-run" "$work/mlp.rbln" $inputs --output=- --expected-output=@"$work/ref_0.npy" \
  --rtol=$rtol --atol=$atol --stats --profile="$work/trace.json"
