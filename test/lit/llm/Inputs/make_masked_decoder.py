"""A one-layer decoder (ONNX opset-23 Attention with past) whose attention
carries a constant additive mask beyond the causal one (`--mask`), or none.

    make_masked_decoder.py OUT.onnx [--mask]
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

out, masked = sys.argv[1], "--mask" in sys.argv[2:]
vocab, d = 16, 8
rng = np.random.default_rng(0)
inits = [nh.from_array(rng.standard_normal((vocab, d)).astype(np.float32), "embed"),
         nh.from_array(rng.standard_normal((d, vocab)).astype(np.float32), "head")]
# A bias on the first key only (not a causal or sliding-window band).
inits.append(nh.from_array(np.array([0.5], np.float32), "bias"))
att_in = ["x", "x", "x", "bias" if masked else "", "past_key_values.0.key", "past_key_values.0.value"]
nodes = [h.make_node("Gather", ["embed", "input_ids"], ["x"]),
         h.make_node("Attention", att_in, ["y", "present.0.key", "present.0.value"], name="attn",
                     is_causal=1, q_num_heads=1, kv_num_heads=1),
         h.make_node("MatMul", ["y", "head"], ["logits"])]
ids = lambda n: h.make_tensor_value_info(n, T.INT64, ["batch", "seq"])
kv = lambda n, s: h.make_tensor_value_info(n, T.FLOAT, ["batch", 1, s, d])
g = h.make_graph(nodes, "masked", [ids("input_ids"), ids("position_ids"), kv("past_key_values.0.key", "past"),
                                   kv("past_key_values.0.value", "past")],
                 [h.make_tensor_value_info("logits", T.FLOAT, ["batch", "seq", vocab]),
                  kv("present.0.key", "total"), kv("present.0.value", "total")], inits)
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 23)], ir_version=10), out)
