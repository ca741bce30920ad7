#!/usr/bin/env python3
"""QuantizeLinear / DequantizeLinear with 8-bit float quantized tensors
(E4M3FN, E5M2; opset 21): a constant weight quantized at import (folded,
saturating and not: 500 / 0.5 exceeds E4M3FN's 448) and a run-time
input quantized on the device, each dequantized back and summed.

    make_qdq_float8.py out.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

E4, E5 = TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E5M2
w = numpy_helper.from_array(np.array([1.0, 500.0, -3.3, 0.1, 1e-3, -250.0], np.float32), "w")
inits = [w, helper.make_tensor("s", TensorProto.FLOAT, [], [0.5]),
         helper.make_tensor("z4", E4, [], [0]), helper.make_tensor("z5", E5, [], [0])]
nodes = [
    helper.make_node("QuantizeLinear", ["w", "s", "z4"], ["wq"], name="w_sat"),
    helper.make_node("DequantizeLinear", ["wq", "s", "z4"], ["wd"]),
    helper.make_node("QuantizeLinear", ["w", "s", "z5"], ["wq5"], name="w_nosat", saturate=0),
    helper.make_node("DequantizeLinear", ["wq5", "s"], ["wd5"]),
    helper.make_node("QuantizeLinear", ["a", "s", "z4"], ["aq"], name="a_sat"),
    helper.make_node("DequantizeLinear", ["aq", "s"], ["ad"]),
    helper.make_node("QuantizeLinear", ["a", "s", "z4"], ["aqn"], name="a_nosat", saturate=0),
    helper.make_node("DequantizeLinear", ["aqn", "s"], ["adn"]),
    helper.make_node("Add", ["wd", "wd5"], ["wsum"]),
    helper.make_node("Add", ["wsum", "ad"], ["y"]),
    helper.make_node("Identity", ["adn"], ["y2"]),
]
g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [6])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [6]),
                       helper.make_tensor_value_info("y2", TensorProto.FLOAT, [6])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
m.ir_version = 10
onnx.save(m, sys.argv[1])
