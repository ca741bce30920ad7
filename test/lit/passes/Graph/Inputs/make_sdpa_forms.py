"""Writes the decomposed scaled-dot-product attention in the forms exporters
write, one model per form, for graph-fuse-attention's lit test.

    make_sdpa_forms.py FORM OUT.onnx

Forms (q, k, v [B, H, S, D]; GPT-2-style eager attention and torch's
decomposition of scaled_dot_product_attention):
  div-where    MatMul(q, Transpose(k)) / sqrt(d), Where(causal bool constant,
               s, finfo.min) (GPT-2's eager attention)
  mul-before   (q * scale) @ Transpose(k) + float mask input
  sqrt-both    (q * sqrt(scale)) @ (Transpose(k) * sqrt(scale)) + float mask
               constant (torch's SDPA decomposition)
  pre-t        K given transposed [B, H, D, S], Where(bool mask input, s, -inf)
  masked-fill  Where(bool mask input: true masks, finfo.min, s) (masked_fill)
  masked-ninf  the same with -inf
  cast-f32     float16 q, k, v: Softmax between Casts to float32 and back
  padding-and  transformers' padding mask: attention_mask [B, S] int64 input,
               And(all-true [B, 1, S, 1] constant, keys [B, 1, 1, S]), then
               Where(mask, 0, finfo.min) added to the scores (BERT's export)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

form, out = sys.argv[1], sys.argv[2]
b, hh, s, d = 2, 4, 8, 16
et = T.FLOAT16 if form == "cast-f32" else T.FLOAT
npt = np.float16 if form == "cast-f32" else np.float32
fmin = float(np.finfo(npt).min)
inputs = [h.make_tensor_value_info("q", et, [b, hh, s, d]),
          h.make_tensor_value_info("k", et, [b, hh, d, s] if form == "pre-t" else [b, hh, s, d]),
          h.make_tensor_value_info("v", et, [b, hh, s, d])]
inits, nodes = [], []
c = lambda name, arr: inits.append(nh.from_array(np.asarray(arr), name)) or name
scale = 1.0 / np.sqrt(d)
kT = "k"
if form != "pre-t":
    nodes.append(h.make_node("Transpose", ["k"], ["kT"], perm=[0, 1, 3, 2]))
    kT = "kT"
q = "q"
if form == "mul-before":
    nodes.append(h.make_node("Mul", ["q", c("scale", np.array(scale, npt))], ["qs"]))
    q = "qs"
if form == "sqrt-both":
    r = c("root", np.array(np.sqrt(scale), npt))
    nodes += [h.make_node("Mul", ["q", r], ["qs"]), h.make_node("Mul", [kT, r], ["kTs"])]
    q, kT = "qs", "kTs"
nodes.append(h.make_node("MatMul", [q, kT], ["qk"]))
scores = "qk"
if form in ("div-where", "masked-fill", "masked-ninf", "pre-t", "cast-f32", "padding-and"):
    nodes.append(h.make_node("Div", ["qk", c("sqrt_d", np.array(np.sqrt(d), npt))], ["s0"]))
    scores = "s0"
causal = np.tril(np.ones((s, s), bool))[None, None]
if form in ("div-where", "cast-f32"):
    nodes.append(h.make_node("Where", [c("causal", causal), scores, c("fmin", np.array(fmin, npt))], ["s1"]))
elif form == "mul-before":
    inputs.append(h.make_tensor_value_info("mask", T.FLOAT, [b, 1, s, s]))
    nodes.append(h.make_node("Add", [scores, "mask"], ["s1"]))
elif form == "sqrt-both":
    nodes.append(h.make_node("Add", [scores, c("bias", np.where(causal, 0.0, -np.inf).astype(npt))], ["s1"]))
elif form == "pre-t":
    inputs.append(h.make_tensor_value_info("keep", T.BOOL, [b, 1, s, s]))
    nodes.append(h.make_node("Where", ["keep", scores, c("ninf", np.array(-np.inf, npt))], ["s1"]))
elif form in ("masked-fill", "masked-ninf"):
    # (batch 1's keys may all be masked: finfo.min then averages the values)
    inputs.append(h.make_tensor_value_info("masked", T.BOOL, [b, 1, 1, s]))
    fill = fmin if form == "masked-fill" else -np.inf
    nodes.append(h.make_node("Where", ["masked", c("fill", np.array(fill, npt)), scores], ["s1"]))
elif form == "padding-and":
    inputs.append(h.make_tensor_value_info("attention_mask", T.INT64, [b, s]))
    nodes += [h.make_node("Cast", ["attention_mask"], ["keys0"], to=T.BOOL),
              h.make_node("Unsqueeze", ["keys0", c("axes", np.array([1, 2], np.int64))], ["keys"]),
              h.make_node("And", [c("rows", np.ones((b, 1, s, 1), bool)), "keys"], ["pair"]),
              h.make_node("Where", ["pair", c("zero", np.array(0.0, npt)), c("fmin", np.array(fmin, npt))],
                          ["bias"]),
              h.make_node("Add", [scores, "bias"], ["s1"])]
else:
    sys.exit(f"unknown form {form}")
if form == "cast-f32":
    nodes += [h.make_node("Cast", ["s1"], ["s32"], to=T.FLOAT),
              h.make_node("Softmax", ["s32"], ["p32"], axis=-1),
              h.make_node("Cast", ["p32"], ["p"], to=T.FLOAT16)]
else:
    nodes.append(h.make_node("Softmax", ["s1"], ["p"], axis=-1))
nodes.append(h.make_node("MatMul", ["p", "v"], ["y"]))
for i, n in enumerate(nodes):
    n.name = f"/attn/{n.op_type}_{i}"
g = h.make_graph(nodes, form, inputs, [h.make_tensor_value_info("y", et, [b, hh, s, d])], inits)
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), out)
