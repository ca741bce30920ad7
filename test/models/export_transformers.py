"""Exports the tiny random-weight transformer fixtures in this folder.

    python test/models/export_transformers.py [--out test/models]

Needs `torch` and `transformers` (only to regenerate the fixtures; the tests
read the checked-in `.onnx` files). Each model is built from a Hugging Face
config with random weights (seeded), exported by `torch.onnx.export` as a
full-sequence forward without KV cache, with symbolic `batch` and `sequence`
dims, the way a user would export it. Sizes keep every file under 4 MB.
"""
import argparse
from pathlib import Path

import torch
import transformers as tf

VOCAB = 1000


def bert():
    cfg = tf.BertConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=128, type_vocab_size=2)
    return tf.BertModel(cfg, add_pooling_layer=False), ["input_ids", "attention_mask", "token_type_ids"], \
        ["last_hidden_state"]


def gpt2():
    cfg = tf.GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=128, use_cache=False)
    return tf.GPT2LMHeadModel(cfg), ["input_ids", "attention_mask"], ["logits"]


def llama():
    cfg = tf.LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                         num_attention_heads=8, num_key_value_heads=2, head_dim=8,
                         max_position_embeddings=256, use_cache=False, tie_word_embeddings=False)
    return tf.LlamaForCausalLM(cfg), ["input_ids", "attention_mask"], ["logits"]


def qwen2():
    cfg = tf.Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         use_cache=False, tie_word_embeddings=True)
    return tf.Qwen2ForCausalLM(cfg), ["input_ids", "attention_mask"], ["logits"]


MODELS = {"bert": bert, "gpt2": gpt2, "llama": llama, "qwen2": qwen2,
          # The same BERT through the TorchScript exporter at opset 14: LayerNorm
          # decomposed (ReduceMean/Sub/Pow/Sqrt/Div), Constant nodes, GatherElements.
          "bert_legacy": bert}
SEEDS = {"bert": 1, "gpt2": 2, "llama": 3, "qwen2": 4, "bert_legacy": 5}


class Wrapper(torch.nn.Module):
    """Positional inputs, one tensor output, no cache."""

    def __init__(self, model, names, out):
        super().__init__()
        self.model, self.names, self.out = model, names, out

    def forward(self, *args):
        kwargs = dict(zip(self.names, args))
        kwargs.setdefault("use_cache", False) if self.out == "logits" else None
        return getattr(self.model(**kwargs), self.out)


def export(name, out_dir):
    torch.manual_seed(SEEDS[name])
    model, inputs, outputs = MODELS[name]()
    model.eval()
    batch, seq = 2, 11
    example = []
    for n in inputs:
        if n == "input_ids":
            example.append(torch.randint(0, VOCAB, (batch, seq)))
        elif n == "attention_mask":
            example.append(torch.ones(batch, seq, dtype=torch.int64))
        else:
            example.append(torch.zeros(batch, seq, dtype=torch.int64))
    path = Path(out_dir) / f"{name}.onnx"
    if name.endswith("_legacy"):
        torch.onnx.export(Wrapper(model, inputs, outputs[0]), tuple(example), str(path), input_names=inputs,
                          output_names=outputs, dynamo=False, opset_version=14,
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in inputs + outputs})
        print(f"{path}: {path.stat().st_size / 1e6:.2f} MB")
        return
    b, s = torch.export.Dim("batch", max=64), torch.export.Dim("sequence", max=128)
    torch.onnx.export(Wrapper(model, inputs, outputs[0]), tuple(example), str(path), input_names=inputs,
                      output_names=outputs, dynamo=True, external_data=False, opset_version=18,
                      dynamic_shapes=(tuple({0: b, 1: s} for _ in inputs),))
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent))
    ap.add_argument("models", nargs="*", default=list(MODELS))
    a = ap.parse_args()
    for name in a.models:
        export(name, a.out)


if __name__ == "__main__":
    main()
