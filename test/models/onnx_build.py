"""Shared pieces of the onnx.helper model builders in this folder and bench/.

A Builder collects initializers and nodes; `llm_io` gives the inputs and
outputs of Optimum's text-generation-with-past layout.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, seed, float32=False):
        self.rng = np.random.default_rng(seed)
        self.float32 = float32  # draw in float32 (large models: no float64 temporaries)
        self.inits, self.nodes = [], []

    def w(self, name, *shape, scale=None):
        """A random f32 weight, scaled by 1/sqrt(fan-in) unless told."""
        scale = scale if scale is not None else 1.0 / np.sqrt(shape[0])
        if self.float32:
            a = self.rng.standard_normal(shape, dtype=np.float32) * np.float32(scale)
        else:
            a = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.inits.append(numpy_helper.from_array(a, name))
        return name

    def c(self, name, value, dtype=np.int64):
        self.inits.append(numpy_helper.from_array(np.array(value, dtype), name))
        return name

    def node(self, op, ins, outs, domain="", **attrs):
        self.nodes.append(helper.make_node(op, ins, outs, name=f"{op}_{len(self.nodes)}", domain=domain,
                                           **attrs))
        return outs[0]


def llm_io(layers, kv_heads, head_dim, vocab, elem=TensorProto.FLOAT):
    """(inputs, outputs): input_ids, attention_mask, position_ids and
    past_key_values.{i}.key/.value -> logits and present.{i}.key/.value
    (caches and logits of element type `elem`)."""
    f, i64 = elem, TensorProto.INT64
    cache = lambda n, s: helper.make_tensor_value_info(n, f, ["batch", kv_heads, s, head_dim])
    ins = [helper.make_tensor_value_info("input_ids", i64, ["batch", "sequence"]),
           helper.make_tensor_value_info("attention_mask", i64, ["batch", "total_sequence"]),
           helper.make_tensor_value_info("position_ids", i64, ["batch", "sequence"])]
    ins += [cache(f"past_key_values.{i}.{kv}", "past_sequence") for i in range(layers) for kv in ("key", "value")]
    outs = [helper.make_tensor_value_info("logits", f, ["batch", "sequence", vocab])]
    outs += [cache(f"present.{i}.{kv}", "total_sequence") for i in range(layers) for kv in ("key", "value")]
    return ins, outs


def seqlens_from_mask(b):
    """GroupQueryAttention's seqlens_k and total_sequence_length (int32) from
    attention_mask, as ONNX Runtime GenAI's model builder writes them."""
    b.node("ReduceSum", ["attention_mask", b.c("axis1", [1])], ["mask_sum"], keepdims=0)
    b.node("Sub", ["mask_sum", b.c("one", 1)], ["seqlens64"])
    b.node("Cast", ["seqlens64"], ["seqlens_k"], to=TensorProto.INT32)
    b.node("Shape", ["attention_mask"], ["mask_shape"])
    b.node("Gather", ["mask_shape", b.c("idx1", 1)], ["total64"], axis=0)
    b.node("Cast", ["total64"], ["total_sequence_length"], to=TensorProto.INT32)
    return "seqlens_k", "total_sequence_length"


def save_llm(b, name, out, inputs, outputs, opsets):
    """Writes the builder's graph as a model (IR 10, the given opsets); weights
    over 1 GiB go to external data beside it (OUT.data)."""
    graph = helper.make_graph(b.nodes, name, inputs, outputs, b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = 10
    big = sum(len(a.raw_data) for a in b.inits) > (1 << 30)
    onnx.save(model, out, save_as_external_data=big, all_tensors_to_one_file=True,
              location=os.path.basename(out) + ".data", size_threshold=1024)
