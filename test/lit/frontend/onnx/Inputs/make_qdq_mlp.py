#!/usr/bin/env python3
"""A float MLP (MatMul + bias + Relu, MatMul + bias) quantized the way users
quantize: onnxruntime.quantization.quantize_static in QDQ format, calibrated
on random data (per-tensor, or --per-channel weights; --u8 activations
uint8, else int8); or, with --dynamic, quantize_dynamic (int8 weights,
activations quantized per run: DynamicQuantizeLinear and MatMulInteger).
With --norm, a post-norm block as BERT's: LayerNorm(x), the MLP on it
(back to x's width), the residual add of the normalized x, LayerNorm.
With --fp8, quantize_static's FP8 form: E4M3FN activations and weights
(QFLOAT8E4M3FN, Distribution calibration, the matmuls only).
Writes the quantized model.

    make_qdq_mlp.py out.onnx [--per-channel] [--u8] [--dynamic] [--norm] [--fp8]
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
ap.add_argument("--norm", action="store_true")
ap.add_argument("--fp8", action="store_true")
a = ap.parse_args()

rng = np.random.default_rng(7)
B, K, H, N = 4, 48, 64, 24
if a.norm:
    N = K
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
inits = [w1, b1, w2, b2]
if a.norm:  # x -> LayerNorm -> the MLP -> + the normalized x -> LayerNorm
    for nd in nodes:
        nd.input[:] = ["n1" if i == "x" else i for i in nd.input]
        nd.output[:] = ["y1" if o == "y" else o for o in nd.output]
    g1 = numpy_helper.from_array((1 + 0.1 * rng.standard_normal(K)).astype(np.float32), "g1")
    be1 = numpy_helper.from_array((0.1 * rng.standard_normal(K)).astype(np.float32), "be1")
    g2 = numpy_helper.from_array((1 + 0.1 * rng.standard_normal(K)).astype(np.float32), "g2")
    be2 = numpy_helper.from_array((0.1 * rng.standard_normal(K)).astype(np.float32), "be2")
    nodes = ([helper.make_node("LayerNormalization", ["x", "g1", "be1"], ["n1"], name="ln1", axis=-1)] + nodes +
             [helper.make_node("Add", ["y1", "n1"], ["r"], name="residual"),
              helper.make_node("LayerNormalization", ["r", "g2", "be2"], ["y"], name="ln2", axis=-1)])
    inits += [g1, be1, g2, be2]
graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [B, K])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [B, N])],
                          initializer=inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19 if a.fp8 else 17)])  # (FP8: 19)
model.ir_version = 9 if a.fp8 else 8


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
    if a.fp8:  # (ONNX Runtime calibrates float types by distribution only)
        from onnxruntime.quantization import CalibrationMethod
        quantize_static(str(src), a.out, Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QFLOAT8E4M3FN, weight_type=QuantType.QFLOAT8E4M3FN,
                        calibrate_method=CalibrationMethod.Distribution, op_types_to_quantize=["MatMul"])
        raise SystemExit(0)
    # (with --norm only the matmuls, as BERT-Large's bench quantizes it)
    quantize_static(str(src), a.out, Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=a.per_channel, activation_type=act, weight_type=QuantType.QInt8,
                    **({"op_types_to_quantize": ["MatMul"]} if a.norm else {}))
