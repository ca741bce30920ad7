#!/usr/bin/env python3
"""Compiles the transformer fixtures in this folder and compares rbln-run with
ONNX Runtime on the same .onnx file and the same inputs.

    check_transformers.py --bin build/bin [--models gpt2,llama,path/to/other.onnx] [--target atom]
                          [--dtype f32] [--seq 11,37] [--batch 2]

Inputs: random token ids, an attention mask whose second sequence is padded
on the right (so masked keys matter), random token type ids. Sequence lengths
default to values that are not multiples of any tile. Exits non-zero on the
first mismatch; tolerances follow DESIGN.md section 6 (fp32 tight, fp16/bf16
looser).
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from rbln_compare import run_against  # noqa: E402

HERE = Path(__file__).resolve().parent
MODELS = ["bert", "gpt2", "llama", "qwen2", "bert_legacy"]
TOL = {"f32": (2e-4, 2e-5), "f16": (3e-2, 3e-2), "bf16": (1e-1, 1e-1)}


def inputs_for(model, batch, seq, rng, vocab):
    feeds = {}
    for vi in model.graph.input:
        if vi.name == "input_ids":
            feeds[vi.name] = rng.integers(0, vocab, (batch, seq), dtype=np.int64)
        elif vi.name == "attention_mask":
            m = np.ones((batch, seq), np.int64)
            if batch > 1:
                m[1, seq - max(1, seq // 3):] = 0
            feeds[vi.name] = m
        elif vi.name == "token_type_ids":
            feeds[vi.name] = rng.integers(0, 2, (batch, seq), dtype=np.int64)
        else:
            raise SystemExit(f"{vi.name}: no input generator")
    return feeds


def check(bin_dir, name, target, dtype, batch, seq, work, vocab):
    path = Path(name) if name.endswith(".onnx") else HERE / f"{name}.onnx"
    name = path.stem
    model = onnx.load(str(path))
    rng = np.random.default_rng(seq * 31 + batch)
    feeds = inputs_for(model, batch, seq, rng, vocab)
    refs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    art = work / f"{name}-{target}-{dtype}-{batch}x{seq}.rbln"
    c = subprocess.run([str(bin_dir / "rbln-compile"), str(path), f"--target={target}", f"--dtype={dtype}",
                        f"--dim=batch={batch}", f"--dim=sequence={seq}", "-o", str(art), "--quiet"],
                       capture_output=True, text=True)
    if c.returncode:
        print(c.stdout + c.stderr)
        return False
    rtol, atol = TOL[dtype]
    ok, last, out = run_against(bin_dir / "rbln-run", art, feeds, refs, work, "", rtol, atol)
    print(f"{name:6} {target:10} {dtype:4} {batch}x{seq:<4} {'ok' if ok else 'MISMATCH'}  {last}")
    if not ok:
        print(out)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--target", default="atom")
    ap.add_argument("--dtype", default="f32")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", default="11,37")
    ap.add_argument("--workdir")
    ap.add_argument("--vocab", type=int, default=1000, help="token ids are drawn below this")
    a = ap.parse_args()
    work = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="rbln-transformers-"))
    work.mkdir(parents=True, exist_ok=True)
    ok = True
    for name in a.models.split(","):
        for seq in (int(s) for s in a.seq.split(",")):
            ok &= check(Path(a.bin), name, a.target, a.dtype, a.batch, seq, work, a.vocab)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
