"""Writes a Llama-shaped decoder with its KV cache as ONNX (random weights).

    python bench/make_llama_decoder.py OUT.onnx [--hidden 4096 --heads 32 --kv-heads 8
        --intermediate 14336 --layers 2 --vocab 32000]

Per layer: RMSNorm (opset-23 RMSNormalization), q/k/v
projections, rotary embedding in the rotate-half form exporters write
(cos/sin tables gathered by position_ids), the opset-23 Attention operator
with past_key/past_value (is_causal), the output projection, RMSNorm and a
SwiGLU MLP (x * Sigmoid(x) gate). Inputs/outputs use Optimum's
text-generation-with-past names. Weights are streamed to external data
beside the model as they are made (the default sizes are ~700M parameters,
2.8 GB in fp32; memory stays flat for any size); `--dtype float16` writes an
fp16 model (weights, activations, KV cache).
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "models"))
from onnx_build import Builder, llm_io  # noqa: E402


class StreamingBuilder(Builder):
    """Writes each weight to OUT.data as it is made and keeps only its
    external-data reference: memory stays flat whatever the model's size (an
    8B model is 16 GB of fp16). Weights are slices of a few random pools (one
    per scale), drawn once: a compile benchmark needs the sizes, not
    independent values, and drawing 8G normals would take minutes."""

    POOL = 1 << 25  # elements per pool

    def __init__(self, seed, out, dtype):
        super().__init__(seed, float32=True)
        self.dtype = np.dtype(dtype)
        self.location = os.path.basename(out) + ".data"
        self.f = open(out + ".data", "wb")
        self.pools, self.cursor = {}, 0

    def pool(self, scale):
        if scale not in self.pools:
            self.pools[scale] = (self.rng.standard_normal(self.POOL, dtype=np.float32)
                                 * np.float32(scale)).astype(self.dtype)
        return self.pools[scale]

    def w(self, name, *shape, scale=None):
        scale = float(scale if scale is not None else 1.0 / np.sqrt(shape[0]))
        pool, n = self.pool(scale), int(np.prod(shape))
        offset = self.f.tell()
        left = n
        while left:
            start = self.cursor % self.POOL
            take = min(left, self.POOL - start)
            self.f.write(pool[start:start + take].tobytes())
            self.cursor += take + 4099  # not the same slices in every tensor
            left -= take
        t = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(self.dtype), dims=shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.location), ("offset", str(offset)), ("length", str(n * self.dtype.itemsize))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self.inits.append(t)
        return name

    def c(self, name, value, dtype=np.int64):
        if np.dtype(dtype) == np.float32:
            dtype = self.dtype
        return super().c(name, value, dtype)


def build(out, hidden, heads, kv_heads, inter, layers, vocab, max_pos=4096, seed=0, dtype="float32"):
    d = hidden // heads
    b = StreamingBuilder(seed, out, dtype)
    w, c, node, inits = b.w, b.c, b.node, b.inits

    inv = 1.0 / (10000 ** (np.arange(0, d, 2, dtype=np.float64) / d))
    ang = np.arange(max_pos)[:, None] * inv[None]
    ang = np.concatenate([ang, ang], axis=1)
    inits.append(numpy_helper.from_array(np.cos(ang).astype(b.dtype), "cos_table"))
    inits.append(numpy_helper.from_array(np.sin(ang).astype(b.dtype), "sin_table"))
    node("Gather", ["cos_table", "position_ids"], ["cos3"])
    node("Gather", ["sin_table", "position_ids"], ["sin3"])
    cos = node("Unsqueeze", ["cos3", c("ax1", [1])], ["cos"])
    sin = node("Unsqueeze", ["sin3", c("ax1b", [1])], ["sin"])
    x = node("Gather", [w("embed", vocab, hidden, scale=1.0), "input_ids"], ["h0"])
    c("half0", [0]), c("half1", [d // 2]), c("half2", [d]), c("axis_last", [-1])

    def rope(t, name):
        a = node("Slice", [t, "half0", "half1", "axis_last"], [f"{name}_a"])
        b = node("Slice", [t, "half1", "half2", "axis_last"], [f"{name}_b"])
        nb = node("Neg", [b], [f"{name}_nb"])
        rot = node("Concat", [nb, a], [f"{name}_rot"], axis=-1)
        p = node("Mul", [t, cos], [f"{name}_pc"])
        q = node("Mul", [rot, sin], [f"{name}_ps"])
        return node("Add", [p, q], [f"{name}_rope"])

    def split_heads(t, h, name):
        r = node("Reshape", [t, c(f"{name}_shape", [0, 0, h, d])], [f"{name}_r"])
        return node("Transpose", [r], [f"{name}_t"], perm=[0, 2, 1, 3])

    for i in range(layers):
        n1 = node("RMSNormalization", [x, c(f"l{i}.norm1", np.ones(hidden), np.float32)],
                  [f"l{i}.n1"], axis=-1, epsilon=1e-5)
        q = rope(split_heads(node("MatMul", [n1, w(f"l{i}.wq", hidden, heads * d)], [f"l{i}.q"]), heads,
                             f"l{i}.q"), f"l{i}.q")
        k = rope(split_heads(node("MatMul", [n1, w(f"l{i}.wk", hidden, kv_heads * d)], [f"l{i}.k"]),
                             kv_heads, f"l{i}.k"), f"l{i}.k")
        v = split_heads(node("MatMul", [n1, w(f"l{i}.wv", hidden, kv_heads * d)], [f"l{i}.v"]), kv_heads,
                        f"l{i}.v")
        node("Attention", [q, k, v, "", f"past_key_values.{i}.key", f"past_key_values.{i}.value"],
             [f"l{i}.attn", f"present.{i}.key", f"present.{i}.value"], is_causal=1)
        t = node("Transpose", [f"l{i}.attn"], [f"l{i}.attn_t"], perm=[0, 2, 1, 3])
        r = node("Reshape", [t, c(f"l{i}.oshape", [0, 0, heads * d])], [f"l{i}.attn_r"])
        x = node("Add", [x, node("MatMul", [r, w(f"l{i}.wo", heads * d, hidden)], [f"l{i}.o"])], [f"l{i}.h1"])
        n2 = node("RMSNormalization", [x, c(f"l{i}.norm2", np.ones(hidden), np.float32)],
                  [f"l{i}.n2"], axis=-1, epsilon=1e-5)
        g = node("MatMul", [n2, w(f"l{i}.wg", hidden, inter)], [f"l{i}.g"])
        g = node("Mul", [g, node("Sigmoid", [g], [f"l{i}.gs"])], [f"l{i}.silu"])
        u = node("MatMul", [n2, w(f"l{i}.wu", hidden, inter)], [f"l{i}.u"])
        m = node("Mul", [g, u], [f"l{i}.gu"])
        x = node("Add", [x, node("MatMul", [m, w(f"l{i}.wd", inter, hidden)], [f"l{i}.dn"])], [f"l{i}.h2"])
    nf = node("RMSNormalization", [x, c("norm_f", np.ones(hidden), np.float32)], ["nf"],
              axis=-1, epsilon=1e-5)
    node("MatMul", [nf, w("lm_head", hidden, vocab)], ["logits"])

    b.f.close()
    elem = helper.np_dtype_to_tensor_dtype(b.dtype)
    graph = helper.make_graph(b.nodes, "llama_decoder", *llm_io(layers, kv_heads, d, vocab, elem), b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    onnx.save(model, out)  # the weights are already in OUT.data
    params = sum(int(np.prod(a.dims)) for a in inits if a.name not in ("cos_table", "sin_table"))
    return params


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=4096)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--intermediate", type=int, default=14336)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                    help="element type of weights, activations and the KV cache")
    a = ap.parse_args()
    n = build(a.out, a.hidden, a.heads, a.kv_heads, a.intermediate, a.layers, a.vocab, dtype=a.dtype)
    print(f"wrote {a.out}: {n / 1e6:.1f}M parameters")


if __name__ == "__main__":
    main()
