"""Writes RotaryEmbedding models (ONNX opset 23, or com.microsoft) for the
importer's lit test; random cos/sin caches come from the angles of a real
rotary embedding.

    make_rotary_embedding.py OUT.onnx [--ms] [--3d] [--interleaved] [--partial]
                             [--gathered] [--offset]

--3d: input [B, S, hidden] with num_heads (else [B, H, S, D]); --partial:
rotary_embedding_dim half the head; --gathered (ONNX op): no position_ids,
caches given at the positions as inputs [B, S, R/2]; --offset
(com.microsoft): position_ids one start offset (a constant [1]); --decode: B = S = 1; otherwise
position_ids is an int64 [B, S] input (random in range).
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

ap = argparse.ArgumentParser()
ap.add_argument("out")
for f in ("ms", "3d", "interleaved", "partial", "gathered", "offset", "decode"):
    ap.add_argument("--" + f, action="store_true")
a = ap.parse_args()

b, hh, s, d, max_pos = 2, 4, 6, 32, 24
if a.decode:  # one sequence, one token: a one-element position_ids is its position
    b, s = 1, 1
rot = d // 2 if a.partial else d
inv = 1.0 / (10000.0 ** (np.arange(0, rot, 2, dtype=np.float64) / rot))
ang = np.outer(np.arange(max_pos), inv)
xshape = [b, s, hh * d] if getattr(a, "3d") else [b, hh, s, d]
inputs = [h.make_tensor_value_info("x", T.FLOAT, xshape)]
inits = []
attrs = {"interleaved": int(a.interleaved)}
if getattr(a, "3d") or (a.ms and a.partial):  # (ONNX Runtime wants it with a partial width)
    attrs["num_heads"] = hh
if a.partial:
    attrs["rotary_embedding_dim"] = rot
if a.gathered:
    inputs += [h.make_tensor_value_info("cos", T.FLOAT, [b, s, rot // 2]),
               h.make_tensor_value_info("sin", T.FLOAT, [b, s, rot // 2])]
else:
    inits += [nh.from_array(np.cos(ang).astype(np.float32), "cos"),
              nh.from_array(np.sin(ang).astype(np.float32), "sin")]
pos = ""
if a.offset:
    inits.append(nh.from_array(np.array([5], np.int64), "pos"))
    pos = "pos"
elif not a.gathered:
    # positions as a constant table the test cannot mistake for 0..S-1
    inits.append(nh.from_array(np.array([[3, 17, 0, 9, 23, 4], [11, 2, 8, 8, 1, 20]], np.int64), "pos"))
    pos = "pos"
if a.ms:
    node = h.make_node("RotaryEmbedding", ["x", pos, "cos", "sin"], ["y"], domain="com.microsoft",
                       name="rope", **attrs)
    opsets = [h.make_opsetid("", 17), h.make_opsetid("com.microsoft", 1)]
else:
    node = h.make_node("RotaryEmbedding", ["x", "cos", "sin"] + ([pos] if pos else []), ["y"],
                       name="rope", **attrs)
    opsets = [h.make_opsetid("", 23)]
g = h.make_graph([node], "rope", inputs, [h.make_tensor_value_info("y", T.FLOAT, xshape)], inits)
onnx.save(h.make_model(g, opset_imports=opsets, ir_version=10), a.out)
