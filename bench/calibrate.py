#!/usr/bin/env python3
"""The timing model's terms, one at a time, on BERT-Large (MLPerf's shape) on `atom`.

    scripts/setup-serving.sh     # torch + transformers for the export (as bench/run_bert_bench.py)
    .venv-serving/bin/python bench/calibrate.py [--bin build/bin] [--workdir DIR] [--out bench/calibrate.json]

The model is bench/run_bert_bench.py's (transformers' BertForQuestionAnswering,
24 layers, hidden 1024, 16 heads, sequence 384, batch 1, random weights,
torch.onnx.export), compiled for `atom` at fp16. Its modeled latency is then
taken under the calibrated target description and again with each term of
the timing model switched off in a copy of that description (rbln-run
--target FILE, timing only), so the table says what each term costs this
model:
  - DRAM row activations, refresh and read/write turnaround (dram.page_bytes,
    refresh_ns, rw_turnaround_ns);
  - DRAM access latency for DMA and CP loads (dram.access_latency_ns);
  - semaphore wake-up and barrier latency (cp.semaphore_latency_cycles,
    barrier_cycles);
and beside them the floors (the tensor engines' peak on the useful MACs, the
DRAM bytes at the peak rate), the host side (launch, inputs and outputs over
PCIe) and ATOM's one public latency: MLPerf Inference v3.0, BERT-Large
SingleStream, INT8, 4.30 ms p90. The same export quantized by ONNX Runtime's
quantize_dynamic (bench/run_bert_bench.py's INT8 model) is then modeled
against that figure, its gap split by kernel kind from the model's own trace
(integer matmuls against the INT8 tensor floor, the dynamic quantization's
range and quantize passes, fp16 attention, LayerNorm, the rest).

Exits non-zero when a figure breaks physics: the modeled time below either
floor, or switching a term off making the model slower.
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import run_bert_bench as bert  # noqa: E402  (the export and the inputs are the BERT bench's)

# Each variant: the fields to zero, as (block or None, field).
TERMS = [
    ("DRAM rows, refresh, turnaround", [("dram", "page_bytes"), ("dram", "channels"), ("dram", "banks_per_channel"),
                                        ("dram", "refresh_ns"), ("dram", "rw_turnaround_ns")]),
    ("DRAM access latency", [("dram", "access_latency_ns")]),
    ("semaphore and barrier latency", [("cp", "semaphore_latency_cycles"), ("cp", "barrier_cycles")]),
]


def set_fields(text, fields, value="0"):
    """The target text with each (block, field) set to value."""
    for block, field in fields:
        if block is None:
            text, n = re.subn(rf"(?m)^({field}:\s*)\S+", rf"\g<1>{value}", text)
        else:
            def edit(m):
                return re.sub(rf"(?m)^(\s*{field}:\s*)\S+", rf"\g<1>{value}", m.group(0))
            text, n = re.subn(rf"(?ms)^{block} \{{.*?^\}}", edit, text)
        if n != 1:
            sys.exit(f"calibrate: no single '{block or ''}.{field}' in the target description")
    return text


def stats(binp, artifact, inputs, target):
    out = subprocess.run([binp / "rbln-run", artifact, "--input", *inputs, "--no-compute", "--stats", "-q",
                          "--target", target], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"rbln-run failed:\n{out.stdout}\n{out.stderr}")
    t = out.stdout

    def num(p):
        return float(re.search(p, t).group(1))
    return {"cycles": num(r"cycles: (\d+)"), "device_us": num(r"\(([\d.]+) us device\)"),
            "launch_us": num(r"\+ ([\d.]+) us host launch"), "link_us": num(r"host link: ([\d.]+) us"),
            "roofline_cycles": num(r"tensor roofline: (\d+) cycles"),
            "dram_bytes": (num(r"dram read ([\d.]+) MiB") + num(r"write ([\d.]+) MiB; spm")) * 2**20}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "build" / "bin"))
    ap.add_argument("--workdir", default=None, help="where the export goes (reused when there)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "calibrate.json"))
    a = ap.parse_args()
    binp = Path(a.bin)
    work = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="rbln-calibrate-"))
    work.mkdir(parents=True, exist_ok=True)
    model = work / "bert_large.onnx"
    if not model.exists():
        print(f"exporting BERT-Large (random weights) to {model} ...", flush=True)
        bert.export(model)
    artifact = work / "bert_large.rbln"
    bert.run([binp / "rbln-compile", model, "-o", artifact, "--target=atom", "--dtype=fp16", "--quiet"])
    _, inputs = bert.make_inputs(work)

    atom_text = (ROOT / "runtime" / "targets" / "atom.textproto").read_text()
    clock = float(re.search(r"(?m)^clock_ghz:\s*(\S+)", atom_text).group(1))
    gbps = float(re.search(r"(?m)^dram_gbps:\s*(\S+)", atom_text).group(1))
    full = stats(binp, artifact, inputs, str(ROOT / "runtime" / "targets" / "atom.textproto"))
    failures = []
    rows = []
    everything = []
    for name, fields in TERMS:
        everything += fields
        path = work / f"atom-without-{len(rows)}.textproto"
        path.write_text(set_fields(atom_text, fields))
        s = stats(binp, artifact, inputs, str(path))
        delta = full["device_us"] - s["device_us"]
        rows.append({"term": name, "without_us": s["device_us"], "costs_us": round(delta, 1),
                     "share": round(delta / full["device_us"], 4)})
        if delta < -1e-6 * full["device_us"]:
            failures.append(f"switching off '{name}' made the model slower ({-delta:.1f} us)")
    path = work / "atom-ideal.textproto"
    path.write_text(set_fields(atom_text, everything))
    ideal = stats(binp, artifact, inputs, str(path))

    tensor_floor_us = full["roofline_cycles"] / clock / 1e3
    dram_floor_us = full["dram_bytes"] / (gbps * 1e3)
    mlperf_ms = bert.MLPERF_ATOM_INT8_MS
    result = {
        "model": "BertForQuestionAnswering, 24 layers, hidden 1024, seq 384, batch 1, fp16 on atom",
        "modeled_device_us": full["device_us"], "host_launch_us": full["launch_us"],
        "host_link_us": full["link_us"], "ideal_device_us": ideal["device_us"],
        "terms": rows, "tensor_floor_us": round(tensor_floor_us, 1), "dram_floor_us": round(dram_floor_us, 1),
        "mlperf_atom_int8_ms": mlperf_ms,
        "modeled_over_mlperf": round((full["device_us"] + full["launch_us"]) / 1e3 / mlperf_ms, 3),
    }
    print(f"BERT-Large fp16 on atom: {full['device_us'] / 1e3:.3f} ms device + {full['launch_us']:.1f} us launch "
          f"(+ {full['link_us']:.1f} us of inputs/outputs over PCIe, apart)")
    print(f"  every calibrated term off: {ideal['device_us'] / 1e3:.3f} ms")
    for r in rows:
        print(f"  {r['term']}: costs {r['costs_us']:.1f} us ({100 * r['share']:.1f} %); without it "
              f"{r['without_us'] / 1e3:.3f} ms")
    print(f"  floors: tensor peak {tensor_floor_us / 1e3:.3f} ms (fp16, 32 TFLOPS), DRAM bytes at "
          f"{gbps:.0f} GB/s {dram_floor_us / 1e3:.3f} ms")
    print(f"  ATOM's MLPerf v3.0 INT8 result {mlperf_ms} ms: modeled fp16 / INT8 = "
          f"{result['modeled_over_mlperf']:.2f}x (the fp16 tensor floor alone is "
          f"{tensor_floor_us / 1e3 / mlperf_ms:.2f}x)")
    if full["device_us"] < max(tensor_floor_us, dram_floor_us) * (1 - 1e-9):
        failures.append("the modeled time is below a floor (the timing model is wrong)")

    # INT8: ONNX Runtime's quantizers on the same export (bench/run_bert_bench.py's models).
    for static in (False, True):
        how = "quantize_static, QDQ" if static else "quantize_dynamic"
        qmodel = bert.quantize_int8(work, model, static)
        qartifact = qmodel.with_suffix(".rbln")
        bert.run([binp / "rbln-compile", qmodel, "-o", qartifact, "--target=atom", "--dtype=fp16", "--quiet"])
        q = stats(binp, qartifact, inputs, str(ROOT / "runtime" / "targets" / "atom.textproto"))
        trace = work / f"trace_{qmodel.stem}.json"
        bert.run([binp / "rbln-run", qartifact, "--input", *inputs, "--no-compute", "-q", "--profile", trace])
        kinds = bert.int8_breakdown(trace)
        q_tensor_floor_us = q["roofline_cycles"] / clock / 1e3
        q_dram_floor_us = q["dram_bytes"] / (gbps * 1e3)
        q_ms = (q["device_us"] + q["launch_us"]) / 1e3
        result["int8_static" if static else "int8_dynamic"] = {
            "quantizer": how, "modeled_device_us": q["device_us"], "host_launch_us": q["launch_us"],
            "tensor_floor_us": round(q_tensor_floor_us, 1), "dram_floor_us": round(q_dram_floor_us, 1),
            "kernels": kinds, "modeled_over_mlperf": round(q_ms / mlperf_ms, 3)}
        print(f"BERT-Large INT8 ({how}) on atom: {q['device_us'] / 1e3:.3f} ms device + "
              f"{q['launch_us']:.1f} us launch = {q_ms / mlperf_ms:.2f}x ATOM's MLPerf {mlperf_ms} ms; floors: "
              f"tensor (INT8 matmuls, fp16 attention) {q_tensor_floor_us / 1e3:.3f} ms, DRAM "
              f"{q_dram_floor_us / 1e3:.3f} ms")
        for k, v in kinds.items():
            print(f"  {k:72s} {v['kernels']:4d} kernels {v['us'] / 1e3:7.3f} ms")
        if q["device_us"] < max(q_tensor_floor_us, q_dram_floor_us) * (1 - 1e-9):
            failures.append(f"the INT8 ({how}) model's time is below a floor (the timing model is wrong)")
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {a.out}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
