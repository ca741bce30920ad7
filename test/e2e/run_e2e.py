#!/usr/bin/env python3
"""Compiles an ONNX model with rbln-compile, runs it with rbln-run on the
simulator and compares every output with ONNX Runtime on the same file.

    run_e2e.py --case mlp --target tiny --dtype fp32 --bin build/bin [--workdir DIR]
    run_e2e.py --model m.onnx --target atom --dtype fp16 --bin build/bin   (any model, random inputs)

Tolerances (DESIGN.md section 6): fp32 elementwise rtol 1e-4 (atol 1e-5 of the
largest reference magnitude); fp16 ||out-ref||/||ref|| <= 3e-3; bf16 <= 1e-2;
NaN never passes.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

REL_NORM = {"fp16": 3e-3, "bf16": 1e-2}


def check(name, got, ref, dtype):
    if got.shape != ref.shape:
        return f"{name}: shape {got.shape} != reference {ref.shape}"
    if np.isnan(got).any() or np.isnan(ref).any():
        return f"{name}: NaN in output or reference"
    if dtype == "fp32":
        atol = 1e-5 * max(1.0, float(np.abs(ref).max()))
        bad = np.abs(got - ref) > 1e-4 * np.abs(ref) + atol
        if bad.any():
            i = np.flatnonzero(bad)[0]
            return (f"{name}: {bad.sum()} of {ref.size} elements differ; first at {i}: "
                    f"{got.flat[i]} vs {ref.flat[i]}")
        print(f"  {name}: max abs error {np.abs(got - ref).max():.3g} (fp32, rtol 1e-4)")
        return None
    rel = float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30))
    if rel > REL_NORM[dtype]:
        return f"{name}: relative error {rel:.3g} > {REL_NORM[dtype]} ({dtype})"
    print(f"  {name}: relative error {rel:.3g} (limit {REL_NORM[dtype]}, {dtype})")
    return None


def random_inputs(model, rng):
    out = {}
    init = {i.name for i in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in init:
            continue
        shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        out[vi.name] = rng.standard_normal(shape).astype(np.float32)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=sorted(models.CASES))
    ap.add_argument("--model", help="an existing .onnx instead of a built-in case")
    ap.add_argument("--target", default="tiny")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--bin", required=True, help="folder with rbln-compile and rbln-run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    work = Path(a.workdir or tempfile.mkdtemp(prefix="rbln-e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    if a.model:
        model = onnx.load(a.model)
        feeds = random_inputs(model, rng)
    else:
        model, feeds = models.CASES[a.case](rng)
    onnx_path = work / "model.onnx"
    onnx.save(model, onnx_path)
    rbln_path = work / "model.rbln"
    binp = Path(a.bin)
    subprocess.run([binp / "rbln-compile", onnx_path, "-o", rbln_path, f"--target={a.target}",
                    f"--dtype={a.dtype}", "--quiet"], check=True)
    refs = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, feeds)
    order = [vi.name for vi in model.graph.input if vi.name in feeds]
    cmd = [binp / "rbln-run", rbln_path, "--stats"]
    for name in order:
        np.save(work / f"in_{name}.npy", feeds[name])
        cmd.append(f"--input={name}=@{work / f'in_{name}.npy'}")
    outs = [o.name for o in model.graph.output]
    for i, name in enumerate(outs):
        cmd.append(f"--output=@{work / f'out_{i}.npy'}")
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(r.stdout, end="")
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
        return 1
    errors = [check(name, np.load(work / f"out_{i}.npy"), ref, a.dtype)
              for i, (name, ref) in enumerate(zip(outs, refs))]
    errors = [e for e in errors if e]
    for e in errors:
        print("FAIL " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
