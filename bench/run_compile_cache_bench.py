"""torch.compile(backend="rbln"): cold start (export + compile) against warm
start (the artifact cache) for a Llama-shaped model, each the first call of a
fresh process, side by side with eager PyTorch's first call.

    .venv-serving/bin/python bench/run_compile_cache_bench.py [--hidden 512 --layers 4 --vocab 8000]
        [--out bench/compile_cache.json]

Exits non-zero if the warm start rebuilt anything or was not faster than
the cold one.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

SCRIPT = textwrap.dedent("""
    import logging, sys, time, torch, transformers as tf
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("rbln.torch").setLevel(logging.INFO)
    torch.manual_seed(0)
    cfg = tf.LlamaConfig(vocab_size={vocab}, hidden_size={hidden}, intermediate_size={inner},
                         num_hidden_layers={layers}, num_attention_heads={heads}, num_key_value_heads={kv},
                         max_position_embeddings=1024, bos_token_id=None, eos_token_id=None)
    model = tf.LlamaForCausalLM(cfg).eval()
    ids = torch.arange(64).view(1, 64) % {vocab}
    with torch.no_grad():
        t = time.time()
        model(input_ids=ids, use_cache=False)
        eager = time.time() - t
        c = torch.compile(model, backend="rbln", dynamic=False)
        t = time.time()
        out = c(input_ids=ids, use_cache=False).logits
        first = time.time() - t
        t = time.time()
        c(input_ids=ids, use_cache=False)
        second = time.time() - t
        diff = (out - model(input_ids=ids, use_cache=False).logits).abs().max().item()
    print("RESULT", first, second, eager, diff, sum(p.numel() for p in model.parameters()))
""")


def run(path, env):
    r = subprocess.run([sys.executable, path], capture_output=True, text=True, env=env, timeout=1800)
    if r.returncode != 0:
        sys.exit(r.stderr[-3000:])
    first, second, eager, diff, params = r.stdout.split("RESULT")[1].split()
    return {"first_call_s": float(first), "second_call_s": float(second), "eager_first_call_s": float(eager),
            "max_abs_diff": float(diff), "params": int(params), "log": r.stderr.strip().splitlines()[-1]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--out")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "llama.py")
        with open(path, "w") as f:
            f.write(SCRIPT.format(vocab=a.vocab, hidden=a.hidden, inner=a.hidden * 7 // 2, layers=a.layers,
                                  heads=a.hidden // 64, kv=max(1, a.hidden // 256)))
        env = dict(os.environ, RBLN_CACHE_DIR=os.path.join(tmp, "cache"))
        cold = run(path, env)
        warm = run(path, env)
    res = {"model": f"Llama-shaped, hidden {a.hidden}, {a.layers} layers, vocabulary {a.vocab}, "
                    f"{cold['params'] / 1e6:.1f}M parameters, fp32, 64 tokens",
           "cold": cold, "warm": warm, "saved_s": cold["first_call_s"] - warm["first_call_s"]}
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    if "cache hit" not in warm["log"] or "built" in warm["log"]:
        sys.exit("FAIL: the warm start did not come from the cache")
    if warm["first_call_s"] >= cold["first_call_s"]:
        sys.exit("FAIL: the warm start was not faster")
    if max(cold["max_abs_diff"], warm["max_abs_diff"]) > 1e-3:
        sys.exit("FAIL: the compiled model's logits differ from eager")


if __name__ == "__main__":
    main()
