"""ONNX models for end-to-end tests, built with onnx.helper (random weights).

Every builder returns (model, inputs) where inputs maps input names to numpy
arrays. Sizes are chosen so that they are not multiples of any tile.
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "mlp"))
import make_mlp  # noqa: E402

OPSET = 17


def _model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "test", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rbln-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def mlp(rng, sizes=(1, 37, 300, 129, 10)):
    m = make_mlp.build(list(sizes), seed=int(rng.integers(1 << 30)))
    return m, {"x": rng.standard_normal(sizes[:2]).astype(np.float32)}


def matmul(rng, m=512, k=512, n=512, weight=False):
    """Y = A x B with B an input (weight=False) or an initializer."""
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    if weight:
        model = _model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
                       [_vi("a", (m, k))], [_vi("y", (m, n))], [numpy_helper.from_array(b, "b")])
        return model, {"a": a}
    model = _model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
                   [_vi("a", (m, k)), _vi("b", (k, n))], [_vi("y", (m, n))])
    return model, {"a": a, "b": b}


def batched_matmul(rng):
    """3-D x 2-D MatMul with broadcast batch, then a scale by Mul and a Div."""
    a = rng.standard_normal((3, 19, 45)).astype(np.float32)
    w = (rng.standard_normal((45, 23)) / 7).astype(np.float32)
    s = np.array([0.5], np.float32)
    model = _model([helper.make_node("MatMul", ["a", "w"], ["t"], name="bmm"),
                    helper.make_node("Mul", ["t", "s"], ["u"], name="scale"),
                    helper.make_node("Div", ["u", "d"], ["y"], name="div")],
                   [_vi("a", a.shape), _vi("d", (23,))], [_vi("y", (3, 19, 23))],
                   [numpy_helper.from_array(w, "w"), numpy_helper.from_array(s, "s")])
    return model, {"a": a, "d": (rng.uniform(1, 2, (23,))).astype(np.float32)}


def elementwise(rng):
    """Broadcasting Add/Sub, Sigmoid, Tanh, Transpose, Reshape, Softmax."""
    x = rng.standard_normal((2, 5, 33)).astype(np.float32)
    y = rng.standard_normal((5, 1)).astype(np.float32)
    shape = np.array([10, 33], np.int64)
    nodes = [
        helper.make_node("Add", ["x", "y"], ["a"], name="add"),
        helper.make_node("Sigmoid", ["a"], ["b"], name="sig"),
        helper.make_node("Sub", ["b", "x"], ["c"], name="sub"),
        helper.make_node("Tanh", ["c"], ["d"], name="tanh"),
        helper.make_node("Transpose", ["d"], ["e"], name="tr", perm=[0, 2, 1]),
        helper.make_node("Reshape", ["d", "shape"], ["f"], name="reshape"),
        helper.make_node("Softmax", ["f"], ["g"], name="softmax", axis=-1),
    ]
    model = _model(nodes, [_vi("x", x.shape), _vi("y", y.shape)],
                   [_vi("e", (2, 33, 5)), _vi("g", (10, 33))],
                   [numpy_helper.from_array(shape, "shape")])
    return model, {"x": x, "y": y}


def gemm_variants(rng):
    """Gemm with transA, alpha, beta and a column bias; Relu; Identity output."""
    a = rng.standard_normal((21, 13)).astype(np.float32)  # used transposed: 13 x 21
    b = (rng.standard_normal((21, 17)) / 4).astype(np.float32)
    c = rng.standard_normal((13, 1)).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["a", "b", "c"], ["g"], name="gemm", transA=1, alpha=0.75, beta=1.5),
             helper.make_node("Relu", ["g"], ["y"], name="relu"),
             helper.make_node("Identity", ["y"], ["z"], name="id")]
    model = _model(nodes, [_vi("a", a.shape)], [_vi("y", (13, 17)), _vi("z", (13, 17))],
                   [numpy_helper.from_array(b, "b"), numpy_helper.from_array(c, "c")])
    return model, {"a": a}


CASES = {
    "mlp": mlp,
    "matmul512": lambda rng: matmul(rng, 512, 512, 512),
    "matmul_odd_weight": lambda rng: matmul(rng, 67, 130, 201, weight=True),
    "batched_matmul": batched_matmul,
    "elementwise": elementwise,
    "gemm_variants": gemm_variants,
}
