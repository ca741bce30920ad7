#!/usr/bin/env python3
"""Runs an ONNX model (text format, or binary .onnx) under ONNX Runtime (its graph
optimizations off: the model as written) and its compiled .rbln
under rbln-run (found on PATH) on the same random inputs; exits non-zero if
the outputs differ (rtol 1e-4; 1e-2 for float16 outputs). Inputs: float
(or float16) normal, bool masks 80 % true, integer inputs 0/1 (attention
masks) 80 % 1.

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
    et = vi.type.tensor_type.elem_type
    if et == onnx.TensorProto.BOOL:  # masks: mostly kept
        feeds[vi.name] = rng.random(shape) < 0.8
    elif et == onnx.TensorProto.FLOAT16:
        feeds[vi.name] = rng.standard_normal(shape).astype(np.float16)
    elif et in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):  # attention masks: 0/1, mostly 1
        feeds[vi.name] = (rng.random(shape) < 0.8).astype(np.int64 if et == onnx.TensorProto.INT64 else np.int32)
    else:
        feeds[vi.name] = rng.standard_normal(shape).astype(np.float32)
    path = work / f"in{len(args)}.npy"  # names like '/model/Add_output_0' are not file names
    np.save(path, feeds[vi.name])
    args.append(f"--input={vi.name}=@{path}")
# The graph as written: ONNX Runtime's own fusions approximate (DequantizeLinear
# + MatMul becomes MatMulNBits, which rounds A to 8 bits: ~1 % off).
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
refs = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)
for i, r in enumerate(refs):
    np.save(work / f"ref{i}.npy", r)
    args.append(f"--expected-output=@{work / f'ref{i}.npy'}")
# float16 outputs: ONNX Runtime rounds each op's result to float16, the NPU
# keeps float32 inside a fused kernel.
half = any(o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT16 for o in model.graph.output)
tol = ["--rtol=1e-2", "--atol=2e-3"] if half else ["--rtol=1e-4", "--atol=1e-6"]
r = subprocess.run(["rbln-run", sys.argv[2], *args, *tol, "-q"],
                   capture_output=True, text=True)
print(r.stdout + r.stderr, end="")
sys.exit(r.returncode)
