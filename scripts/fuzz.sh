#!/usr/bin/env bash
# Builds the toolchain with clang-22, AddressSanitizer, UndefinedBehaviorSanitizer
# (with float-cast-overflow) and libFuzzer coverage, then runs each fuzz target
# for a bounded time on seed corpora made from the test fixtures:
#   rbln-fuzz-onnx       ONNX protobuf -> the whole compile pipeline (tiny, to ISA)
#   rbln-fuzz-onnxtxt    ONNX text format -> the same
#   rbln-fuzz-artifact   .rbln bytes -> loader, validator, disassembler, runtime, one LLM step
#   rbln-fuzz-simulator  structure-aware random programs -> validator, simulator
# A crash, a sanitizer report, a hang past -timeout or memory past -rss_limit_mb
# fails the run; the input is kept in BUILD/fuzz-findings/<target>/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET=60 | ci] [BUILD_DIR=build-fuzz] [TARGET...]
#
# `ci` runs a fixed number of inputs per target from a fixed seed (about 30 s
# each here): the same inputs on every machine, so CI's outcome does not
# depend on its speed. A number runs each target for that many seconds.
#
# The same build runs every test under the sanitizers: scripts/test-sanitizers.sh --full.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${2:-$root/build-fuzz}
shift $(( $# > 2 ? 2 : $# )) || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rbln-fuzz-onnx rbln-fuzz-onnxtxt rbln-fuzz-artifact rbln-fuzz-simulator)

"$root/scripts/setup-clang.sh" "$build"
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" rbln-compile >/dev/null

# Seed corpora (regenerated each run; the fuzzers' own corpora persist).
seeds=$build/fuzz-seeds
rm -rf "$seeds" && mkdir -p "$seeds"/{onnx,onnxtxt,artifact,simulator}
find "$root/test/lit" -name '*.onnxtxt' -exec cp {} "$seeds/onnxtxt/" \;
"$root/.venv/bin/python" -W ignore - "$root" "$seeds/onnx" <<'EOF'
import glob, os, sys
import onnx
from onnx import parser
root, out = sys.argv[1], sys.argv[2]
n = 0
for p in sorted(glob.glob(os.path.join(root, "test/lit/**/*.onnxtxt"), recursive=True)):
    try:
        m = parser.parse_model(open(p).read())
    except Exception:
        continue  # the deliberately malformed ones
    onnx.save(m, os.path.join(out, os.path.basename(p)[:-4]))
    n += 1
# ONNX's own node tests (the cases shipped in the onnx package): small
# models of every operator, one in four.
import onnx.backend.test.case.node as node
for c in sorted(node.collect_testcases(""), key=lambda c: c.name)[::4]:
    data = c.model.SerializeToString()
    if len(data) < 16384:
        with open(os.path.join(out, c.name + ".onnx"), "wb") as g:
            g.write(data)
        n += 1
print(f"[fuzz] {n} ONNX seeds")
EOF
for m in mlp relu-div softmax-axis gather-embedding reduce-norm; do
  "$build/bin/rbln-compile" "$root/test/lit/frontend/onnx/$m.onnxtxt" --target=tiny --quiet \
    -o "$seeds/artifact/$m.rbln" 2>/dev/null || true
done
"$build/bin/rbln-compile" "$root/test/models/gpt2_past.onnx" --target=tiny --quiet --max-seq-len=32 \
  --kvcache-block-size=16 --prefill-chunk-size=16 -o "$seeds/artifact/gpt2.rbln" 2>/dev/null || true

export ASAN_OPTIONS=allow_user_poisoning=0:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for t in "${targets[@]}"; do
  kind=${t#rbln-fuzz-}
  corpus=$build/fuzz-corpus/$kind findings=$build/fuzz-findings/$kind
  mkdir -p "$corpus" "$findings"
  maxlen=65536 lenctl=() norand=()
  [ "$kind" = artifact ] && maxlen=4194304
  [ "$kind" = simulator ] && maxlen=4096 lenctl=(-len_control=0)  # programs need bytes at once
  if [ "$seconds" = ci ]; then
    case $kind in onnx) runs=6000 ;; onnxtxt) runs=8000 ;; artifact) runs=15000 ;; *) runs=10000 ;; esac
    budget=(-seed=1 -runs="$runs")
    # Without address randomization, pointer-keyed containers iterate alike
    # in every run, so coverage (and so the inputs tried) repeats too.
    setarch "$(uname -m)" -R true 2>/dev/null && norand=(setarch "$(uname -m)" -R)
    rm -rf "$corpus" && mkdir -p "$corpus"  # the same start everywhere
    echo "[fuzz] $t: $runs inputs from seed 1"
  else
    budget=(-max_total_time="$seconds")
    echo "[fuzz] $t for ${seconds}s"
  fi
  if ! "${norand[@]}" "$build/bin/$t" "${budget[@]}" -timeout=30 -rss_limit_mb=4096 \
      -max_len="$maxlen" "${lenctl[@]}" -print_final_stats=1 -artifact_prefix="$findings/" \
      "$corpus" "$seeds/$kind" >"$build/fuzz-$kind.log" 2>&1; then
    echo "[fuzz] $t FAILED; the input is in $findings, the log in $build/fuzz-$kind.log"
    grep -E "ERROR|SUMMARY|==[0-9]+==|runtime error" "$build/fuzz-$kind.log" | head -20 || true
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|cov: [0-9]+ ft" "$build/fuzz-$kind.log" |
    tail -3 | sed "s/^/[fuzz]   /"
done
exit $status
