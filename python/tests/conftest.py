"""Shared fixtures: artifacts compiled once per session from the repository's
fixtures, and ONNX Runtime as the oracle."""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(ROOT, "test", "models")
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "test", "generation"))

import rbln  # noqa: E402
from ort_decoder import OrtDecoder  # noqa: E402  (ONNX Runtime, the reference)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("rbln")


@pytest.fixture(scope="session")
def gpt2(workdir):
    """GPT-2 fixture: max_seq_len 128, 16-token blocks, 32-token chunks,
    decode buckets 1, 2, 4."""
    path = os.path.join(MODELS, "gpt2_past.onnx")
    art = rbln.compile(path, workdir / "gpt2.rbln", target="atom", max_seq_len=128,
                       kvcache_block_size=16, prefill_chunk_size=32, kvcache_partition_len=32,
                       decoder_batch_sizes=[1, 2, 4])
    return art, OrtDecoder(path)


@pytest.fixture(scope="session")
def mistral_window(workdir):
    """Mistral with a 16-token window: every layer a ring of local blocks."""
    path = os.path.join(MODELS, "mistral_window_past.onnx")
    art = rbln.compile(path, workdir / "mistral.rbln", target="atom", max_seq_len=128,
                       kvcache_block_size=8, prefill_chunk_size=16, kvcache_partition_len=16,
                       decoder_batch_sizes=[1, 2, 4], sliding_window=16)
    return art, OrtDecoder(path)


def close(got, want, tol=1e-3):
    """Logits agree as the generation tests require: |d| <= tol + 2e-4 max|want|."""
    got, want = np.asarray(got), np.asarray(want)
    return float(np.max(np.abs(got - want))) <= tol + 2e-4 * float(np.max(np.abs(want)))
