"""Greedy generation against reference tokens from the original model.

    python test/generation/check_reference_tokens.py --bin build/bin --model test/models/X.onnx \
        [--compile-arg=--sliding-window=16 ...] [rbln-compile LLM options]

For exports ONNX Runtime cannot run (see test/models/export_llm.py), the
reference is the model's own greedy `generate()` in transformers, saved as
`X.reference.json` by the export script (prompts, max_new_tokens, stop
tokens, tokens). Checks each prompt alone and all of them as one continuous
batch.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_generation import add_compile_args, compile_llm  # noqa: E402


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    add_compile_args(ap, max_seq_len=256, block_size=8, chunk=16)
    a = ap.parse_args()
    ref = json.loads(Path(a.model).with_suffix(".reference.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        art = os.path.join(tmp, "model.rbln")
        compile_llm(a, art)
        gen = [os.path.join(a.bin, "rbln-run"), art, "--generate", f"--max-new-tokens={ref['max_new_tokens']}",
               f"--stop={','.join(map(str, ref['stop']))}"]

        def tokens(out):
            return [[int(t) for t in m.group(1).split(",")] for m in re.finditer(r"-> ([\d,]+)  \(finish", out)]

        failures = 0
        for p, want in zip(ref["prompts"], ref["tokens"]):
            got = tokens(run(gen + [f"--prompt={','.join(map(str, p))}"]))[0]
            ok = got == want
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} prompt of {len(p)} tokens: {len(got)} tokens "
                  f"{'equal' if ok else 'DIFFER'} ({ref['source']})")
            if not ok:
                print(f"     rbln {got}\n     ref  {want}")
        together = tokens(run(gen + [f"--prompt={','.join(map(str, p))}" for p in ref["prompts"]]))
        ok = together == ref["tokens"]
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} all prompts as one continuous batch")
    if failures:
        sys.exit(f"{failures} check(s) failed")
    print("all reference checks passed")


if __name__ == "__main__":
    main()
