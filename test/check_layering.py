#!/usr/bin/env python3
"""The source tree's layers include only downwards.

    check_layering.py <repository root>

Layers, lowest first: runtime (C++17, no MLIR/LLVM) < dialects < passes <
lib (frontend, emit) < driver < tools. Within them: the npu dialect does not
include the graph dialect, nor npuisa either; lib/ and passes/ never include
the driver. Fails naming each include that points upwards.
"""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
INCLUDE = re.compile(r'^\s*#\s*include\s+[<"]([^">]+)[">]', re.M)

# (files under, include prefixes they must not use, why)
RULES = [
    ("runtime", ("mlir/", "llvm/", "dialects/", "passes/", "rbln/Driver", "rbln/Frontend",
                 "rbln/Emit", "rbln/Target/", "rbln/Support/"),
     "the runtime and simulator do not depend on MLIR/LLVM or the compiler"),
    ("dialects/Npu", ("dialects/Graph/", "passes/"), "npu sits below graph's passes and does not use graph"),
    ("dialects/NpuIsa", ("dialects/Graph/", "dialects/Npu/", "passes/"), "npuisa is the lowest dialect"),
    ("dialects/Graph", ("dialects/Npu/", "dialects/NpuIsa/", "passes/"), "dialects do not use passes"),
    ("passes", ("rbln/Driver", "rbln/Frontend", "rbln/Emit"), "passes do not use the frontend, emitter or driver"),
    ("lib", ("rbln/Driver", "passes/"), "lib/ (frontend, emitter, target, support) is below the driver and passes"),
]

bad = []
for under, banned, why in RULES:
    for f in sorted((root / under).rglob("*")):
        if f.suffix not in (".h", ".cpp", ".def", ".inc"):
            continue
        for inc in INCLUDE.findall(f.read_text(errors="replace")):
            if inc.startswith(banned):
                bad.append(f"{f.relative_to(root)}: includes {inc} ({why})")
if bad:
    sys.exit("layering violations:\n  " + "\n  ".join(bad))
print(f"layering: {len(RULES)} rules hold")
