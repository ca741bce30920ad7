"""Checks rbln-run --generate's greedy tokens against ONNX Runtime's own
past_key_values loop on the same export (used by scripts/demo.sh).

    python examples/llm/check_tokens.py model.onnx rbln-run-output.txt
"""
import os
import re
import sys

import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "generation"))
from check_generation import ort_generate  # noqa: E402


def main():
    model_path, out_path = sys.argv[1], sys.argv[2]
    text = open(out_path).read()
    prompts = [[int(t) for t in p.split(",")] for p in re.findall(r"--prompt=([\d,]+)", text)]
    got = {int(i): [int(t) for t in toks.split(",") if t]
           for i, toks in re.findall(r"sequence (\d+): .* -> ([\d,]*)  \(finish", text)}
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    model = onnx.load(model_path)
    bad = 0
    for i, p in enumerate(prompts):
        want, _ = ort_generate(sess, model, p, len(got[i]))
        same = want == got[i]
        bad += not same
        print(f"sequence {i}: {'equal to' if same else 'DIFFERENT from'} ONNX Runtime's greedy tokens"
              + ("" if same else f"\n  rbln: {got[i]}\n  ORT:  {want}"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
