"""The artifact directory's rbln_config.json, read once per process."""
import json
import os
from functools import lru_cache


class ModelDirError(ValueError):
    pass


@lru_cache(maxsize=8)
def load(model_dir):
    path = os.path.join(model_dir, "rbln_config.json")
    if not os.path.isfile(path):
        raise ModelDirError(
            f"{model_dir} has no rbln_config.json: vllm_rbln_sim serves directories written by "
            "`python -m rbln.llm_dir model.onnx DIR ...` (or set VLLM_RBLN_SIM=0)")
    with open(path) as f:
        cfg = json.load(f)
    art = os.path.join(model_dir, cfg.get("artifact", "model.rbln"))
    if not os.path.isfile(art):
        raise ModelDirError(f"{model_dir}: the artifact {art} is missing")
    cfg["artifact_path"] = art
    for key in ("max_seq_len", "kvcache_block_size", "prefill_chunk_size", "decoder_batch_sizes",
                "num_layers", "num_kv_heads", "head_dim", "vocab_size", "kv_cache_kinds"):
        if key not in cfg:
            raise ModelDirError(f"{path} lacks '{key}'")
    return cfg


def num_blocks(cfg):
    """KV blocks the server allocates, vLLM's null block 0 included."""
    if cfg.get("kvcache_num_blocks"):
        return int(cfg["kvcache_num_blocks"])
    per_seq = cfg["max_seq_len"] // cfg["kvcache_block_size"]
    return max(cfg["decoder_batch_sizes"]) * per_seq + 1
