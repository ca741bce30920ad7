"""The decoder families the exporter scripts build (small, random weights):
one `transformers` config per family, shared by test/models/export_genai.py
(ONNX Runtime GenAI's builder) and test/models/export_optimum.py (Optimum),
which differ only in the positions the model declares."""


def configs(tf, max_positions):
    """family -> a function making its config, in the scripts' order."""
    common = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  max_position_embeddings=max_positions, tie_word_embeddings=False,
                  bos_token_id=1, eos_token_id=2, pad_token_id=0)
    return {
        "llama": lambda: tf.LlamaConfig(num_attention_heads=4, num_key_value_heads=2, **common),
        "qwen2": lambda: tf.Qwen2Config(num_attention_heads=4, num_key_value_heads=2, **common),
        "qwen3": lambda: tf.Qwen3Config(num_attention_heads=4, num_key_value_heads=2, head_dim=16, **common),
        # every layer a 16-token window
        "mistral": lambda: tf.MistralConfig(num_attention_heads=4, num_key_value_heads=1, sliding_window=16,
                                            **common),
        # (ONNX Runtime wants the rotary half-width a multiple of 8: head size 32)
        "phi2": lambda: tf.PhiConfig(num_attention_heads=2, num_key_value_heads=2, partial_rotary_factor=0.5,
                                     **common),
        "phi3": lambda: tf.Phi3Config(num_attention_heads=4, num_key_value_heads=4,
                                      original_max_position_embeddings=max_positions, **common),
        "gemma": lambda: tf.GemmaConfig(num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                        hidden_activation="gelu_pytorch_tanh", **common),
        # layer 0 a 16-token window, layer 1 global; attention and final logit softcapping
        "gemma2": lambda: tf.Gemma2Config(num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                          sliding_window=16, attn_logit_softcapping=50.0,
                                          final_logit_softcapping=30.0, query_pre_attn_scalar=16,
                                          initializer_range=0.1, **common),
        # local layers (16-token windows) and a global one, q/k norms, two rotary bases
        "gemma3": lambda: tf.Gemma3TextConfig(num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                              sliding_window=16, query_pre_attn_scalar=16,
                                              layer_types=["sliding_attention", "full_attention"],
                                              **common),
        "gptneox": lambda: tf.GPTNeoXConfig(num_attention_heads=4, rotary_pct=0.25, **common),
        "granite": lambda: tf.GraniteConfig(num_attention_heads=4, num_key_value_heads=2,
                                            embedding_multiplier=2.0, residual_multiplier=0.5,
                                            attention_multiplier=0.2, logits_scaling=4.0, **common),
        "olmo": lambda: tf.OlmoConfig(num_attention_heads=4, num_key_value_heads=4, **common),
        "smollm3": lambda: tf.SmolLM3Config(num_attention_heads=4, num_key_value_heads=2,
                                            no_rope_layer_interval=2, **common),
    }


def architectures(tf):
    """family -> its causal-LM class."""
    return {"llama": tf.LlamaForCausalLM, "qwen2": tf.Qwen2ForCausalLM, "qwen3": tf.Qwen3ForCausalLM,
            "mistral": tf.MistralForCausalLM, "phi2": tf.PhiForCausalLM, "phi3": tf.Phi3ForCausalLM,
            "gemma": tf.GemmaForCausalLM, "gemma2": tf.Gemma2ForCausalLM, "gemma3": tf.Gemma3ForCausalLM,
            "gptneox": tf.GPTNeoXForCausalLM, "granite": tf.GraniteForCausalLM, "olmo": tf.OlmoForCausalLM,
            "smollm3": tf.SmolLM3ForCausalLM}
