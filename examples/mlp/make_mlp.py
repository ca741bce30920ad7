#!/usr/bin/env python3
"""Builds a 3-layer MLP as an ONNX model with onnx.helper (random weights).

    make_mlp.py OUT.onnx [--sizes 1,37,300,129,10] [--seed 0] [--gemm]

Layers alternate MatMul+Add and Gemm forms (as exporters write both), with Relu
between layers and Softmax at the end.
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(sizes, seed=0, softmax=True):
    rng = np.random.default_rng(seed)
    batch, dims = sizes[0], sizes[1:]
    nodes, inits = [], []
    x = "x"
    for i, (k, n) in enumerate(zip(dims[:-1], dims[1:])):
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        b = (rng.standard_normal(n) * 0.1).astype(np.float32)
        y = f"h{i}"
        if i % 2 == 0:
            inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
            nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"mm{i}"], name=f"fc{i}_matmul"))
            nodes.append(helper.make_node("Add", [f"mm{i}", f"b{i}"], [y], name=f"fc{i}_bias"))
        else:
            inits += [numpy_helper.from_array(w.T.copy(), f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
            nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y], name=f"fc{i}_gemm",
                                          transB=1))
        x = y
        if i + 2 < len(dims):
            nodes.append(helper.make_node("Relu", [x], [f"r{i}"], name=f"relu{i}"))
            x = f"r{i}"
    if softmax:
        nodes.append(helper.make_node("Softmax", [x], ["y"], name="softmax", axis=-1))
    else:
        nodes.append(helper.make_node("Identity", [x], ["y"], name="out"))
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, dims[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, dims[-1]])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="rbln-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--sizes", default="1,37,300,129,10",
                    help="batch, then the width of each layer (default: 1,37,300,129,10)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-softmax", action="store_true")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    onnx.save(build(sizes, a.seed, not a.no_softmax), a.out)


if __name__ == "__main__":
    main()
