#!/usr/bin/env python3
"""A float MLP (MatMul + bias + Relu, MatMul + bias) quantized the way users
quantize: onnxruntime.quantization.quantize_static in QDQ format, calibrated
on random data (per-tensor, or --per-channel weights; --u8 activations
uint8, else int8); or, with --dynamic, quantize_dynamic (int8 weights,
activations quantized per run: DynamicQuantizeLinear and MatMulInteger).
Writes the quantized model.

    make_qdq_mlp.py out.onnx [--per-channel] [--u8] [--dynamic]
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_dynamic, quantize_static)

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--per-channel", action="store_true")
ap.add_argument("--u8", action="store_true")
ap.add_argument("--dynamic", action="store_true")
a = ap.parse_args()

rng = np.random.default_rng(7)
B, K, H, N = 4, 48, 64, 24
w1 = numpy_helper.from_array((rng.standard_normal((K, H)) * 0.2).astype(np.float32), "w1")
b1 = numpy_helper.from_array((rng.standard_normal(H) * 0.1).astype(np.float32), "b1")
w2 = numpy_helper.from_array((rng.standard_normal((H, N)) * 0.2).astype(np.float32), "w2")
b2 = numpy_helper.from_array((rng.standard_normal(N) * 0.1).astype(np.float32), "b2")
nodes = [
    helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
    helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
    helper.make_node("Relu", ["h1"], ["h2"], name="relu"),
    helper.make_node("MatMul", ["h2", "w2"], ["y0"], name="fc2"),
    helper.make_node("Add", ["y0", "b2"], ["y"], name="fc2_bias"),
]
graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [B, K])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [B, N])],
                          initializer=[w1, b1, w2, b2])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8


class Reader(CalibrationDataReader):
    def __init__(self):
        self.batches = iter([{"x": rng.standard_normal((B, K)).astype(np.float32)} for _ in range(8)])

    def get_next(self):
        return next(self.batches, None)


with tempfile.TemporaryDirectory() as d:
    src = Path(d) / "float.onnx"
    onnx.save(model, src)
    act = QuantType.QUInt8 if a.u8 else QuantType.QInt8
    if a.dynamic:
        quantize_dynamic(str(src), a.out, per_channel=a.per_channel, weight_type=QuantType.QInt8)
        raise SystemExit(0)
    quantize_static(str(src), a.out, Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=a.per_channel, activation_type=act, weight_type=QuantType.QInt8)
