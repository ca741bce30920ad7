#!/usr/bin/env python3
"""Compiling the same model twice gives byte-identical artifacts (fp32 and fp16)."""
import argparse
import filecmp
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--workdir", required=True)
a = ap.parse_args()
work = Path(a.workdir)
work.mkdir(parents=True, exist_ok=True)
ok = True
for name in ("mlp", "elementwise", "gemm_variants"):
    model, _ = models.CASES[name](np.random.default_rng(0))
    onnx.save(model, work / f"{name}.onnx")
    for dtype in ("fp32", "fp16"):
        outs = []
        for i in range(2):
            out = work / f"{name}-{dtype}-{i}.rbln"
            subprocess.run([Path(a.bin) / "rbln-compile", work / f"{name}.onnx", "-o", out,
                            "--target=atom", f"--dtype={dtype}", "--quiet"], check=True)
            outs.append(out)
        same = filecmp.cmp(outs[0], outs[1], shallow=False)
        print(f"{name} {dtype}: {'identical' if same else 'DIFFERENT'} ({outs[0].stat().st_size} bytes)")
        ok &= same
sys.exit(0 if ok else 1)
