"""Builds a tiny decoder whose attention layers are operators with past state.

    python test/models/make_attention_ops_past.py [--out test/models/attention_ops_past.onnx]

Layer 0 is `com.microsoft.GroupQueryAttention` with past_key/past_value in the
ONNX Runtime GenAI layout (seqlens_k and total_sequence_length computed from
attention_mask in the graph); layer 1 is the opset-23 `Attention` operator
with 4-D inputs, past_key/past_value and is_causal. Inputs and outputs follow
Optimum's text-generation-with-past names, so `rbln-compile` turns both
layers' caches into paged KV caches. Random weights (numpy, seeded).
"""
import argparse
from pathlib import Path

import sys

import onnx
from onnx import helper

sys.path.insert(0, str(Path(__file__).parent))
from onnx_build import Builder, llm_io, seqlens_from_mask  # noqa: E402

VOCAB, HIDDEN, HQ, HKV, D, MAXPOS = 300, 48, 6, 2, 8, 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).parent / "attention_ops_past.onnx"))
    args = ap.parse_args()
    b = Builder(7)
    w = lambda name, *shape, scale=0.2: b.w(name, *shape, scale=scale)
    c, node, inits, nodes = b.c, b.node, b.inits, b.nodes

    node("Gather", [w("tok_emb", VOCAB, HIDDEN, scale=1.0), "input_ids"], ["emb"])
    node("Gather", [w("pos_emb", MAXPOS, HIDDEN, scale=0.5), "position_ids"], ["pemb"])
    x = node("Add", ["emb", "pemb"], ["x0"])
    seqlens_from_mask(b)  # seqlens_k = sum(attention_mask) - 1, total = its length, int32

    # Layer 0: GroupQueryAttention (3-D q/k/v, past in [B, Hkv, P, D]).
    q = node("MatMul", [x, w("wq0", HIDDEN, HQ * D)], ["q0"])
    k = node("MatMul", [x, w("wk0", HIDDEN, HKV * D)], ["k0"])
    v = node("MatMul", [x, w("wv0", HIDDEN, HKV * D)], ["v0"])
    node("GroupQueryAttention", [q, k, v, "past_key_values.0.key", "past_key_values.0.value", "seqlens_k",
                                 "total_sequence_length"],
         ["attn0", "present.0.key", "present.0.value"], domain="com.microsoft", num_heads=HQ,
         kv_num_heads=HKV)
    o = node("MatMul", ["attn0", w("wo0", HQ * D, HIDDEN)], ["o0"])
    x = node("Add", [x, o], ["x1"])

    # Layer 1: opset-23 Attention, 4-D [B, H, S, D] with past.
    def heads(t, h, name):
        r = node("Reshape", [t, c(f"shape_{name}", [0, 0, h, D])], [f"{name}_r"])
        return node("Transpose", [r], [f"{name}_t"], perm=[0, 2, 1, 3])

    q = heads(node("MatMul", [x, w("wq1", HIDDEN, HQ * D)], ["q1"]), HQ, "q1")
    k = heads(node("MatMul", [x, w("wk1", HIDDEN, HKV * D)], ["k1"]), HKV, "k1")
    v = heads(node("MatMul", [x, w("wv1", HIDDEN, HKV * D)], ["v1"]), HKV, "v1")
    node("Attention", [q, k, v, "", "past_key_values.1.key", "past_key_values.1.value"],
         ["attn1", "present.1.key", "present.1.value"], is_causal=1)
    t = node("Transpose", ["attn1"], ["attn1_t"], perm=[0, 2, 1, 3])
    r = node("Reshape", [t, c("shape_o1", [0, 0, HQ * D])], ["attn1_r"])
    o = node("MatMul", [r, w("wo1", HQ * D, HIDDEN)], ["o1"])
    x = node("Add", [x, o], ["x2"])
    node("MatMul", [x, w("lm_head", HIDDEN, VOCAB)], ["logits"])

    ins, outs = llm_io(2, HKV, D, VOCAB)
    graph = helper.make_graph(nodes, "attention_ops_past", ins, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
