"""Fixtures for the plugin's tests (run in .venv-serving): served
directories built from the repository's decoders, vLLM engines over them
(its engine core in this process), and ONNX Runtime's past-KV loop as the
reference."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODELS = os.path.join(ROOT, "test", "models")
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "test", "generation"))
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")

import rbln  # noqa: E402
from rbln import llm_dir  # noqa: E402
from ort_decoder import OrtDecoder  # noqa: E402  (ONNX Runtime, the reference)

# name -> (ONNX fixture, served-directory options)
MODEL_DIRS = {
    "gpt2": ("gpt2_past.onnx", dict(max_seq_len=256, kvcache_block_size=16, prefill_chunk_size=32,
                                    decoder_batch_sizes=(1, 4, 8))),
    "llama": ("llama_past.onnx", dict(max_seq_len=256, kvcache_block_size=32, prefill_chunk_size=64,
                                      decoder_batch_sizes=(1, 8))),
    "qwen2": ("qwen2_past.onnx", dict(max_seq_len=256, kvcache_block_size=16, prefill_chunk_size=32,
                                      decoder_batch_sizes=(1, 2, 8))),
    # Every layer a 16-token window (Mistral exported from transformers).
    "mistral-window": ("mistral_window_past.onnx", dict(max_seq_len=256, kvcache_block_size=16,
                                                        prefill_chunk_size=32, decoder_batch_sizes=(1, 8),
                                                        sliding_window=16)),
    # Gemma-3-style 5 local : 1 global (GroupQueryAttention with local_window_size).
    "hybrid-window": ("hybrid_window_past.onnx", dict(max_seq_len=256, kvcache_block_size=16,
                                                      prefill_chunk_size=32, decoder_batch_sizes=(1, 8))),
    # Optimum's own export of Gemma 3 (optimum-cli): no position_ids (the
    # positions it derives from the cache's length), layer 0 a 16-token
    # window taken from its mask, layer 1 global.
    "optimum-gemma3": (os.path.join("optimum", "gemma3", "model.onnx"),
                       dict(max_seq_len=256, kvcache_block_size=16, prefill_chunk_size=32,
                            decoder_batch_sizes=(1, 8))),
}


Reference = OrtDecoder


def build_dir(tmp, name, **extra):
    onnx_name, opts = MODEL_DIRS[name]
    out = os.path.join(tmp, name + ("-" + "-".join(f"{k}{v}" for k, v in extra.items()) if extra else ""))
    if not os.path.isfile(os.path.join(out, "rbln_config.json")):
        llm_dir.build(os.path.join(MODELS, onnx_name), out, **dict(opts, **extra))
    return out


def rbln_run_generate(model_dir, prompts, n):
    """rbln-run --generate on the directory's artifact: its greedy tokens."""
    cmd = [rbln._lib.find_tool("rbln-run"), os.path.join(model_dir, "model.rbln"), "--generate",
           f"--max-new-tokens={n}"] + [f"--prompt={','.join(map(str, p))}" for p in prompts]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    seqs = {}
    for line in out.splitlines():
        if line.startswith("sequence "):
            i = int(line.split()[1].rstrip(":"))
            seqs[i] = [int(t) for t in line.split("-> ")[1].split()[0].split(",") if t]
    return [seqs[i] for i in range(len(prompts))]


@pytest.fixture(scope="session")
def dirs(tmp_path_factory):
    return str(tmp_path_factory.mktemp("served"))


def prompts_for(vocab, lens, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab, n).tolist() for n in lens]
