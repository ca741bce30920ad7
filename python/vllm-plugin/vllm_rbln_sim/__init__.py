"""vLLM platform plugin for rbln: vLLM's unmodified v1 engine core and
scheduler run an rbln artifact directory (`python -m rbln.llm_dir`) on the
rbln NPU simulator through the step API.

Active whenever it is installed; VLLM_RBLN_SIM=0 turns it off.
Pinned to vLLM 0.32.0 (scripts/setup-serving.sh)."""
import os

VLLM_VERSION = "0.32.0"


def register():
    if os.environ.get("VLLM_RBLN_SIM", "1") == "0":
        return None
    return "vllm_rbln_sim.platform.RblnSimPlatform"
