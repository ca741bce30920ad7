"""A served LLM directory: what the vLLM plugin (vllm_rbln_sim) loads.

    python -m rbln.llm_dir decoder_with_past.onnx OUT_DIR --max-seq-len 256 \\
        --kvcache-block-size 16 --prefill-chunk-size 32 --decoder-batch-sizes 1,4

writes OUT_DIR/model.rbln (rbln-compile), OUT_DIR/rbln_config.json (the
compile options, the cache geometry and the compiler's version), a Hugging
Face `config.json` vLLM builds its model config from, and — unless one is
given — a word-level tokenizer over the model's vocabulary ("t0", "t1", ...),
so random-weight fixtures serve text end to end without downloads.
"""
import argparse
import json
import os
import shutil
import subprocess

from ._lib import find_tool
from .compiler import compile as rbln_compile
from .errors import CompileError


def _geometry(onnx_path):
    """Layers, KV heads, head size and vocabulary of a decoder with past."""
    import onnx
    m = onnx.load(onnx_path, load_external_data=False)
    past = [i for i in m.graph.input if i.name.startswith("past_key_values") and i.name.endswith(".key")]
    if not past:
        raise CompileError(f"{onnx_path}: no past_key_values.*.key inputs; not a decoder exported with its cache")
    dims = past[0].type.tensor_type.shape.dim
    logits = [o for o in m.graph.output if o.name == "logits"]
    if not logits:
        raise CompileError(f"{onnx_path}: no 'logits' output")
    vocab = logits[0].type.tensor_type.shape.dim[-1].dim_value
    kv_heads, head_dim = dims[1].dim_value, dims[3].dim_value
    if not (vocab and kv_heads and head_dim):
        raise CompileError(f"{onnx_path}: the cache's head count and size and the vocabulary must be static")
    return {"num_layers": len(past), "num_kv_heads": kv_heads, "head_dim": head_dim, "vocab_size": vocab}


