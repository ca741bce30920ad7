"""Builds tiny decoders with sliding-window layers and their KV cache.

    python test/models/make_sliding_window_past.py [--out-dir test/models]

* `hybrid_window_past.onnx`: Gemma-3-style hybrid, 6 layers, five local
  (window 16) to one global (layer 5), grouped-query attention 4:2.
* `window_all_past.onnx`: Mistral-style, 2 layers, every layer windowed (24).

Each layer is `com.microsoft.GroupQueryAttention` with past_key/past_value in
the ONNX Runtime GenAI layout and `local_window_size` on the windowed layers
(what ONNX Runtime GenAI's model builder writes for Gemma 3 and Mistral);
seqlens_k and total_sequence_length come from attention_mask. Learned
position embeddings, RMSNorm before attention, MLP and the LM head, a
residual MLP (SiLU gate), random weights (numpy,
seeded). Inputs and outputs follow Optimum's text-generation-with-past names.
"""
import argparse
from pathlib import Path

import sys

import numpy as np
import onnx
from onnx import helper

sys.path.insert(0, str(Path(__file__).parent))
from onnx_build import Builder, llm_io, seqlens_from_mask  # noqa: E402

VOCAB, HIDDEN, HQ, HKV, D, INTER, MAXPOS = 300, 48, 4, 2, 16, 96, 1024


def build(path, windows, seed, hidden=None, heads=None, kv_heads=None, head_dim=None, inter=None,
          vocab=None, max_pos=None):
    """`windows[i]` > 0: layer i attends to its last windows[i] keys."""
    global VOCAB, HIDDEN, HQ, HKV, D, INTER, MAXPOS
    saved = (VOCAB, HIDDEN, HQ, HKV, D, INTER, MAXPOS)
    VOCAB, HIDDEN, HQ, HKV, D, INTER, MAXPOS = (vocab or VOCAB, hidden or HIDDEN, heads or HQ, kv_heads or HKV,
                                               head_dim or D, inter or INTER, max_pos or MAXPOS)
    try:
        _build(path, windows, seed)
    finally:
        VOCAB, HIDDEN, HQ, HKV, D, INTER, MAXPOS = saved


def _build(path, windows, seed):
    b = Builder(seed)
    w, c, node, inits, nodes = b.w, b.c, b.node, b.inits, b.nodes

    node("Gather", [w("tok_emb", VOCAB, HIDDEN, scale=1.0), "input_ids"], ["emb"])
    node("Gather", [w("pos_emb", MAXPOS, HIDDEN, scale=0.5), "position_ids"], ["pemb"])
    x = node("Add", ["emb", "pemb"], ["x0"])
    seqlens_from_mask(b)
    c("norm_scale", np.ones(HIDDEN), np.float32)
    for i, win in enumerate(windows):
        n1 = node("RMSNormalization", [x, "norm_scale"], [f"n1_{i}"], axis=-1, epsilon=1e-5)
        q = node("MatMul", [n1, w(f"wq{i}", HIDDEN, HQ * D)], [f"q{i}"])
        k = node("MatMul", [n1, w(f"wk{i}", HIDDEN, HKV * D)], [f"k{i}"])
        v = node("MatMul", [n1, w(f"wv{i}", HIDDEN, HKV * D)], [f"v{i}"])
        attrs = dict(num_heads=HQ, kv_num_heads=HKV)
        if win:
            attrs["local_window_size"] = win
        node("GroupQueryAttention", [q, k, v, f"past_key_values.{i}.key", f"past_key_values.{i}.value",
                                     "seqlens_k", "total_sequence_length"],
             [f"attn{i}", f"present.{i}.key", f"present.{i}.value"], domain="com.microsoft", **attrs)
        x = node("Add", [x, node("MatMul", [f"attn{i}", w(f"wo{i}", HQ * D, HIDDEN)], [f"o{i}"])], [f"h{i}"])
        n2 = node("RMSNormalization", [x, "norm_scale"], [f"n2_{i}"], axis=-1, epsilon=1e-5)
        g = node("MatMul", [n2, w(f"wg{i}", HIDDEN, INTER)], [f"g{i}"])
        g = node("Mul", [g, node("Sigmoid", [g], [f"gs{i}"])], [f"silu{i}"])
        x = node("Add", [x, node("MatMul", [g, w(f"wd{i}", INTER, HIDDEN)], [f"d{i}"])], [f"x{i + 1}"])
    nf = node("RMSNormalization", [x, "norm_scale"], ["nf"], axis=-1, epsilon=1e-5)
    node("MatMul", [nf, w("lm_head", HIDDEN, VOCAB)], ["logits"])
    ins, outs = llm_io(len(windows), HKV, D, VOCAB)
    graph = helper.make_graph(nodes, Path(path).stem, ins, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    big = sum(len(t.raw_data) for t in inits) > (1 << 30)
    onnx.save(model, str(path), save_as_external_data=big, all_tensors_to_one_file=True,
              location=Path(path).name + ".data")
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", default=str(Path(__file__).parent))
    a = ap.parse_args()
    out = Path(a.out_dir)
    build(out / "hybrid_window_past.onnx", [16, 16, 16, 16, 16, 0], seed=21)
    build(out / "window_all_past.onnx", [24, 24], seed=22)


if __name__ == "__main__":
    main()
