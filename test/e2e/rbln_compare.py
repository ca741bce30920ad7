"""Runs a compiled .rbln under rbln-run against reference outputs.

The inputs and references (from ONNX Runtime) are saved as .npy files under
`work` (named by position: input names need not be file names) and passed as
--input / --expected-output, so rbln-run itself compares (exit 1 on a
mismatch).
"""
import subprocess
from pathlib import Path

import numpy as np


def run_against(rbln_run, art, feeds, refs, work, prefix, rtol, atol, extra=()):
    """Returns (ok, the last line rbln-run printed, everything it printed)."""
    work = Path(work)
    args = []
    for i, (name, value) in enumerate(feeds.items()):
        path = work / f"{prefix}in{i}.npy"
        np.save(path, value)
        args.append(f"--input={name}=@{path}")
    for i, ref in enumerate(refs):
        path = work / f"{prefix}ref{i}.npy"
        np.save(path, ref)
        args.append(f"--expected-output=@{path}")
    r = subprocess.run([str(rbln_run), str(art), *args, f"--rtol={rtol}", f"--atol={atol}", *extra],
                       capture_output=True, text=True)
    out = r.stdout + r.stderr
    lines = [l for l in out.splitlines() if l.strip()]
    return r.returncode == 0, lines[-1] if lines else "", out
