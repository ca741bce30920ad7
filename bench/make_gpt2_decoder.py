"""Writes a GPT-2-architecture decoder with its KV cache as ONNX (random weights).

    python bench/make_gpt2_decoder.py OUT.onnx [--hidden 768 --heads 12 --layers 12
        --inner 3072 --vocab 50257 --positions 1024]

The defaults are GPT-2 small (124M parameters). Per layer, as transformers'
GPT2LMHeadModel computes it: LayerNorm, one fused c_attn projection with
bias split into q, k, v, the opset-23 Attention operator with
past_key/past_value (is_causal), the c_proj projection with bias and the
residual, LayerNorm, an MLP with bias and tanh-approximated GELU (GPT-2's
gelu_new), the residual; learned position embeddings gathered by
position_ids; a final LayerNorm and the LM head tied to the token embedding
(stored transposed beside it, as a constant-folded export writes it).
Inputs/outputs use Optimum's text-generation-with-past names. The returned
parameter count counts the tied matrix once.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "models"))
from onnx_build import Builder, llm_io, save_llm  # noqa: E402


def build(out, hidden=768, heads=12, layers=12, inner=3072, vocab=50257, positions=1024, seed=0):
    d = hidden // heads
    b = Builder(seed, float32=True)
    w, c, node, inits = b.w, b.c, b.node, b.inits

    def vec(name, n, value=None):
        a = (np.full(n, value, np.float32) if value is not None
             else b.rng.standard_normal(n, dtype=np.float32) * np.float32(0.02))
        inits.append(numpy_helper.from_array(a, name))
        return name

    def layer_norm(x, name):
        return node("LayerNormalization", [x, vec(f"{name}.g", hidden, 1.0), vec(f"{name}.b", hidden, 0.0)],
                    [f"{name}.out"], axis=-1, epsilon=1e-5)

    def linear(x, name, n_in, n_out):
        y = node("MatMul", [x, w(f"{name}.w", n_in, n_out)], [f"{name}.mm"])
        return node("Add", [y, vec(f"{name}.bias", n_out)], [f"{name}.out"])

    def split_heads(t, name):
        r = node("Reshape", [t, c(f"{name}_shape", [0, 0, heads, d])], [f"{name}_r"])
        return node("Transpose", [r], [f"{name}_t"], perm=[0, 2, 1, 3])

    wte = w("wte", vocab, hidden, scale=0.02)
    tok = node("Gather", [wte, "input_ids"], ["tok"])
    pos = node("Gather", [w("wpe", positions, hidden, scale=0.01), "position_ids"], ["pos"])
    x = node("Add", [tok, pos], ["h0"])
    c("split3", [hidden, hidden, hidden])
    for i in range(layers):
        qkv = linear(layer_norm(x, f"l{i}.ln1"), f"l{i}.c_attn", hidden, 3 * hidden)
        node("Split", [qkv, "split3"], [f"l{i}.q", f"l{i}.k", f"l{i}.v"], axis=-1)
        q, k, v = (split_heads(f"l{i}.{n}", f"l{i}.{n}h") for n in "qkv")
        node("Attention", [q, k, v, "", f"past_key_values.{i}.key", f"past_key_values.{i}.value"],
             [f"l{i}.attn", f"present.{i}.key", f"present.{i}.value"], is_causal=1)
        t = node("Transpose", [f"l{i}.attn"], [f"l{i}.attn_t"], perm=[0, 2, 1, 3])
        r = node("Reshape", [t, c(f"l{i}.oshape", [0, 0, hidden])], [f"l{i}.attn_r"])
        x = node("Add", [x, linear(r, f"l{i}.c_proj", hidden, hidden)], [f"l{i}.h1"])
        h = linear(layer_norm(x, f"l{i}.ln2"), f"l{i}.c_fc", hidden, inner)
        h = node("Gelu", [h], [f"l{i}.gelu"], approximate="tanh")
        x = node("Add", [x, linear(h, f"l{i}.mlp_proj", inner, hidden)], [f"l{i}.h2"])
    nf = layer_norm(x, "ln_f")
    wte_t = numpy_helper.to_array(next(a for a in inits if a.name == wte)).T.copy()
    inits.append(numpy_helper.from_array(wte_t, "lm_head"))
    node("MatMul", [nf, "lm_head"], ["logits"])

    save_llm(b, "gpt2_decoder", out, *llm_io(layers, heads, d, vocab), [("", 23)])
    return sum(int(np.prod(a.dims)) for a in inits if a.name not in ("lm_head",) and a.data_type == 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--inner", type=int, default=3072)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--positions", type=int, default=1024)
    a = ap.parse_args()
    n = build(a.out, a.hidden, a.heads, a.layers, a.inner, a.vocab, a.positions)
    print(f"wrote {a.out}: {n / 1e6:.1f}M parameters")


if __name__ == "__main__":
    main()
