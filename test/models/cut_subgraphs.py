"""Cuts the subgraphs the graph-fusion lit tests use out of the real exports in
this folder (test/lit/passes/Graph/Inputs/*.onnx). Needs only `onnx`.

    python test/models/cut_subgraphs.py
"""
import numpy as np
import onnx
from onnx import numpy_helper
from pathlib import Path
from onnx import helper, TensorProto
import onnx.printer
def cut(src, inputs, outputs, shapes, dst, name, fixed=None):
    """`fixed`: values (numpy arrays) that become initializers, e.g. the
    model's shape values for the cut's sizes."""
    fixed = fixed or {}
    m = onnx.load(src)
    g = m.graph
    produced = {}
    for n in g.node:
        for o in n.output: produced[o] = n
    inits = {i.name: i for i in g.initializer}
    inits.update({k: numpy_helper.from_array(v, k) for k, v in fixed.items()})
    # walk back from outputs to inputs
    need, nodes, seen = list(outputs), [], set()
    while need:
        v = need.pop()
        if v in inputs or v in inits or v in seen or v == "": continue
        seen.add(v)
        n = produced[v]
        if n not in nodes: nodes.append(n)
        need.extend(n.input)
    order = [n for n in g.node if n in nodes]
    used = {i for n in order for i in n.input}
    gi = [helper.make_tensor_value_info(i, TensorProto.FLOAT, shapes[i]) for i in inputs]
    go = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    graph = helper.make_graph(order, name, gi, go, [inits[u] for u in sorted(used) if u in inits])
    mm = helper.make_model(graph, opset_imports=m.opset_import)
    mm.ir_version = m.ir_version
    mm = onnx.shape_inference.infer_shapes(mm)
    onnx.save(mm, dst)
    print(dst, len(order), "nodes")
T = str(Path(__file__).resolve().parent) + "/"
OUT = str(Path(__file__).resolve().parents[1] / "lit" / "passes" / "Graph" / "Inputs") + "/"
cut(T+"gpt2.onnx", ["view_12"], ["mul_23"], {"view_12": [2, 5, 256]}, OUT + "gpt2-gelu-tanh.onnx", "gpt2_mlp_gelu")
cut(T+"bert_legacy.onnx", ["/model/embeddings/Add_1_output_0"], ["/model/embeddings/LayerNorm/Add_1_output_0"], {"/model/embeddings/Add_1_output_0": [2, 5, 64]}, OUT + "bert-layernorm.onnx", "bert_embeddings_layernorm")
cut(T+"llama.onnx", ["add_6"], ["mul_97"], {"add_6": [2, 5, 64]}, OUT + "llama-rmsnorm.onnx", "llama_post_attention_rmsnorm")
cut(T+"llama.onnx", ["linear_4", "linear_5"], ["mul_98"], {"linear_4": [2, 5, 160], "linear_5": [2, 5, 160]}, OUT + "llama-silu.onnx", "llama_mlp_silu")
cut(T+"llama.onnx", ["transpose", "unsqueeze_14", "unsqueeze_15"], ["add_4"],
    {"transpose": [2, 8, 5, 8], "unsqueeze_14": [2, 1, 5, 8], "unsqueeze_15": [2, 1, 5, 8]},
    OUT + "llama-rotary.onnx", "llama_rotary_q")
cut(T+"gpt2.onnx", ["transpose_2", "transpose", "transpose_1", "val_111"], ["scaled_dot_product_attention"],
    {"transpose_2": [2, 4, 5, 16], "transpose": [2, 4, 5, 16], "transpose_1": [2, 4, 5, 16],
     "val_111": [2, 1, 5, 5]}, OUT + "gpt2-sdpa.onnx", "gpt2_sdpa")
cut(T+"llama.onnx", ["add_4", "add_5", "transpose_2", "val_154"], ["scaled_dot_product_attention"],
    {"add_4": [2, 8, 5, 8], "add_5": [2, 2, 5, 8], "transpose_2": [2, 2, 5, 8], "val_154": [2, 1, 5, 5]},
    OUT + "llama-sdpa-gqa.onnx", "llama_sdpa_gqa",
    fixed={"val_0": np.array([2], np.int64), "val_1": np.array([5], np.int64)})
