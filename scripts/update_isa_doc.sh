#!/usr/bin/env bash
# Regenerates the instruction table in docs/isa.md from Isa.def.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
table=$("$root/build/bin/rbln-objdump" --isa-table)
python3 - "$root/docs/isa.md" "$table" <<'PY'
import sys
path, table = sys.argv[1], sys.argv[2] + "\n"
text = open(path).read()
b, e = "<!-- BEGIN ISA TABLE -->\n", "<!-- END ISA TABLE -->"
head, rest = text.split(b, 1)
tail = rest.split(e, 1)[1]
open(path, "w").write(head + b + table + e + tail)
PY
