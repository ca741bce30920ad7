#!/usr/bin/env python3
"""A 512x512x512 MatMul compiled for `tiny` is cut into many tiles: many mm and
DMA commands in the disassembly, an SPM high-water mark within tiny's SPM,
and the result still matches ONNX Runtime."""
import argparse
import re
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
binp, work = Path(a.bin), Path(a.workdir)
work.mkdir(parents=True, exist_ok=True)
model, feeds = models.matmul(np.random.default_rng(1), 512, 512, 512)
onnx.save(model, work / "mm.onnx")
subprocess.run([binp / "rbln-compile", work / "mm.onnx", "-o", work / "mm.rbln", "--target=tiny", "--quiet"],
               check=True)
dis = subprocess.run([binp / "rbln-objdump", "--disassemble", work / "mm.rbln"], check=True,
                     capture_output=True, text=True).stdout
mms = len(re.findall(r"^\s+\d+: mm\.", dis, re.M))
dmas = len(re.findall(r"^\s+\d+: dma\.neural\.", dis, re.M))
nes = set(re.findall(r"^\s+\d+: mm\.(\d+)", dis, re.M))
print(f"tiny: {mms} mm commands on NEs {sorted(nes)}, {dmas} DMA commands")
for k, v in feeds.items():
    np.save(work / f"{k}.npy", v)
ref = ort.InferenceSession(str(work / "mm.onnx"), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
np.save(work / "ref.npy", ref)
run = subprocess.run([binp / "rbln-run", work / "mm.rbln", f"--input=a=@{work / 'a.npy'}",
                      f"--input=b=@{work / 'b.npy'}", f"--expected-output=@{work / 'ref.npy'}",
                      "--rtol=1e-4", "--atol=1e-4", "--stats", "-q"], capture_output=True, text=True)
print(run.stdout, end="")
m = re.search(r"spm high-water mark: (\d+) of (\d+) bytes", run.stdout)
ok = run.returncode == 0 and m is not None
if m:
    high, spm = int(m.group(1)), int(m.group(2))
    ok &= 0 < high <= spm
    print(f"SPM high-water {high} <= {spm}: {high <= spm}")
ok &= mms >= 64 and dmas >= 128 and len(nes) == 2
sys.exit(0 if ok else 1)
