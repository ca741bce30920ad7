"""Tiny random-weight Hugging Face models, one per family rbln-export
supports, saved with save_pretrained (nothing is downloaded)."""
import torch
import transformers as tf

VOCAB = 320
NO_SPECIAL = dict(bos_token_id=None, eos_token_id=None, pad_token_id=None)


def configs():
    return {
        "llama": tf.LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                max_position_embeddings=512, **NO_SPECIAL),
        "qwen2": tf.Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=144, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                tie_word_embeddings=True, **NO_SPECIAL),
        "qwen3": tf.Qwen3Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                max_position_embeddings=512, **NO_SPECIAL),
        "mistral": tf.MistralConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                    max_position_embeddings=512, sliding_window=16, **NO_SPECIAL),
        "gemma3": tf.Gemma3TextConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128,
                                      num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2,
                                      head_dim=16, max_position_embeddings=512, sliding_window=16,
                                      layer_types=["sliding_attention"] * 5 + ["full_attention"],
                                      query_pre_attn_scalar=16, **NO_SPECIAL),
        "phi3": tf.Phi3Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                              **NO_SPECIAL),
        "gpt2": tf.GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=512,
                              **NO_SPECIAL),
    }


CLASSES = {"llama": tf.LlamaForCausalLM, "qwen2": tf.Qwen2ForCausalLM, "qwen3": tf.Qwen3ForCausalLM,
           "mistral": tf.MistralForCausalLM, "gemma3": tf.Gemma3ForCausalLM, "gpt2": tf.GPT2LMHeadModel,
           "phi3": tf.Phi3ForCausalLM}


def save(name, path, seed=0):
    torch.manual_seed(seed)
    model = CLASSES[name](configs()[name]).eval()
    model.save_pretrained(path)
    return model


def greedy(model, prompt, n):
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                             max_new_tokens=n, do_sample=False)
    return out[0, len(prompt):].tolist()
