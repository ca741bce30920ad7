#!/usr/bin/env python3
"""Runs the ONNX backend node tests (the cases shipped in the `onnx` Python
package, onnx/backend/test/case/node) whose operators rbln claims, through
rbln-compile and rbln-run, against the expected outputs stored with each
test (with each test's own rtol/atol).

    run_node_tests.py --bin build/bin [--target tiny] [--update] [-k PATTERN] [-v]

`passing.txt` beside this file lists the tests that must pass: the run fails
if any of them fails. Tests that pass but are not listed are reported so the
list can grow (--update rewrites it). Every other selected test is listed
with the first line of its error in the report, and docs/ops.md explains
the reasons.
"""
import argparse
import collections
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper

HERE = Path(__file__).resolve().parent
# The operators rbln imports (README "What works today").
CLAIMED = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Relu", "Sigmoid", "Tanh", "Exp", "Log",
           "Sqrt", "Reciprocal", "Neg", "Abs", "Erf", "Sin", "Cos", "Gelu", "Clip", "Cast", "MatMul",
           "Gemm", "Softmax", "Transpose", "Reshape", "Constant", "Identity", "Squeeze", "Unsqueeze",
           "Flatten", "Expand", "ReduceSum", "ReduceMean", "ReduceMax", "LayerNormalization",
           "RMSNormalization", "Gather", "GatherND", "Slice", "Split", "Concat", "Equal", "Less",
           "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Not", "IsNaN", "Where",
           "Shape", "Size", "Range", "ConstantOfShape", "GatherElements", "Trilu", "CumSum",
           "ScatterND", "Attention", "RotaryEmbedding", "Round", "QuantizeLinear", "DequantizeLinear", "MatMulInteger", "QLinearMatMul",
           "DynamicQuantizeLinear"}


def collect():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import onnx.backend.test.case.node as node
        cases = node.collect_testcases("")
    out = []
    for c in cases:
        if c.model is None or not c.data_sets:
            continue
        ops = {n.op_type for n in c.model.graph.node}
        if ops <= CLAIMED:
            out.append(c)
    return sorted(out, key=lambda c: c.name)


def first_error(text):
    for line in text.splitlines():
        m = re.search(r"error: (.*)", line)
        if m:
            return m.group(1)[:200]
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1][:200] if lines else "failed"


def as_array(value, dtype):
    """A test value as a numpy array of its declared type, or None for
    sequences and optionals."""
    if isinstance(value, onnx.TensorProto):
        value = onnx.numpy_helper.to_array(value)
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        return None
    return value.astype(dtype) if value.dtype == object else value


