#!/usr/bin/env python3
"""Writes a BERT-form self-attention block quantized as users quantize it:
onnxruntime.quantization's quantize_static in QDQ form, uint8 activations
and int8 weights on the matmuls with weights (the attention's activation x
activation matmuls stay float, as in MLPerf's INT8 BERT and
bench/run_bert_bench.py), calibrated on random data.

x [1, S, E] -> Q/K/V projections -> heads split (Reshape, Transpose) ->
softmax(Q K^T / sqrt(D) + mask) V -> heads merged (Transpose, Reshape) ->
output projection -> y. The output projection's input is the attention's
output quantized (QuantizeLinear after the head merge).

    make_qdq_attention.py out.onnx
"""
import sys
import tempfile
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

S, E, H = 24, 32, 2
D = E // H
rng = np.random.default_rng(3)


def w(name, shape, s=0.2):
    return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)


inits = [w("wq", (E, E)), w("wk", (E, E)), w("wv", (E, E)), w("wo", (E, E)), w("bo", (E,), 0.1),
         numpy_helper.from_array(np.array([1, S, H, D], np.int64), "split"),
         numpy_helper.from_array(np.array([1, S, E], np.int64), "merge"),
         numpy_helper.from_array(np.array(np.sqrt(D), np.float32), "sqrt_d")]
nodes = []
for p in "qkv":
    nodes += [helper.make_node("MatMul", ["x", f"w{p}"], [f"{p}0"], name=f"{p}_proj"),
              helper.make_node("Reshape", [f"{p}0", "split"], [f"{p}1"], name=f"{p}_split"),
              helper.make_node("Transpose", [f"{p}1"], [f"{p}2"], name=f"{p}_heads",
                               perm=[0, 2, 3, 1] if p == "k" else [0, 2, 1, 3])]
nodes += [helper.make_node("MatMul", ["q2", "k2"], ["s0"], name="qk"),
          helper.make_node("Div", ["s0", "sqrt_d"], ["s1"], name="scale"),
          helper.make_node("Add", ["s1", "mask"], ["s2"], name="mask_add"),
          helper.make_node("Softmax", ["s2"], ["p"], name="softmax", axis=-1),
          helper.make_node("MatMul", ["p", "v2"], ["o0"], name="pv"),
          helper.make_node("Transpose", ["o0"], ["o1"], name="merge_heads", perm=[0, 2, 1, 3]),
          helper.make_node("Reshape", ["o1", "merge"], ["o2"], name="merge"),
          helper.make_node("MatMul", ["o2", "wo"], ["y0"], name="o_proj"),
          helper.make_node("Add", ["y0", "bo"], ["y"], name="o_bias")]
graph = helper.make_graph(nodes, "attention",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, S, E]),
                           helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 1, S])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, S, E])],
                          initializer=inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8


class Reader(CalibrationDataReader):
    def __init__(self):
        self.batches = iter([{"x": rng.standard_normal((1, S, E)).astype(np.float32),
                              "mask": np.zeros((1, 1, 1, S), np.float32)} for _ in range(8)])

    def get_next(self):
        return next(self.batches, None)


with tempfile.TemporaryDirectory() as d:
    src = Path(d) / "float.onnx"
    onnx.save(model, src)
    quantize_static(str(src), sys.argv[1], Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["MatMul"], nodes_to_exclude=["qk", "pv"])
