#!/usr/bin/env python3
"""A MatMul on a random float weight [K, N] quantized by ONNX Runtime's
MatMulNBitsQuantizer (what ONNX Runtime GenAI's builder writes for int4
models): com.microsoft.MatMulNBits with `bits`-bit block-wise weights,
block size 32, asymmetric (packed zero points) or --symmetric. With
--qdq, the quantizer's QDQ format instead: DequantizeLinear(axis 0,
block_size 32) of an INT4 (symmetric) or UINT4 (with UINT4 zero points)
[K, N] initializer, then MatMul. A is [2, 3, K].

    make_matmul_nbits.py out.onnx --bits 4|8 [--symmetric] [--qdq] [--k K] [--n N]
"""
import argparse
import logging

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantFormat
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--bits", type=int, default=4)
ap.add_argument("--symmetric", action="store_true")
ap.add_argument("--qdq", action="store_true")
ap.add_argument("--k", type=int, default=96)
ap.add_argument("--n", type=int, default=40)
a = ap.parse_args()
logging.disable(logging.INFO)

rng = np.random.default_rng(3)
w = numpy_helper.from_array((rng.standard_normal((a.k, a.n)) * 0.2).astype(np.float32), "w")
g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, a.k])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, a.n])], [w])
# (int4 needs opset 21 and IR 10)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21 if a.qdq else 17)])
m.ir_version = 10 if a.qdq else 8
q = MatMulNBitsQuantizer(m, bits=a.bits, block_size=32, is_symmetric=a.symmetric,
                         quant_format=QuantFormat.QDQ if a.qdq else QuantFormat.QOperator)
q.process()
ops = [n.op_type for n in q.model.model.graph.node]
assert ops == (["DequantizeLinear", "MatMul"] if a.qdq else ["MatMulNBits"]), ops
onnx.save(q.model.model, a.out)
