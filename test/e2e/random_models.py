#!/usr/bin/env python3
"""Random models as a new user would bring them: MLPs, matmuls, Gemm with
every bias shape and transpose, broadcasting elementwise chains with
transposes and softmax, at random sizes (not tile multiples), for random
targets and compute types; each compiled, simulated and compared with ONNX
Runtime by run_e2e.py.

    random_models.py --bin build/bin [--seed 0] [--count 24] [--workdir DIR]
"""
import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

E2E = Path(__file__).resolve().parent / "run_e2e.py"


def random_model(rng):
    kind = int(rng.integers(4))
    if kind == 0:
        sizes = [int(rng.integers(1, 9))] + [int(rng.integers(1, 700)) for _ in range(int(rng.integers(2, 5)))]
        return models.mlp(rng, sizes=tuple(sizes))[0], f"mlp {sizes}"
    if kind == 1:
        m, k, n = (int(rng.integers(1, 300)) for _ in range(3))
        weight = bool(rng.integers(2))
        return models.matmul(rng, m, k, n, weight=weight)[0], f"matmul {m}x{k}x{n} weight={weight}"
    if kind == 2:
        m, k, n = (int(rng.integers(1, 100)) for _ in range(3))
        cshape = [[m, n], [n], [1], [m, 1], [1, n]][int(rng.integers(5))]
        ta, tb = int(rng.integers(2)), int(rng.integers(2))
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        c = rng.standard_normal(cshape).astype(np.float32)
        nodes = [helper.make_node("Gemm", ["a", "b", "c"], ["y"], name="gemm", transA=ta, transB=tb,
                                  alpha=float(rng.uniform(-2, 2)), beta=float(rng.uniform(-2, 2)))]
        act = ["Relu", "Sigmoid", "Tanh", None][int(rng.integers(4))]
        out = "y"
        if act:
            nodes.append(helper.make_node(act, ["y"], ["z"], name="act"))
            out = "z"
        model = models._model(nodes, [models._vi("a", a.shape)], [models._vi(out, (m, n))],
                              [numpy_helper.from_array(b, "b"), numpy_helper.from_array(c, "c")])
        return model, f"gemm m={m} k={k} n={n} c={cshape} transA={ta} transB={tb} {act}"
    shape = [int(rng.integers(1, 40)) for _ in range(int(rng.integers(1, 5)))]
    bshape = [d if rng.integers(2) else 1 for d in shape][int(rng.integers(len(shape))):]
    perm = [int(p) for p in rng.permutation(len(shape))]
    op = ["Add", "Sub", "Mul", "Div"][int(rng.integers(4))]
    nodes = [helper.make_node(op, ["x", "y"], ["t"], name="binary"),
             helper.make_node("Transpose", ["t"], ["u"], name="transpose", perm=perm),
             helper.make_node("Softmax", ["u"], ["s"], name="softmax", axis=-1)]
    model = models._model(nodes, [models._vi("x", shape), models._vi("y", bshape)],
                          [models._vi("s", [shape[p] for p in perm])])
    return model, f"{op} {shape} with {bshape}, transpose {perm}, softmax"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--workdir", default="/tmp/rbln-random-models")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    failed = 0
    for i in range(a.count):
        model, desc = random_model(rng)
        target = ["tiny", "atom", "rebel-quad"][int(rng.integers(3))]
        dtype = ["fp32", "fp16", "bf16"][int(rng.integers(3))]
        path = work / f"model{i}.onnx"
        onnx.save(model, path)
        r = subprocess.run([sys.executable, E2E, "--model", path, "--target", target, "--dtype", dtype,
                            "--bin", a.bin, "--seed", str(i), "--workdir", work / f"run{i}"],
                           capture_output=True, text=True)
        status = "ok" if r.returncode == 0 else "FAILED"
        print(f"[{status}] {i}: {desc} on {target} in {dtype}")
        if r.returncode != 0:
            failed += 1
            print((r.stdout + r.stderr)[-2000:])
    print(f"{a.count - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
