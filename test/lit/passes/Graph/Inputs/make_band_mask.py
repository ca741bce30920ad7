"""Writes attention models whose mask is a constant band (argv[1]: out dir):
band.onnx (causal + 4-key window, float mask of 0 / finfo.min), causal.onnx
(bool lower triangle with a 3-key past offset), bias.onnx (not a band: a
finite bias value)."""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
S, H, D = 12, 2, 8


def save(name, mask, sk=S):
    f = TensorProto.FLOAT
    ins = [helper.make_tensor_value_info("q", f, [1, H, S, D]), helper.make_tensor_value_info("k", f, [1, H, sk, D]),
           helper.make_tensor_value_info("v", f, [1, H, sk, D])]
    g = helper.make_graph([helper.make_node("Attention", ["q", "k", "v", "mask"], ["y"], name="attn")], name, ins,
                          [helper.make_tensor_value_info("y", f, [1, H, S, D])], [numpy_helper.from_array(mask, "mask")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 23)])
    m.ir_version = 10
    onnx.save(m, out / f"{name}.onnx")


i, j = np.arange(S)[:, None], np.arange(S)[None, :]
save("band", np.where((j <= i) & (j > i - 4), 0, np.finfo(np.float32).min).astype(np.float32)[None, None])
jp = np.arange(S + 3)[None, :]
save("causal", ((jp <= i + 3))[None, None], sk=S + 3)
save("bias", np.where(j <= i, 0.5, -np.inf).astype(np.float32)[None, None])