def write_word_tokenizer(out_dir, vocab_size):
    """A WordLevel tokenizer: token i is the word "t{i}" (whitespace-split)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(vocab_size)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "t0",
                   "model_max_length": 1 << 20, "clean_up_tokenization_spaces": False,
                   "chat_template": "{% for m in messages %}{{ m['content'] }} {% endfor %}"}, f, indent=1)


def build(onnx_path, out_dir, *, max_seq_len, kvcache_block_size=None, prefill_chunk_size=None,
          decoder_batch_sizes=(1,), kvcache_num_blocks=0, kvcache_partition_len=None, target="atom",
          dtype="fp32", sliding_window=None, sliding_window_layers=None, tokenizer_dir=None,
          hf_config=None, attn_impl=None, kv_cache_dtype=None):
    """Compiles `onnx_path` and writes the served directory; returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    geo = _geometry(onnx_path)
    artifact = os.path.join(out_dir, "model.rbln")
    rbln_compile(onnx_path, artifact, target=target, dtype=dtype, max_seq_len=max_seq_len,
                 kvcache_block_size=kvcache_block_size, prefill_chunk_size=prefill_chunk_size,
                 decoder_batch_sizes=list(decoder_batch_sizes), kvcache_partition_len=kvcache_partition_len,
                 sliding_window=sliding_window, sliding_window_layers=sliding_window_layers,
                 attn_impl=attn_impl, kv_cache_dtype=kv_cache_dtype)
    from .llm import StepRunner
    info = StepRunner(artifact, sim_threads=1, compute=False).config  # the values the compiler chose
    meta = subprocess.run([find_tool("rbln-objdump"), "--metadata", artifact], capture_output=True,
                          text=True).stdout.splitlines()
    producer = next((l.split(":", 1)[1].strip() for l in meta if l.startswith("producer:")), "")
    cfg = {
        "artifact": "model.rbln", "source_model": os.path.abspath(onnx_path), "target": target,
        "dtype": dtype, "attn_impl": attn_impl or "flash", "max_seq_len": info["max_seq_len"],
        # The caches' element type: "auto" (the compute type) or "fp8" (E4M3FN).
        "kv_cache_dtype": "fp8" if kv_cache_dtype in ("fp8", "fp8_e4m3") else "auto",
        "kvcache_block_size": info["block_size"],
        "prefill_chunk_size": info["prefill_chunk"], "decoder_batch_sizes": info["decode_buckets"],
        "kvcache_num_blocks": int(kvcache_num_blocks), "kvcache_partition_len": kvcache_partition_len,
        "sliding_window": info["sliding_window"] or None,
        "sliding_window_layers": list(sliding_window_layers) if sliding_window_layers else None,
        # Which caches the artifact has: full-attention layers (paged over the
        # whole sequence) and sliding-window layers (their own block table).
        "kv_cache_kinds": [k for k, n in (("full_attention", info["num_blocks"]),
                                          ("sliding_window", info["num_local_blocks"])) if n],
        "num_layers": geo["num_layers"], "num_kv_heads": geo["num_kv_heads"],
        "head_dim": geo["head_dim"], "vocab_size": geo["vocab_size"],
        "compiler_version": producer,
    }
    with open(os.path.join(out_dir, "rbln_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if hf_config is None:
        # What vLLM needs to build a model config: a Llama-shaped description
        # of the same cache geometry (weights are never loaded).
        heads = geo["num_kv_heads"]
        hf_config = {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": geo["vocab_size"], "hidden_size": heads * geo["head_dim"],
            "intermediate_size": 4 * heads * geo["head_dim"], "num_hidden_layers": geo["num_layers"],
            "num_attention_heads": heads, "num_key_value_heads": heads, "head_dim": geo["head_dim"],
            "max_position_embeddings": info["max_seq_len"], "torch_dtype": "float32",
            "bos_token_id": None, "eos_token_id": None, "tie_word_embeddings": False,
        }
        if info["sliding_window"]:
            hf_config["sliding_window"] = info["sliding_window"]
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(hf_config, f, indent=1)
    if tokenizer_dir:
        for name in os.listdir(tokenizer_dir):
            if name.startswith(("tokenizer", "special_tokens", "vocab", "merges")):
                shutil.copy(os.path.join(tokenizer_dir, name), out_dir)
    else:
        write_word_tokenizer(out_dir, geo["vocab_size"])
    return out_dir


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m rbln.llm_dir", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx")
    ap.add_argument("out_dir")
    ap.add_argument("--max-seq-len", type=int, required=True)
    ap.add_argument("--kvcache-block-size", type=int)
    ap.add_argument("--prefill-chunk-size", type=int)
    ap.add_argument("--decoder-batch-sizes", default="1", help="decode buckets, e.g. 1,4,8")
    ap.add_argument("--kvcache-num-blocks", type=int, default=0,
                    help="KV blocks the server allocates, incl. the reserved block 0 "
                         "(default: enough for the largest bucket at max_seq_len)")
    ap.add_argument("--kvcache-partition-len", type=int)
    ap.add_argument("--sliding-window", type=int)
    ap.add_argument("--sliding-window-layers")
    ap.add_argument("--target", default="atom")
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--kv-cache-dtype", choices=["auto", "fp8"], default="auto",
                    help="the KV caches' type: auto (the compute type) or fp8 (E4M3FN, scale 1)")
    ap.add_argument("--tokenizer-dir", help="copy tokenizer files from here instead of a word-level one")
    a = ap.parse_args(argv)
    build(a.onnx, a.out_dir, max_seq_len=a.max_seq_len, kvcache_block_size=a.kvcache_block_size,
          prefill_chunk_size=a.prefill_chunk_size,
          decoder_batch_sizes=[int(b) for b in a.decoder_batch_sizes.split(",")],
          kvcache_num_blocks=a.kvcache_num_blocks, kvcache_partition_len=a.kvcache_partition_len,
          target=a.target, dtype=a.dtype, sliding_window=a.sliding_window,
          sliding_window_layers=[int(x) for x in a.sliding_window_layers.split(",")]
          if a.sliding_window_layers else None, tokenizer_dir=a.tokenizer_dir,
          kv_cache_dtype=None if a.kv_cache_dtype == "auto" else a.kv_cache_dtype)
    print(f"wrote {a.out_dir}")


if __name__ == "__main__":
    main()
