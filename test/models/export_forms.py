"""The form an exporter writes, recorded per family in <out>/forms.json, so
that an exporter writing another form fails its export script visibly
(test/models/export_genai.py, test/models/export_optimum.py)."""
import json
import sys
from pathlib import Path


def check_forms(out, forms, accept, exporter):
    """Compares `forms` (family -> facts) with <out>/forms.json: any change
    exits 1 naming the family unless `accept`; then records them."""
    known_path = Path(out) / "forms.json"
    known = json.loads(known_path.read_text()) if known_path.exists() else {}
    changed = {f: (known.get(f), v) for f, v in forms.items() if known.get(f) != v}
    if changed and known and not accept:
        for f, (was, now) in changed.items():
            print(f"FORM CHANGED {f}: was {was}, now {now}")
        sys.exit(f"{exporter} writes another form; check that rbln compiles it, then --accept-forms")
    known.update(forms)
    known_path.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
