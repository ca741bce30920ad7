#!/usr/bin/env bash
# Installs Optimum's ONNX exporter (`optimum-cli export onnx`) into its own virtual
# environment, `.venv-optimum`. Only test/models/export_optimum.py needs it, to
# regenerate the fixtures under test/models/optimum; no test runs it. It has its
# own environment because optimum-onnx pins a transformers (< 4.58) older than
# the serving environment's, and a torch of that time (2.8: TorchScript export).
# Idempotent; ~4 GB and a few minutes on a fresh machine.
#   scripts/setup-optimum.sh [venv-dir]     (default: .venv-optimum)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$root/.venv-optimum}
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup-optimum] creating $venv"
  python3 -m venv "$venv"
fi
pip=("$venv/bin/pip" install -q --disable-pip-version-check)
if ! "$venv/bin/python" -c "import optimum.exporters.onnx, torch" 2>/dev/null; then
  echo "[setup-optimum] installing optimum-onnx 0.1.0, transformers < 4.58, torch 2.8.0"
  "${pip[@]}" "torch==2.8.0" "optimum-onnx[onnxruntime]==0.1.0" "transformers>=4.57,<4.58" \
    "onnx==1.19.1" numpy
fi
"$venv/bin/python" -c "import optimum.version, transformers, torch; \
print('[setup-optimum] optimum', optimum.version.__version__, 'transformers', transformers.__version__, 'torch', torch.__version__)"
