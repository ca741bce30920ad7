"""Exports the tiny random-weight decoders *with their KV cache* in this folder.

    python test/models/export_llm.py [--out test/models] [--models gpt2_past,...]

Needs `torch` and `transformers` (only to regenerate the fixtures; the tests
read the checked-in `.onnx` files). Optimum's exporter does not support the
current transformers, so the model is wrapped the way Optimum's
`text-generation-with-past` task exports it: inputs `input_ids`,
`attention_mask`, `position_ids`, `past_key_values.{i}.key/.value`
[batch, kv_heads, past_sequence, head_dim] (Gemma and Gemma 3 without
`position_ids`, as Optimum exports them); outputs `logits` and
`present.{i}.key/.value`. The dynamo exporter at opset 18 writes symbolic
`batch`, `sequence`, `past_sequence` and `total_sequence` dims. The sliding-window Mistral
crops its present outputs to the window, as transformers' sliding caches do;
compile it with `--sliding-window=16`, as optimum-rbln does. The Gemma 3
hybrid (five local layers to one global; compile with `--sliding-window=16
--sliding-window-layers=0,1,2,3,4`) exports too, but ONNX Runtime cannot run
its export once the context passes the window (the mask construction for
mixed cache layers keeps a GatherND traced for the export-time lengths:
"invalid index found, index = 17"), so its reference is transformers' own
greedy `generate()`, written to `gemma3_window_past.reference.json` (checked
by test/generation/check_reference_tokens.py); `hybrid_window_past.onnx`
(make_sliding_window_past.py) is the same kind of model in ONNX Runtime
GenAI's GroupQueryAttention form, checked against ONNX Runtime.
"""
import argparse
import sys
from pathlib import Path

import torch
import transformers as tf

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
from rbln.export import export_onnx  # noqa: E402

VOCAB = 500


def gpt2_past():
    return tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4,
                                            n_positions=1024))


def llama_past():  # GQA 8:2, RoPE, head_dim 8
    return tf.LlamaForCausalLM(tf.LlamaConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
        num_attention_heads=8, num_key_value_heads=2, head_dim=8, max_position_embeddings=1024,
        tie_word_embeddings=False))


def qwen2_past():  # GQA 4:2, biased QKV, tied embeddings
    return tf.Qwen2ForCausalLM(tf.Qwen2Config(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        tie_word_embeddings=True))


def llama_mqa_past():  # multi-query attention (4 heads : 1 KV head), head_dim 32, tied embeddings
    return tf.LlamaForCausalLM(tf.LlamaConfig(
        vocab_size=VOCAB, hidden_size=128, intermediate_size=192, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=1, head_dim=32, max_position_embeddings=1024,
        tie_word_embeddings=True))


def mistral_window_past():  # every layer a 16-token sliding window (compile with --sliding-window=16)
    return tf.MistralForCausalLM(tf.MistralConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
        num_attention_heads=8, num_key_value_heads=2, head_dim=16, max_position_embeddings=1024,
        sliding_window=16, tie_word_embeddings=False))


def gemma3_window_past():  # Gemma 3 hybrid: layers 0-4 local (window 16), layer 5 global
    return tf.Gemma3ForCausalLM(tf.Gemma3TextConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=6,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=1024,
        sliding_window=16, layer_types=["sliding_attention"] * 5 + ["full_attention"],
        query_pre_attn_scalar=16))


def gemma_nopos_past():  # MQA 4:1, GELU-tanh MLP, scaled embedding; exported without position_ids
    return tf.GemmaForCausalLM(tf.GemmaConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=1, head_dim=16, max_position_embeddings=1024))


