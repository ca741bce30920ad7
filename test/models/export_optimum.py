"""Exports tiny random-weight decoders with Optimum's ONNX exporter, as its users run it.

    .venv-optimum/bin/python test/models/export_optimum.py [--out test/models/optimum] [--families llama,...]

Each family: a `transformers` config small enough for a test (random weights,
`save_pretrained` into a temporary Hugging Face folder), then Optimum's CLI
exactly as its users run it:

    optimum-cli export onnx --model <hf folder> --task text-generation-with-past <out>

Kept per family: <out>/<family>/model.onnx (weights inline: the models are
small). ONNX Runtime runs every one of these files past its windows, so its
past-KV loop on the same file is each family's reference. Each family's form
(inputs, operators) is recorded in <out>/forms.json; a regeneration that finds another form fails until
`--accept-forms`, so an exporter change is visible.

Optimum pins a transformers older than the serving environment's, so it has
its own environment: scripts/setup-optimum.sh makes `.venv-optimum`. The
tests read the checked-in files and need none of this.
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import onnx
import torch
import transformers as tf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_forms import check_forms  # noqa: E402
from families import architectures, configs  # noqa: E402

FAMILIES = configs(tf, 512)
ARCH = architectures(tf)


def form(path):
    """The exporter's form rbln relies on, as a list of facts."""
    m = onnx.load(path, load_external_data=False)
    return {"inputs": [i.name for i in m.graph.input if not i.name.startswith("past_key_values.")
                       or i.name.startswith("past_key_values.0.")],
            "outputs": [o.name for o in m.graph.output if not o.name.startswith("present.")
                        or o.name.startswith("present.0.")],
            "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
            "operators": sorted({f"{n.domain or 'ai.onnx'}.{n.op_type}" for n in m.graph.node})}


def export(family, out, seed):
    torch.manual_seed(seed)
    cfg = FAMILIES[family]()
    model = ARCH[family](cfg).eval()
    dest = Path(out) / family
    with tempfile.TemporaryDirectory() as tmp:
        hf, built = Path(tmp) / "hf", Path(tmp) / "out"
        model.save_pretrained(hf)
        cli = Path(sys.executable).with_name("optimum-cli")
        r = subprocess.run([str(cli), "export", "onnx", "--model", str(hf), "--task",
                            "text-generation-with-past", str(built)], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{family}: optimum-cli failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        # One self-contained file (Optimum writes external data only past 2 GB).
        m = onnx.load(built / "model.onnx")
        onnx.save(m, dest / "model.onnx")
    print(f"{family}: {dest / 'model.onnx'} ({(dest / 'model.onnx').stat().st_size} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "optimum"))
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--accept-forms", action="store_true",
                    help="record the exporter's current forms in forms.json instead of failing on a change")
    args = ap.parse_args()
    forms = {}
    for f in args.families.split(","):
        export(f, args.out, args.seed)
        forms[f] = form(Path(args.out) / f / "model.onnx")
    check_forms(args.out, forms, args.accept_forms, "Optimum")


if __name__ == "__main__":
    main()
