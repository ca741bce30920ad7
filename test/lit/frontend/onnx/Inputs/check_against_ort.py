#!/usr/bin/env python3
"""Runs an ONNX model (text format, or binary .onnx) under ONNX Runtime and its compiled .rbln
under rbln-run (found on PATH) on the same random inputs; exits non-zero if
the outputs differ (rtol 1e-4).

    check_against_ort.py model.onnxtxt model.rbln
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnx.parser
import onnxruntime as ort

if sys.argv[1].endswith(".onnx"):
    model = onnx.load(sys.argv[1])
else:
    text = "\n".join(l for l in Path(sys.argv[1]).read_text().splitlines() if not l.startswith("#"))
    model = onnx.parser.parse_model(text)
work = Path(tempfile.mkdtemp())
rng = np.random.default_rng(0)
init = {i.name for i in model.graph.initializer}
feeds, args = {}, []
for vi in model.graph.input:
    if vi.name in init:
        continue
    shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    feeds[vi.name] = rng.standard_normal(shape).astype(np.float32)
    path = work / f"in{len(args)}.npy"  # names like '/model/Add_output_0' are not file names
    np.save(path, feeds[vi.name])
    args.append(f"--input={vi.name}=@{path}")
refs = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
for i, r in enumerate(refs):
    np.save(work / f"ref{i}.npy", r)
    args.append(f"--expected-output=@{work / f'ref{i}.npy'}")
r = subprocess.run(["rbln-run", sys.argv[2], *args, "--rtol=1e-4", "--atol=1e-6", "-q"],
                   capture_output=True, text=True)
print(r.stdout + r.stderr, end="")
sys.exit(r.returncode)
