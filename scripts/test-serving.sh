#!/usr/bin/env bash
# The serving tests: vLLM's engine, scheduler and OpenAI server over rbln
# artifacts (python/vllm-plugin/tests), in the serving environment that
# scripts/setup-serving.sh installs (.venv-serving; vLLM 0.32.0, torch, openai).
# Needs the core build (scripts/setup.sh) for rbln-compile and the runtime.
#   scripts/test-serving.sh [pytest args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/setup-serving.sh"
export RBLN_HOME=$root/build
cd "$root"
exec "$root/.venv-serving/bin/python" -m pytest -q -p no:cacheprovider python/vllm-plugin/tests "$@"
