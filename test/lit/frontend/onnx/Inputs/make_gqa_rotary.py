"""Writes com.microsoft.GroupQueryAttention models with the rotary embedding
inside (do_rotary = 1) in the forms ONNX Runtime GenAI's builder and its
users write: QKV packed into the query or separate, rotate-half or
interleaved, full or partial rotary width (Phi-2), cos/sin caches as
initializers, a past cache, and optionally explicit position_ids.

    make_gqa_rotary.py OUT.onnx [--interleaved] [--partial] [--unpacked] [--position-ids]
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--interleaved", action="store_true")
ap.add_argument("--partial", action="store_true")
ap.add_argument("--unpacked", action="store_true")
ap.add_argument("--position-ids", action="store_true")
a = ap.parse_args()

hq, hkv, d, s, past, max_pos = 4, 2, 32, 5, 3, 16
rot = d // 2 if a.partial else d  # ONNX Runtime: half-width a multiple of 8
inv = 1.0 / (10000.0 ** (np.arange(0, rot, 2, dtype=np.float64) / rot))
ang = np.outer(np.arange(max_pos), inv)
inits = [nh.from_array(np.cos(ang).astype(np.float32), "cos_cache"),
         nh.from_array(np.sin(ang).astype(np.float32), "sin_cache"),
         nh.from_array(np.array([past + s - 1], np.int32), "seqlens_k"),
         nh.from_array(np.array(past + s, np.int32), "total")]
if a.position_ids:  # positions that are not past + i: the op must read them
    inits.append(nh.from_array(np.array([[7, 2, 9, 4, 11]], np.int64), "pos"))
f = lambda n, shape: h.make_tensor_value_info(n, T.FLOAT, shape)
if a.unpacked:
    ins = [f("q", [1, s, hq * d]), f("k", [1, s, hkv * d]), f("v", [1, s, hkv * d])]
    qkv = ["q", "k", "v"]
else:
    ins = [f("qkv", [1, s, (hq + 2 * hkv) * d])]
    qkv = ["qkv", "", ""]
ins += [f("past_k", [1, hkv, past, d]), f("past_v", [1, hkv, past, d])]
node = h.make_node(
    "GroupQueryAttention",
    qkv + ["past_k", "past_v", "seqlens_k", "total", "cos_cache", "sin_cache"] + (["pos"] if a.position_ids else []),
    ["y", "present_k", "present_v"], domain="com.microsoft", name="gqa_rotary",
    num_heads=hq, kv_num_heads=hkv, do_rotary=1, rotary_interleaved=int(a.interleaved))
outs = [f("y", [1, s, hq * d]), f("present_k", [1, hkv, past + s, d]), f("present_v", [1, hkv, past + s, d])]
g = h.make_graph([node], "gqa_rotary", ins, outs, inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("com.microsoft", 1)])
onnx.save(m, a.out)
