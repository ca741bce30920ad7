#!/usr/bin/env python3
"""End-to-end attention against ONNX Runtime: the ONNX opset-23 Attention
operator in the configurations issue 4 lists -- causal and not, boolean and
float masks, GQA 4:1 and MQA, head dims 64, 80 and 128, sequence lengths that
are not multiples of any tile, a past cache; and sliding windows (issue 6)
through GroupQueryAttention's local_window_size -- compiled for `atom` in fp32
and fp16 and compared with ONNX Runtime on the same model and inputs.

    check_attention.py --bin build/bin [--dtype fp32|fp16] [--workdir DIR] [-k NAME]
                       [--kv-partition-len N]
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbln_compare import run_against  # noqa: E402

# name: (batch, q heads, kv heads, q len, kv len, head dim, causal, mask kind, past len)
CASES = {
    "mha_d64_causal": (1, 4, 4, 37, 37, 64, True, None, 0),
    "mha_d64_float_mask": (2, 3, 3, 19, 23, 64, False, "float", 0),
    "gqa4_d128_causal": (1, 8, 2, 45, 45, 128, True, None, 0),
    "gqa4_d80_bool_mask": (2, 8, 2, 13, 29, 80, False, "bool", 0),
    "mqa_d64_causal_bool": (1, 6, 1, 33, 33, 64, True, "bool", 0),
    "gqa4_d64_past_causal": (1, 8, 2, 7, 7, 64, True, None, 21),
    # several query and KV tiles: the online softmax across tiles, causal
    # tiles skipped and masked in place
    "mha_d64_causal_long": (1, 2, 2, 300, 300, 64, True, None, 0),
    "mqa_d128_long_float_mask": (1, 4, 1, 130, 333, 128, False, "float", 0),
    "gqa4_d80_long_bool_causal": (2, 4, 1, 257, 257, 80, True, "bool", 0),
    # enough (batch, KV head) units for every NE: K/V resident in the SPM
    "gqa2_d64_resident_causal": (2, 8, 4, 150, 150, 64, True, None, 0),
    "mha_d64_resident_float_mask": (1, 8, 8, 140, 200, 64, False, "float", 0),
    # more (batch, KV head) units than NEs: the next unit's K/V are fetched
    # into a second resident area while the NE works on the current one
    "mha_d64_resident_double_causal": (2, 12, 12, 150, 150, 64, True, None, 0),
    "gqa2_d128_resident_double": (1, 32, 16, 100, 100, 128, False, None, 0),
}
# Sliding windows through com.microsoft.GroupQueryAttention's local_window_size:
# name: (q heads, kv heads, length, head dim, window)
WINDOW_CASES = {
    "gqa_window16_d128": (8, 2, 37, 128, 16),
    # many KV tiles: those wholly before a query tile's windows are skipped,
    # the window's lower edge masked in place
    "gqa_window70_long": (4, 2, 300, 64, 70),
    "mqa_window200_long": (4, 1, 333, 64, 200),
}
TOL = {"fp32": (1e-4, 1e-5), "fp16": (2e-2, 2e-2)}


def build_window(case):
    hq, hkv, s, d, w = WINDOW_CASES[case]
    f = TensorProto.FLOAT
    ins = [helper.make_tensor_value_info("q", f, [1, s, hq * d]),
           helper.make_tensor_value_info("k", f, [1, s, hkv * d]),
           helper.make_tensor_value_info("v", f, [1, s, hkv * d])]
    inits = [helper.make_tensor("seqlens", TensorProto.INT32, [1], [s - 1]),
             helper.make_tensor("total", TensorProto.INT32, [], [s])]
    node = helper.make_node("GroupQueryAttention", ["q", "k", "v", "", "", "seqlens", "total"],
                            ["y"], name="gqa", domain="com.microsoft", num_heads=hq, kv_num_heads=hkv,
                            local_window_size=w)
    outs = [helper.make_tensor_value_info("y", f, [1, s, hq * d])]
    m = helper.make_model(helper.make_graph([node], case, ins, outs, inits),
                          opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    rng = np.random.default_rng(len(case))
    feeds = {vi.name: rng.standard_normal([x.dim_value for x in vi.type.tensor_type.shape.dim]).astype(np.float32)
             for vi in ins}
    return m, feeds


def build(case):
    b, hq, hkv, sq, sk, d, causal, mask, past = CASES[case]
    f = TensorProto.FLOAT
    ins = [helper.make_tensor_value_info("q", f, [b, hq, sq, d]),
           helper.make_tensor_value_info("k", f, [b, hkv, sk, d]),
           helper.make_tensor_value_info("v", f, [b, hkv, sk, d])]
    names = ["q", "k", "v"]
    total = sk + past
    if mask:
        ins.append(helper.make_tensor_value_info("mask", TensorProto.BOOL if mask == "bool" else f,
                                                 [b, 1, sq, total]))
        names.append("mask")
    else:
        names.append("")
    outs = [helper.make_tensor_value_info("y", f, [b, hq, sq, d])]
    out_names = ["y"]
    if past:
        ins += [helper.make_tensor_value_info("pk", f, [b, hkv, past, d]),
                helper.make_tensor_value_info("pv", f, [b, hkv, past, d])]
        names += ["pk", "pv"]
        outs += [helper.make_tensor_value_info("presk", f, [b, hkv, total, d]),
                 helper.make_tensor_value_info("presv", f, [b, hkv, total, d])]
        out_names += ["presk", "presv"]
    node = helper.make_node("Attention", names, out_names, name="attn", is_causal=int(causal))
    m = helper.make_model(helper.make_graph([node], case, ins, outs), opset_imports=[helper.make_opsetid("", 23)])
    m.ir_version = 10
    rng = np.random.default_rng(len(case))
    feeds = {}
    for vi in ins:
        shape = [x.dim_value for x in vi.type.tensor_type.shape.dim]
        if vi.name == "mask" and mask == "bool":
            feeds["mask"] = rng.random(shape) > 0.3
            feeds["mask"][..., 0] = True  # every query keeps a key
        elif vi.name == "mask":
            feeds["mask"] = rng.standard_normal(shape).astype(np.float32)
        else:
            feeds[vi.name] = rng.standard_normal(shape).astype(np.float32)
    return m, feeds


def run(binp, case, dtype, work, kv_len=0):
    m, feeds = build_window(case) if case in WINDOW_CASES else build(case)
    path = work / f"{case}.onnx"
    onnx.save(m, str(path))
    refs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    art = work / f"{case}-{dtype}-{kv_len}.rbln"
    extra = [f"--kvcache-partition-len={kv_len}"] if kv_len else []
    c = subprocess.run([str(binp / "rbln-compile"), str(path), "-o", str(art), "--target=atom", f"--dtype={dtype}",
                        "--quiet", *extra], capture_output=True, text=True)
    if c.returncode:
        print(f"{case} {dtype}: compile failed\n{c.stderr}")
        return False
    rtol, atol = TOL[dtype]
    ok, last, out = run_against(binp / "rbln-run", art, feeds, refs, work, f"{case}-", rtol, atol, ["-q"])
    print(f"{case:24} {dtype}: {'ok' if ok else 'MISMATCH'}  {last}")
    if not ok:
        print(out)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--workdir")
    ap.add_argument("-k", default="")
    ap.add_argument("--kv-partition-len", type=int, default=0,
                    help="compile with --kvcache-partition-len (KV tiles of this length)")
    a = ap.parse_args()
    work = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="rbln-attn-"))
    work.mkdir(parents=True, exist_ok=True)
    ok = all([run(Path(a.bin), c, a.dtype, work, a.kv_partition_len)
              for c in list(CASES) + list(WINDOW_CASES) if a.k in c])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
