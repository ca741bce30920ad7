"""rbln.compile: rbln-compile from Python, with optimum-rbln's option names."""
import os
import subprocess

from ._lib import find_tool
from .errors import CompileError


def compile(model, output=None, *, target=None, dtype=None, max_seq_len=None,
            kvcache_block_size=None, prefill_chunk_size=None, decoder_batch_sizes=None,
            batch_size=None, kvcache_partition_len=None, attn_impl=None, sliding_window=None,
            sliding_window_layers=None, dims=None, weight_dtype=None, weight_group_size=None,
            kv_cache_dtype=None, quantization=None, extra_args=(), quiet=True):
    """Compiles an ONNX model (a path) into a .rbln artifact; returns its path.

    Generation artifacts (a decoder exported with past_key_values) take
    max_seq_len and the KV-cache options; decoder_batch_sizes is a list of
    decode buckets. dims binds symbolic input dims ({"batch": 1}).
    weight_dtype ("int8", "int4" or "fp8"; int4 with weight_group_size rows
    per scale, 128 by default) and kv_cache_dtype ("fp8") may also come as
    optimum-rbln's quantization dict: {"weights": "fp8", "kv_caches": "fp8"}.
    Raises CompileError carrying rbln-compile's diagnostic.
    """
    quantization = dict(quantization or {})
    unknown = set(quantization) - {"weights", "kv_caches"}
    if unknown:
        raise CompileError(f"quantization: unsupported keys {sorted(unknown)} (weights, kv_caches)")
    weight_dtype = weight_dtype or quantization.get("weights")
    kv_cache_dtype = kv_cache_dtype or quantization.get("kv_caches")
    model = os.fspath(model)
    if not os.path.isfile(model):
        raise CompileError(f"{model}: no such model file")
    if output is None:
        output = os.path.splitext(model)[0] + ".rbln"
    cmd = [find_tool("rbln-compile"), model, "-o", os.fspath(output)]
    opts = {"target": target, "dtype": dtype, "max-seq-len": max_seq_len,
            "kvcache-block-size": kvcache_block_size, "prefill-chunk-size": prefill_chunk_size,
            "batch-size": batch_size, "kvcache-partition-len": kvcache_partition_len,
            "attn-impl": attn_impl, "sliding-window": sliding_window,
            "weight-dtype": weight_dtype, "weight-group-size": weight_group_size,
            "kv-cache-dtype": kv_cache_dtype}
    if attn_impl == "flash_attn":  # optimum-rbln's spelling
        opts["attn-impl"] = "flash"
    if decoder_batch_sizes is not None:
        opts["decode-batch-sizes"] = ",".join(str(int(b)) for b in decoder_batch_sizes)
    if sliding_window_layers is not None:
        opts["sliding-window-layers"] = ",".join(str(int(l)) for l in sliding_window_layers)
    cmd += [f"--{k}={v}" for k, v in opts.items() if v is not None]
    cmd += [f"--dim={k}={v}" for k, v in (dims or {}).items()]
    if quiet:
        cmd.append("--quiet")
    cmd += list(extra_args)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise CompileError((r.stderr or r.stdout).strip() or f"rbln-compile exited {r.returncode}")
    return os.fspath(output)
