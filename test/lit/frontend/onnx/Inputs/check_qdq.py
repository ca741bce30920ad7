#!/usr/bin/env python3
"""Runs a QDQ-quantized model under ONNX Runtime and its compiled .rbln under
rbln-run (on PATH) on the same random inputs, and compares the outputs of
its last DequantizeLinear in units of that node's scale (one quantum):
against ONNX Runtime executing every QuantizeLinear/DequantizeLinear as
written (graph optimizations off) at most --max-off quanta apart on at most
--max-frac of the elements (float sums in another order may round a
requantization the other way), exact elsewhere; and against ONNX Runtime's
default (fused integer kernels) within --max-off too.

    check_qdq.py model.onnx model.rbln [--max-off 1] [--max-frac 0.02]
"""
import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("rbln")
ap.add_argument("--max-off", type=float, default=1)
ap.add_argument("--max-frac", type=float, default=0.02)
a = ap.parse_args()

model = onnx.load(a.model)
init = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
last = [n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.output[0] in
        {o.name for o in model.graph.output}]
assert last, "the model's output must come from a DequantizeLinear"
scale = float(np.max(init[last[0].input[1]]))

rng = np.random.default_rng(1)
work = Path(tempfile.mkdtemp())
feeds, args = {}, []
for vi in model.graph.input:
    if vi.name in init:
        continue
    shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    feeds[vi.name] = rng.standard_normal(shape).astype(np.float32)
    np.save(work / f"in{len(args)}.npy", feeds[vi.name])
    args.append(f"--input={vi.name}=@{work / f'in{len(args)}.npy'}")
out = work / "out.npy"
subprocess.run(["rbln-run", a.rbln, *args, f"--output=@{out}", "-q"], check=True)
got = np.load(out)


def ort_run(level):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    return ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"]).run(None, feeds)[0]


fail = False
for what, level in (("as written", ort.GraphOptimizationLevel.ORT_DISABLE_ALL),
                    ("fused", ort.GraphOptimizationLevel.ORT_ENABLE_ALL)):
    ref = ort_run(level)
    off = np.abs(got.astype(np.float64) - ref) / scale
    frac = float(np.mean(off > 1e-3))
    print(f"vs ONNX Runtime {what}: max {off.max():.3f} quanta apart, "
          f"{100 * frac:.2f}% of {off.size} elements differ")
    if off.max() > a.max_off + 1e-3 or (what == "as written" and frac > a.max_frac):
        fail = True
raise SystemExit(1 if fail else 0)
