#!/usr/bin/env python3
"""Checks `rbln-compile --weight-dtype=int8|int4|fp8` against ONNX Runtime:
every MatMul/Gemm weight (a 2-D initializer B, or the Transpose of one: a
tied LM head) of the float model is quantized — int8 by
onnxruntime.quantization's own quantize_data (symmetric, one scale per
output column); fp8 to E4M3FN by ml_dtypes' rounding with the scale
max |w| / 448 per output column; int4 (w4a16) with a scale max |w| / 7 per
block of --group-size rows of a column, values round-half-even in [-7, 7],
stored as ONNX INT4 and read through a blocked DequantizeLinear (opset 21,
block_size; a matrix whose rows have an odd length is int8 instead, as
rbln does) — and read through a DequantizeLinear (opset 19 for float8,
21 for int4); ONNX Runtime runs
that model, rbln-run (on PATH) the .rbln compiled from the float model, on
the same random inputs (rtol 1e-4 / atol 1e-5 of the output's range). Also
prints how far the 8-bit weights move the output from the float model's.

    check_weight_int8.py model.onnx model.rbln [--dim name=value ...] [--weight-dtype fp8|int4 [--group-size G]]
"""
import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
import ml_dtypes
import onnx.numpy_helper
import onnx.version_converter
import onnxruntime as ort
from onnx import helper
from onnxruntime.quantization import quant_utils as qu

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("rbln")
ap.add_argument("--dim", action="append", default=[])
ap.add_argument("--weight-dtype", choices=["int8", "int4", "fp8"], default="int8")
ap.add_argument("--group-size", type=int, default=128)
a = ap.parse_args()
fp8 = a.weight_dtype == "fp8"
int4 = a.weight_dtype == "int4"
dims = dict(d.split("=") for d in a.dim)

model = onnx.load(a.model)
ref = onnx.ModelProto()
ref.CopyFrom(model)
inits = {i.name: i for i in ref.graph.initializer}
transposed = {n.output[0]: n.input[0] for n in ref.graph.node
              if n.op_type == "Transpose" and n.input[0] in inits and len(inits[n.input[0]].dims) == 2
              and [a.ints for a in n.attribute if a.name == "perm"] in ([], [[1, 0]])}
