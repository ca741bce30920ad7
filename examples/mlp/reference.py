#!/usr/bin/env python3
"""Writes a random input for an ONNX model and ONNX Runtime's outputs for it.

    reference.py model.onnx OUTDIR [--seed 0]

Creates OUTDIR/<input>.npy for every input and OUTDIR/ref_<i>.npy for every
output, for `rbln-run --input=... --expected-output=...`.
"""
import argparse
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("model")
ap.add_argument("outdir")
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
out = Path(a.outdir)
out.mkdir(parents=True, exist_ok=True)
model = onnx.load(a.model)
init = {i.name for i in model.graph.initializer}
rng = np.random.default_rng(a.seed)
feeds = {}
for vi in model.graph.input:
    if vi.name in init:
        continue
    shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    feeds[vi.name] = rng.standard_normal(shape).astype(np.float32)
    np.save(out / f"{vi.name}.npy", feeds[vi.name])
for i, y in enumerate(ort.InferenceSession(a.model, providers=["CPUExecutionProvider"]).run(None, feeds)):
    np.save(out / f"ref_{i}.npy", y)
print(" ".join(f"--input={k}=@{out / (k + '.npy')}" for k in feeds))