def run_case(case, binp, target, work):
    work.mkdir(parents=True, exist_ok=True)
    model_path = work / "model.onnx"
    onnx.save(case.model, model_path)
    rbln = work / "model.rbln"
    init = {i.name for i in case.model.graph.initializer}
    graph_inputs = [vi for vi in case.model.graph.input if vi.name not in init]
    # Operands an AOT compiler needs at compile time (shapes, axes, Clip
    # bounds) arrive as runtime inputs in the node tests: bind them to the
    # test's values with --bind-value, as a user would.
    static = set()
    for n in case.model.graph.node:
        if n.op_type in ("Reshape", "Expand", "Squeeze", "Unsqueeze", "ReduceSum", "ReduceMean",
                         "ReduceMax") and len(n.input) > 1:
            static.add(n.input[1])
        if n.op_type in ("Clip", "Slice"):
            static.update(n.input[1:])
        if n.op_type in ("Split", "GatherND", "GatherElements", "CumSum", "Trilu") and len(n.input) > 1:
            static.add(n.input[1])
    binds = []
    if static and len(case.data_sets) == 1:
        for vi, value in zip(graph_inputs, case.data_sets[0][0]):
            if vi.name in static:
                p = work / f"bind_{vi.name}.npy"
                np.save(p, np.require(np.asarray(value), requirements="C"))
                binds.append(f"--bind-value={vi.name}=@{p}")
    r = subprocess.run([binp / "rbln-compile", model_path, "-o", rbln, f"--target={target}", "--quiet",
                        *binds], capture_output=True, text=True)
    if r.returncode != 0:
        return "compile", first_error(r.stderr)
    bound = {b[len("--bind-value="):].split("=", 1)[0] for b in binds}
    names = [vi.name for vi in graph_inputs]
    # Some cases store inputs as object arrays; give them the declared type.
    declared = [onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type) for vi in graph_inputs]
    for k, (inputs, outputs) in enumerate(case.data_sets):
        cmd = [binp / "rbln-run", rbln, "-q"]
        for name, value, dt in zip(names, inputs, declared):
            if name in bound:
                continue
            value = as_array(value, dt)
            if value is None:
                return "run", f"input {name} is not a tensor"
            p = work / f"in{k}_{name}.npy"
            np.save(p, np.require(value, requirements="C"))  # keeps rank 0
            cmd.append(f"--input={name}=@{p}")
        out_types = [onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
                     for vi in case.model.graph.output]
        for i, value in enumerate(outputs):
            value = as_array(value, out_types[i])
            if value is None:
                return "run", f"output {i} is not a tensor"
            p = work / f"ref{k}_{i}.npy"
            np.save(p, np.require(value, requirements="C"))
            cmd.append(f"--expected-output=@{p}")
        cmd += [f"--rtol={case.rtol}", f"--atol={case.atol}"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 1:
            return "mismatch", first_error(r.stdout) if "FAILED" not in r.stdout else \
                [l for l in r.stdout.splitlines() if "FAILED" in l][0][:200]
        if r.returncode != 0:
            return "run", first_error(r.stderr)
    return "pass", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--target", default="tiny")
    ap.add_argument("--update", action="store_true", help="rewrite passing.txt with what passes now")
    ap.add_argument("-k", default="", help="only tests whose name contains this")
    ap.add_argument("-v", action="store_true", help="print every test")
    ap.add_argument("--workdir")
    a = ap.parse_args()
    binp = Path(a.bin)
    work = Path(a.workdir or tempfile.mkdtemp(prefix="rbln-node-"))
    listed = set((HERE / "passing.txt").read_text().split()) if (HERE / "passing.txt").exists() else set()
    cases = [c for c in collect() if a.k in c.name]
    results = {}
    for c in cases:
        status, why = run_case(c, binp, a.target, work / c.name)
        results[c.name] = (status, why)
        if a.v or (status != "pass" and c.name in listed):
            print(f"{status:9} {c.name}  {why}")
    passed = sorted(n for n, (s, _) in results.items() if s == "pass")
    regressions = sorted(n for n in listed if n in results and results[n][0] != "pass")
    new = sorted(set(passed) - listed)
    by_op = collections.Counter()
    for c in cases:
        if results[c.name][0] == "pass":
            for op in {n.op_type for n in c.model.graph.node}:
                by_op[op] += 1
    print(f"\n{len(cases)} node tests use only claimed operators; {len(passed)} pass on '{a.target}'")
    print("passing tests per operator: " + ", ".join(f"{op} {n}" for op, n in sorted(by_op.items())))
    if not a.v:
        reasons = collections.defaultdict(list)
        for n, (s, why) in sorted(results.items()):
            if s != "pass":
                reasons[re.sub(r"'[^']*'|\d+", "_", why)[:90]].append(n)
        print("not passing, by reason:")
        for why, names in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(names):3}  {why}\n       {' '.join(names)}")
    if new:
        print(f"newly passing (add to passing.txt, or run with --update): {' '.join(new)}")
    if a.update:
        (HERE / "passing.txt").write_text("\n".join(passed) + "\n")
        print(f"wrote {len(passed)} names to passing.txt")
        return 0
    if regressions:
        print(f"REGRESSED: {' '.join(regressions)}")
    print(f"{len(listed) - len(regressions)} passed, {len(regressions)} failed")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