nodes, done = [], {}
for n in ref.graph.node:
    b = n.input[1] if len(n.input) > 1 else ""
    trans = n.op_type == "Gemm" and any(x.name == "transB" and x.i for x in n.attribute)
    if n.op_type == "MatMul" and b in transposed:  # B = Transpose(W): W's rows are B's columns
        b, trans = transposed[b], True
    if n.op_type in ("MatMul", "Gemm") and b in inits and len(inits[b].dims) == 2:
        key = (b, trans, n.op_type)
        if key not in done:
            w = onnx.numpy_helper.to_array(inits[b]).astype(np.float32)
            cols = w.T if not trans else w  # one row per output column
            blocked = int4 and w.shape[1] % 2 == 0  # packable: rows of an even length
            if blocked:  # [N, K] in blocks of G along K
                g = a.group_size
                nb = -(-cols.shape[1] // g)
                pad = np.zeros((cols.shape[0], nb * g), np.float32)
                pad[:, :cols.shape[1]] = cols
                s = (np.abs(pad.reshape(cols.shape[0], nb, g)).max(axis=2) / np.float32(7)).astype(np.float32)
                s[~(s > 0) | ~np.isfinite(s)] = 1
                full_s = np.repeat(s, g, axis=1)[:, :cols.shape[1]]
                q = np.clip(np.rint((cols / full_s).astype(np.float32)), -7, 7).astype(np.int8)
            elif fp8:
                s = (np.abs(cols).max(axis=1) / np.float32(448)).astype(np.float32)
                s[~(s > 0) | ~np.isfinite(s)] = 1
                q = (cols / s[:, None]).astype(ml_dtypes.float8_e4m3fn)
            else:
                q = np.empty(cols.shape, np.int8)
                s = np.empty(cols.shape[0], np.float32)
                for j, c in enumerate(cols):
                    _, s[j], q[j] = qu.quantize_data(c, qu.QuantType.QInt8.tensor_type, symmetric=True)
            q = q.T if not trans else q
            name = f"{b}_deq{int(trans)}"
            if blocked:  # ONNX INT4: two a byte, the lower index in the low nibble
                flat = (q.reshape(-1).astype(np.int16) & 0xF).astype(np.uint8)
                packed = (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8)
                qt = helper.make_tensor(f"{name}_q", onnx.TensorProto.INT4, q.shape, packed.tobytes(), raw=True)
                s = s if trans else s.T  # the scale has q's shape, K cut into blocks
            elif fp8:
                qt = helper.make_tensor(f"{name}_q", onnx.TensorProto.FLOAT8E4M3FN, q.shape,
                                        q.view(np.uint8).tobytes(), raw=True)
            else:
                qt = onnx.numpy_helper.from_array(q, f"{name}_q")
            ref.graph.initializer.extend([qt, onnx.numpy_helper.from_array(np.ascontiguousarray(s), f"{name}_s")])
            kw = dict(axis=1 if trans else 0, block_size=a.group_size) if blocked else dict(axis=0 if trans else 1)
            nodes.append(helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_s"], [name], **kw))
            if n.op_type == "MatMul" and trans:  # the dequantized W, transposed back into B
                nodes.append(helper.make_node("Transpose", [name], [f"{name}_t"], perm=[1, 0]))
                name = f"{name}_t"
            done[key] = name
        n.input[1] = done[key]
    nodes.append(n)
del ref.graph.node[:]
ref.graph.node.extend(nodes)
if not any(o.domain in ("", "ai.onnx") and o.version >= 13 for o in ref.opset_import):
    raise SystemExit("the model's opset must be >= 13 (per-axis DequantizeLinear)")
if fp8 or int4:  # float8 DequantizeLinear is opset 19, blocked int4 21; the other ops keep their meaning
    ref = onnx.version_converter.convert_version(ref, 21 if int4 else 19)
assert done, "no MatMul/Gemm with an initializer weight"

rng = np.random.default_rng(0)
work = Path(tempfile.mkdtemp())
init = {i.name for i in model.graph.initializer}
feeds, args = {}, []
for vi in model.graph.input:
    if vi.name in init:
        continue
    shape = [d.dim_value if d.dim_value else int(dims[d.dim_param]) for d in vi.type.tensor_type.shape.dim]
    et = vi.type.tensor_type.elem_type
    if et in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):  # token ids / masks
        hi = 2 if "mask" in vi.name or "type" in vi.name else 50  # token type ids: 0 or 1
        feeds[vi.name] = rng.integers(0, hi, shape).astype(np.int64 if et == onnx.TensorProto.INT64 else np.int32)
        if "mask" in vi.name:
            feeds[vi.name][...] = 1
    else:
        feeds[vi.name] = rng.standard_normal(shape).astype(np.float32)
    np.save(work / f"in{len(args)}.npy", feeds[vi.name])
    args.append(f"--input={vi.name}=@{work / f'in{len(args)}.npy'}")
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
want = ort.InferenceSession(ref.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)
full = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
outs = []
for i in range(len(want)):
    outs.append(work / f"out{i}.npy")
subprocess.run(["rbln-run", a.rbln, *args, *[f"--output=@{p}" for p in outs], "-q"], check=True)
fail = False
for i, (w, f) in enumerate(zip(want, full)):
    got = np.load(outs[i]).astype(np.float64)
    span = float(np.abs(w).max()) or 1.0
    err = float(np.abs(got - w).max()) / span
    drift = float(np.abs(w - f).max()) / span
    ok = np.allclose(got, w, rtol=1e-4, atol=1e-5 * span)
    print(f"output {i}: {'match' if ok else 'MISMATCH'} with ONNX Runtime on the same {a.weight_dtype} weights "
          f"(max error {err:.2e} of the output's range, {len(done)} weights); {a.weight_dtype} weights move "
          f"the output {drift:.2e} of its range from the float model's")
    fail |= not ok
raise SystemExit(1 if fail else 0)
