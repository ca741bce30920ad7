#!/usr/bin/env python3
"""The C API example runs a compiled MLP and matches ONNX Runtime."""
import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--workdir", required=True)
a = ap.parse_args()
work = Path(a.workdir)
work.mkdir(parents=True, exist_ok=True)
model, _ = models.mlp(np.random.default_rng(3), sizes=(3, 37, 64, 20, 10))
onnx.save(model, work / "mlp.onnx")
subprocess.run([Path(a.bin) / "rbln-compile", work / "mlp.onnx", "-o", work / "mlp.rbln", "--target=tiny",
                "--quiet"], check=True)
out = subprocess.run([Path(a.bin) / "rbln-capi-example", work / "mlp.rbln"], check=True,
                     capture_output=True, text=True).stdout.split("\n")
got = np.array([float(v) for v in out[1:] if v.strip()], np.float32).reshape(3, 10)
x = np.sin(0.1 * np.arange(3 * 37, dtype=np.float32)).astype(np.float32).reshape(3, 37)
ref = ort.InferenceSession(str(work / "mlp.onnx"), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
err = np.abs(got - ref).max()
print(f"C API example vs ONNX Runtime: max abs error {err:.3g}")
sys.exit(0 if np.allclose(got, ref, rtol=1e-4, atol=1e-6) else 1)
