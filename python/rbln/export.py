"""From a local Hugging Face model folder to a served rbln directory.

    rbln-export HF_DIR OUT_DIR --max-seq-len 1024 [--decoder-batch-sizes 1,4,8]
        [--kvcache-block-size 128] [--prefill-chunk-size 128] [--kvcache-partition-len N]
        [--dtype fp32|fp16|bf16] [--target atom] [--attn-impl flash|eager]

(also `python -m rbln.export`, or `rbln.export(...)` from Python). Steps:
  1. the model (config + safetensors, nothing downloaded) is loaded with
     transformers and exported by torch's dynamo exporter, opset 18, with
     its KV cache as the layout rbln-compile expects (input_ids,
     attention_mask, position_ids, past_key_values.{i}.key/.value ->
     logits, present.*), weights as external data;
  2. rbln-compile builds the prefill and decode programs, with the sliding
     window(s) read from the model's config (Mistral's sliding_window; Gemma
     3's layer_types);
  3. OUT_DIR receives model.rbln, rbln_config.json (the options and the
     compiler's version), the model's config.json and its tokenizer files —
     what `vllm.LLM(OUT_DIR)` / the OpenAI server load through vllm_rbln_sim.
Needs torch, transformers and onnxscript (scripts/setup-serving.sh installs
them into .venv-serving).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from .errors import RblnError

# Architectures whose export rbln has checked end to end (their greedy tokens
# equal transformers' generate()).
SUPPORTED = {
    "LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "MistralForCausalLM",
    "Gemma3ForCausalLM", "GPT2LMHeadModel", "Phi3ForCausalLM",
}


class ExportError(RblnError):
    """The model cannot be exported (unsupported architecture, no weights...)."""


def _progress(enabled):
    t0 = time.time()

    def say(msg):
        if enabled:
            print(f"[rbln-export {time.time() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)
    return say


def _windows(cfg):
    """(window, window layers or None for all) from a transformers config."""
    types = getattr(cfg, "layer_types", None)
    window = getattr(cfg, "sliding_window", None)
    if types and window:
        local = [i for i, t in enumerate(types) if t == "sliding_attention"]
        if local and len(local) < len(types):
            return int(window), local
        return (int(window), None) if local else (None, None)
    if window and getattr(cfg, "use_sliding_window", True):
        return int(window), None
    return None, None


def _with_past(model):
    import torch
    from transformers import DynamicCache

    class WithPast(torch.nn.Module):
        """Flat past/present tensors around a transformers cache."""

        def __init__(self):
            super().__init__()
            self.model = model
            self.layers = model.config.num_hidden_layers

        def forward(self, input_ids, attention_mask, position_ids, past=None):
            if past is None:  # exported without position_ids: the model derives them
                position_ids, past = None, position_ids
            cache = DynamicCache(config=self.model.config)
            for i in range(self.layers):
                cache.update(past[2 * i], past[2 * i + 1], i)
            out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                             position_ids=position_ids, past_key_values=cache, use_cache=True)
            flat = []
            for layer in out.past_key_values.layers:
                flat += [layer.keys, layer.values]
            return (out.logits, *flat)
    return WithPast()


def export_onnx(model, path, position_ids=True):
    """torch.onnx.export (dynamo, opset 18) of a causal LM with its cache;
    `position_ids=False` leaves that input out, as Optimum exports Gemma (the
    model then derives the positions from the cache's length)."""
    import torch
    cfg = model.config
    layers = cfg.num_hidden_layers
    kv_heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    b, s, p = 2, 3, 4
    ids = torch.randint(0, cfg.vocab_size, (b, s))
    mask = torch.ones(b, p + s, dtype=torch.int64)
    pos = torch.arange(p, p + s).expand(b, s)
    past = tuple(torch.randn(b, kv_heads, p, head_dim) for _ in range(2 * layers))
    names = ["input_ids", "attention_mask", "position_ids"] + [
        f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    outs = ["logits"] + [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    past_seq, total = torch.export.Dim("past_sequence"), torch.export.Dim("total_sequence")
    shapes = ({0: batch, 1: seq}, {0: batch, 1: total}, {0: batch, 1: seq},
              tuple({0: batch, 2: past_seq} for _ in range(2 * layers)))
    args = (ids, mask, pos, past)
    if not position_ids:
        names.remove("position_ids")
        shapes = shapes[:2] + shapes[3:]
        args = (ids, mask, past)
    big = sum(t.numel() * t.element_size() for t in model.state_dict().values()) > (1 << 30)
    torch.onnx.export(_with_past(model), args, path, input_names=names,
                      output_names=outs, dynamo=True, external_data=big, opset_version=18,
                      dynamic_shapes=shapes, verbose=False)


def export(model_dir, out_dir, *, max_seq_len=None, decoder_batch_sizes=None, batch_size=1,
           kvcache_block_size=None, prefill_chunk_size=None, kvcache_partition_len=None,
           kvcache_num_blocks=0, attn_impl=None, dtype="fp32", target="atom", keep_onnx=False,
           progress=True):
    """Exports, compiles and writes the served directory; returns its path."""
    say = _progress(progress)
    model_dir = os.fspath(model_dir)
    cfg_path = os.path.join(model_dir, "config.json")
    if not os.path.isfile(cfg_path):
        raise ExportError(f"{model_dir}: no config.json (a local Hugging Face model folder is expected)")
    with open(cfg_path) as f:
        hf_config = json.load(f)
    archs = hf_config.get("architectures") or []
    arch = archs[0] if archs else hf_config.get("model_type", "?")
    if arch not in SUPPORTED:
        raise ExportError(
            f"{arch}: no export recipe for this architecture (rbln exports decoder-only causal LMs "
            f"with a KV cache: {', '.join(sorted(SUPPORTED))})")
    try:
        import torch
        import transformers
    except ImportError as e:
        raise ExportError(f"rbln-export needs torch, transformers and onnxscript ({e}); "
                          "scripts/setup-serving.sh installs them into .venv-serving") from None
    say(f"loading {arch} from {model_dir}")
    cls = getattr(transformers, arch)
    model = cls.from_pretrained(model_dir, torch_dtype=torch.float32, local_files_only=True).eval()
    cfg = model.config
    window, window_layers = _windows(cfg)
    if max_seq_len is None:
        max_seq_len = min(int(getattr(cfg, "max_position_embeddings", 2048) or 2048), 4096)
    buckets = list(decoder_batch_sizes or [batch_size])
    params = sum(t.numel() for t in model.parameters())
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="rbln-export-", dir=out_dir)
    try:
        onnx_path = os.path.join(work, "model.onnx")
        say(f"exporting to ONNX with the KV cache ({params / 1e6:.1f}M parameters; torch.onnx dynamo, opset 18)")
        with torch.no_grad():
            export_onnx(model, onnx_path)
        del model
        say(f"compiling for {target} ({dtype}, max_seq_len {max_seq_len}, decode buckets {buckets}"
            + (f", sliding window {window}" + (f" on layers {window_layers}" if window_layers else "")
               if window else "") + ")")
        from .llm_dir import build
        tok = model_dir if any(n.startswith("tokenizer") for n in os.listdir(model_dir)) else None
        build(onnx_path, out_dir, max_seq_len=max_seq_len, kvcache_block_size=kvcache_block_size,
              prefill_chunk_size=prefill_chunk_size, decoder_batch_sizes=buckets,
              kvcache_num_blocks=kvcache_num_blocks, kvcache_partition_len=kvcache_partition_len,
              target=target, dtype=dtype, sliding_window=window, sliding_window_layers=window_layers,
              tokenizer_dir=tok, hf_config=hf_config, attn_impl=attn_impl)
        for extra in ("config.json", "generation_config.json"):  # as the model has them
            if os.path.isfile(os.path.join(model_dir, extra)):
                shutil.copy(os.path.join(model_dir, extra), out_dir)
        if keep_onnx:
            shutil.move(work, os.path.join(out_dir, "onnx"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"wrote {out_dir}")
    return out_dir


def main(argv=None):
    ap = argparse.ArgumentParser(prog="rbln-export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", help="a local Hugging Face model folder (config.json + weights)")
    ap.add_argument("out_dir")
    ap.add_argument("--max-seq-len", type=int, help="default: the model's max_position_embeddings, at most 4096")
    ap.add_argument("--decoder-batch-sizes", default="1", help="decode buckets, e.g. 1,4,8")
    ap.add_argument("--kvcache-block-size", type=int)
    ap.add_argument("--prefill-chunk-size", type=int)
    ap.add_argument("--kvcache-partition-len", type=int)
    ap.add_argument("--kvcache-num-blocks", type=int, default=0)
    ap.add_argument("--attn-impl", choices=["flash", "flash_attn", "eager"])
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--target", default="atom")
    ap.add_argument("--keep-onnx", action="store_true", help="keep the exported ONNX in OUT_DIR/onnx")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    try:
        export(a.model_dir, a.out_dir, max_seq_len=a.max_seq_len,
               decoder_batch_sizes=[int(b) for b in a.decoder_batch_sizes.split(",")],
               kvcache_block_size=a.kvcache_block_size, prefill_chunk_size=a.prefill_chunk_size,
               kvcache_partition_len=a.kvcache_partition_len, kvcache_num_blocks=a.kvcache_num_blocks,
               attn_impl=a.attn_impl, dtype=a.dtype, target=a.target, keep_onnx=a.keep_onnx,
               progress=not a.quiet)
    except RblnError as e:
        print(f"rbln-export: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
