#!/usr/bin/env python3
"""docs/isa.md must carry the instruction table that Isa.def generates.

    check_isa_doc.py path/to/rbln-objdump docs/isa.md
"""
import subprocess
import sys

objdump, doc = sys.argv[1], sys.argv[2]
table = subprocess.run([objdump, "--isa-table"], check=True, capture_output=True, text=True).stdout
text = open(doc).read()
begin, end = "<!-- BEGIN ISA TABLE -->\n", "<!-- END ISA TABLE -->"
if begin not in text or end not in text:
    sys.exit(f"{doc}: missing the ISA table markers")
have = text.split(begin, 1)[1].split(end, 1)[0]
if have != table:
    sys.exit(f"{doc} is out of date with runtime/include/rbln/runtime/Isa.def; regenerate the table with\n"
             f"  scripts/update_isa_doc.sh")
print(f"{doc}: instruction table matches Isa.def ({sum(l.startswith('| 0x') for l in table.splitlines())} instructions)")
