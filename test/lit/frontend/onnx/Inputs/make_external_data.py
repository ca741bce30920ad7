#!/usr/bin/env python3
"""Writes models whose weights are ONNX external data, for external-data.test.

    make_external_data.py OUT_DIR

OUT_DIR/model/mlp.onnx + weights.bin: a good model (two MatMuls, a bias),
the bias not aligned in the file. Variants with one bad external_data entry
each: abs.onnx (absolute path), up.onnx ('..'), missing.onnx, short.onnx
(offset past the end), length.onnx (length disagrees with the shape),
link.onnx (a symbolic link out of the folder).
"""
import os
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
model_dir = out / "model"
model_dir.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)
w1 = numpy_helper.from_array((rng.standard_normal((37, 64)) / 6).astype(np.float32), "w1")
b1 = numpy_helper.from_array(rng.standard_normal((64,)).astype(np.float32), "b1")
w2 = numpy_helper.from_array((rng.standard_normal((64, 19)) / 8).astype(np.float32), "w2")
nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
         helper.make_node("Add", ["h", "b1"], ["hb"], name="bias1"),
         helper.make_node("Relu", ["hb"], ["r"], name="relu"),
         helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2")]
g = helper.make_graph(nodes, "external", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 37])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 19])], [w1, b1, w2])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
m.ir_version = 8
# Lay the file out by hand: w1, then b1 at an odd offset, then w2.
blob = bytearray()
for t, pad in zip(m.graph.initializer, (3, 5, 0)):
    raw = numpy_helper.to_array(t).tobytes()
    off = len(blob)
    blob += raw + b"\0" * pad
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", str(off)), ("length", str(len(raw)))):
        e = t.external_data.add()
        e.key, e.value = k, v
(model_dir / "weights.bin").write_bytes(bytes(blob))
onnx.save(m, str(model_dir / "mlp.onnx"))


def variant(name, **changes):
    v = onnx.ModelProto()
    v.CopyFrom(m)
    t = v.graph.initializer[2]  # w2
    for e in t.external_data:
        if e.key in changes:
            e.value = changes[e.key]
    onnx.save(v, str(model_dir / f"{name}.onnx"))


variant("abs", location=str((model_dir / "weights.bin").resolve()))
variant("up", location="../weights.bin")
variant("missing", location="nosuch.bin")
variant("short", offset=str(len(blob) - 8))
variant("length", length="12")
(out / "outside.bin").write_bytes(bytes(blob))
link = model_dir / "link.bin"
if link.is_symlink() or link.exists():
    link.unlink()
os.symlink(out / "outside.bin", link)
variant("link", location="link.bin")
