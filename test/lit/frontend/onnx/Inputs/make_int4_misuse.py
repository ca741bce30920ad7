#!/usr/bin/env python3
"""Models that misuse 4-bit tensors (ONNX's INT4/UINT4), one per case:

    make_int4_misuse.py out.onnx input|add|short|unpacked|int32data

input: an int4 graph input; add: an int4 initializer read by Add;
short: an int4 initializer whose raw data is a byte short; unpacked: a
DequantizeLinear weight written one value per int32_data entry (as
onnx.parser writes it; ONNX Runtime refuses it too); int32data: the same
weight packed two values per int32_data entry, as ONNX specifies (valid).
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

out, case = sys.argv[1], sys.argv[2]
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])
vals = [1, -2, 3, -4, 5, -6, 7, -8, 0, 1, 2, 3, 4, 5, 6, 7]
scale = helper.make_tensor("s", TensorProto.FLOAT, [1, 4], [0.5, 0.25, 1.0, 2.0])
inputs, inits, nodes = [x], [], []
if case == "input":
    inputs.append(helper.make_tensor_value_info("w", TensorProto.INT4, [4, 4]))
    nodes = [helper.make_node("DequantizeLinear", ["w", "s"], ["d"], axis=0, block_size=4),
             helper.make_node("MatMul", ["x", "d"], ["y"], name="fc")]
    inits = [scale]
elif case == "add":
    inits = [helper.make_tensor("w", TensorProto.INT4, [2, 4], vals[:8])]
    nodes = [helper.make_node("Add", ["x", "w"], ["y"], name="add")]
elif case == "short":
    w = helper.make_tensor("w", TensorProto.INT4, [4, 4], vals)
    w.raw_data = bytes(7)
    inits = [w, scale]
    nodes = [helper.make_node("DequantizeLinear", ["w", "s"], ["d"], axis=0, block_size=4),
             helper.make_node("MatMul", ["x", "d"], ["y"], name="fc")]
else:
    w = TensorProto(name="w", data_type=TensorProto.INT4, dims=[4, 4])
    if case == "unpacked":
        w.int32_data.extend(vals)
    else:
        w.int32_data.extend((a & 15) | (b & 15) << 4 for a, b in zip(vals[::2], vals[1::2]))
    inits = [w, scale]
    nodes = [helper.make_node("DequantizeLinear", ["w", "s"], ["d"], axis=0, block_size=4),
             helper.make_node("MatMul", ["x", "d"], ["y"], name="fc")]
g = helper.make_graph(nodes, "g", inputs, [y], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
m.ir_version = 10
onnx.save(m, out)