# More families in the same layout (small, random weights; in families/):
# each generates ONNX Runtime's tokens (test/CMakeLists.txt).
FAMILY_COMMON = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     max_position_embeddings=512, pad_token_id=0, bos_token_id=1, eos_token_id=2)
FAMILIES = {
    "gptneox_past": lambda: tf.GPTNeoXForCausalLM(tf.GPTNeoXConfig(  # parallel residual, 25 % rotary
        num_attention_heads=4, rotary_pct=0.25, **FAMILY_COMMON)),
    "smollm3_past": lambda: tf.SmolLM3ForCausalLM(tf.SmolLM3Config(  # layer 1 without RoPE (NoPE)
        num_attention_heads=4, num_key_value_heads=2, no_rope_layer_interval=2, **FAMILY_COMMON)),
    "granite_past": lambda: tf.GraniteForCausalLM(tf.GraniteConfig(  # embedding/residual/logit multipliers
        num_attention_heads=4, num_key_value_heads=2, embedding_multiplier=2.0, residual_multiplier=0.5,
        attention_multiplier=0.2, logits_scaling=4.0, **FAMILY_COMMON)),
    "olmo_past": lambda: tf.OlmoForCausalLM(tf.OlmoConfig(  # LayerNorm without parameters
        num_attention_heads=4, **FAMILY_COMMON)),
    "phi3_past": lambda: tf.Phi3ForCausalLM(tf.Phi3Config(  # fused qkv/gate_up, rotary over the whole head
        num_attention_heads=4, num_key_value_heads=4, **FAMILY_COMMON)),
    "qwen3_past": lambda: tf.Qwen3ForCausalLM(tf.Qwen3Config(  # q/k RMSNorm per head
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, **FAMILY_COMMON)),
    "phi2_past": lambda: tf.PhiForCausalLM(tf.PhiConfig(  # partial rotary, parallel attention/MLP
        num_attention_heads=2, partial_rotary_factor=0.5, **FAMILY_COMMON)),
    "gemma2_nopos_past": lambda: tf.Gemma2ForCausalLM(tf.Gemma2Config(  # softcapping; no position_ids
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, sliding_window=512,
        attn_logit_softcapping=50.0, final_logit_softcapping=30.0, query_pre_attn_scalar=16,
        initializer_range=0.1, **FAMILY_COMMON)),
}

# Exported as Optimum exports these families: input_ids, attention_mask and
# past_key_values only (the model derives positions from the cache's length).
NO_POSITION_IDS = {"gemma_nopos_past", "gemma3_window_past", "gemma2_nopos_past"}

# Models ONNX Runtime cannot run past their window: their reference is the
# model's own greedy generate() in transformers, saved beside the export.
REFERENCE_PROMPTS = [[(i * 7) % 499 + 1 for i in range(n)] for n in (5, 40, 100)]
TORCH_REFERENCE = {"gemma3_window_past"}


MODELS = {"gpt2_past": gpt2_past, "llama_past": llama_past, "qwen2_past": qwen2_past,
          "llama_mqa_past": llama_mqa_past, "mistral_window_past": mistral_window_past,
          "gemma3_window_past": gemma3_window_past, "gemma_nopos_past": gemma_nopos_past}
SEEDS = {"gpt2_past": 11, "llama_past": 12, "qwen2_past": 13, "mistral_window_past": 14,
         "gemma3_window_past": 15, "llama_mqa_past": 16, "gemma_nopos_past": 17}


def export(name, out_dir):
    torch.manual_seed(SEEDS.get(name, 1))
    if name in FAMILIES:
        model = FAMILIES[name]().eval()
        out_dir = Path(out_dir) / "families"
        out_dir.mkdir(exist_ok=True)
    else:
        model = MODELS[name]().eval()
    path = Path(out_dir) / f"{name}.onnx"
    export_onnx(model, str(path), position_ids=name not in NO_POSITION_IDS)  # as rbln-export's
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    if name in TORCH_REFERENCE:
        import json
        new = 30
        tokens = [model.generate(torch.tensor([p]), max_new_tokens=new, do_sample=False)[0, len(p):].tolist()
                  for p in REFERENCE_PROMPTS]
        eos = model.generation_config.eos_token_id
        ref = {"source": f"transformers {tf.__version__} {type(model).__name__}.generate, greedy",
               "prompts": REFERENCE_PROMPTS, "max_new_tokens": new,
               "stop": eos if isinstance(eos, list) else [eos], "tokens": tokens}
        ref_path = Path(out_dir) / f"{name}.reference.json"
        ref_path.write_text(json.dumps(ref) + "\n")
        print(f"wrote {ref_path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).parent))
    ap.add_argument("--models", default=",".join(list(MODELS) + list(FAMILIES)))
    args = ap.parse_args()
    for name in args.models.split(","):
        export(name, args.out)


if __name__ == "__main__":
    main()
