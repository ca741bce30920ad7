"""Greedy generation of rbln-run --generate against ONNX Runtime's own loop.

    python test/generation/check_generation.py --bin build/bin --model test/models/llama_past.onnx \
        [--max-seq-len 128 --block-size 16 --chunk 32 --decode-batch-sizes 1,4] \
        [--prompt-lens 3,40,77] [--new-tokens 24] [--dtype fp32] [--target atom]

The reference is the exported model itself under ONNX Runtime, driven the
way Optimum/transformers drive it: the whole prompt with an empty
past_key_values, then one token per step feeding present.* back as past.
Checks, for every prompt (random token ids, seeded):
  * alone: the generated tokens equal ORT's exactly (fp32) and the logits of
    every step agree (max abs diff <= --logits-atol, + 2e-4 of the largest);
  * together: all prompts as one continuous batch give each its solo tokens;
  * shared prefix: two prompts with a common prefix give the unshared tokens
    while holding fewer KV blocks.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort


def cache_heads_and_size(model, model_path):
    """(KV heads, head size) of the cache inputs; ONNX Runtime GenAI's builder
    declares the head size symbolic and writes it to genai_config.json."""
    dims = [i for i in model.graph.input if i.name.startswith("past_key_values")][0].type.tensor_type.shape.dim
    head = dims[3].dim_value
    cfg = os.path.join(os.path.dirname(model_path), "genai_config.json")
    if not head and os.path.exists(cfg):
        with open(cfg) as f:
            head = json.load(f)["model"]["decoder"]["head_size"]
    return dims[1].dim_value, head


def ort_generate(sess, model, prompt, new_tokens, cache_dims=None):
    """Greedy tokens and per-step logits from ORT's past_key_values loop."""
    inputs = {i.name: i for i in model.graph.input}
    past_names = sorted([n for n in inputs if n.startswith("past_key_values")])
    feeds = {}
    for n in past_names:
        dims = inputs[n].type.tensor_type.shape.dim
        shape = [1, dims[1].dim_value, 0, dims[3].dim_value]
        if cache_dims:
            shape = [1, cache_dims[0], 0, cache_dims[1]]
        feeds[n] = np.zeros(shape, np.float32)
    tokens = list(prompt)
    out_tokens, logits_steps = [], []
    cur = list(prompt)
    out_names = [o.name for o in sess.get_outputs()]
    for step in range(new_tokens):
        past_len = len(tokens) - len(cur)
        feed = dict(feeds)
        feed["input_ids"] = np.array([cur], np.int64)
        if "attention_mask" in inputs:
            feed["attention_mask"] = np.ones((1, len(tokens)), np.int64)
        if "position_ids" in inputs:
            feed["position_ids"] = np.arange(past_len, len(tokens), dtype=np.int64)[None]
        res = dict(zip(out_names, sess.run(None, feed)))
        logits = res["logits"][0, -1]
        logits_steps.append(logits)
        tok = int(np.argmax(logits))
        out_tokens.append(tok)
        tokens.append(tok)
        cur = [tok]
        for n in past_names:
            feeds[n] = res[n.replace("past_key_values", "present")]
    return out_tokens, np.array(logits_steps)


def fp8_cache_reference(model):
    """The model as an FP8 (E4M3FN, scale 1) KV cache computes: the new keys
    and values rounded to E4M3 (ONNX Cast, saturating) where they join the
    past (the Concat that makes each present.* output, or that a window's
    Slice cuts it from), so every attention
    (the current tokens' too) and every later step reads rounded values.
    Converted to opset 19 (where Cast knows float8) when older."""
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    ref = onnx.version_converter.convert_version(model, 19) if opset < 19 else onnx.ModelProto.FromString(
        model.SerializeToString())
    presents = {o.name for o in ref.graph.output if o.name.startswith("present")}
    # A sliding-window export slices the concatenation to the window.
    producer = {o: n for n in ref.graph.node for o in n.output}
    joins = set()
    for name in presents:
        n = producer.get(name)
        while n is not None and n.op_type == "Slice":
            n = producer.get(n.input[0])
        if n is not None and n.op_type == "Concat":
            joins.add(n.output[0])
    nodes, rounded = [], 0
    for n in ref.graph.node:
        if n.op_type == "Concat" and n.output[0] in joins and len(n.input) == 2:
            src = n.input[1]
            nodes.append(onnx.helper.make_node("Cast", [src], [src + "_e4m3"], to=onnx.TensorProto.FLOAT8E4M3FN))
            nodes.append(onnx.helper.make_node("Cast", [src + "_e4m3"], [src + "_kv"], to=onnx.TensorProto.FLOAT))
            n.input[1] = src + "_kv"
            rounded += 1
        nodes.append(n)
    if rounded != len(presents):
        sys.exit(f"FAIL: --kv-cache-dtype fp8 needs each present.* made by a Concat(past, new) "
                 f"(or a Slice of one); "
                 f"{rounded} of {len(presents)} are")
    del ref.graph.node[:]
    ref.graph.node.extend(nodes)
    return ref


def add_compile_args(ap, max_seq_len, block_size, chunk):
    """The options compile_llm reads, with these defaults."""
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--max-seq-len", type=int, default=max_seq_len)
    ap.add_argument("--block-size", type=int, default=block_size)
    ap.add_argument("--chunk", type=int, default=chunk)
    ap.add_argument("--decode-batch-sizes", default="1,4")
    ap.add_argument("--partition-len", type=int, default=0)
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--target", default="atom")
    ap.add_argument("--compile-arg", action="append", default=[],
                    help="another rbln-compile option, e.g. --compile-arg=--sliding-window=16")


def compile_llm(args, artifact):
    """rbln-compile of args.model into a generation artifact with the
    checker's options (target, dtype, cache geometry, --compile-arg)."""
    cmd = [os.path.join(args.bin, "rbln-compile"), args.model, "-o", artifact, "--quiet",
           f"--target={args.target}", f"--dtype={args.dtype}",
           f"--max-seq-len={args.max_seq_len}", f"--kvcache-block-size={args.block_size}",
           f"--prefill-chunk-size={args.chunk}", f"--decode-batch-sizes={args.decode_batch_sizes}"]
    if args.partition_len:
        cmd.append(f"--kvcache-partition-len={args.partition_len}")
    cmd += args.compile_arg
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: compile: {r.stderr}")


def rbln_generate(args, artifact, prompts, extra=(), logits_dir=None):
    cmd = [os.path.join(args.bin, "rbln-run"), artifact, "--generate", "--steps",
           f"--max-new-tokens={args.new_tokens}"] + [f"--prompt={','.join(map(str, p))}" for p in prompts]
    cmd += list(extra) + args.run_arg
    if logits_dir:
        cmd.append(f"--logits-dir={logits_dir}")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    seqs = {}
    for line in r.stdout.splitlines():
        m = re.match(r"sequence (\d+): .* -> ([\d,]*)  \(finish", line)
        if m:
            seqs[int(m.group(1))] = [int(t) for t in m.group(2).split(",") if t]
    # KV blocks held during decode steps (prefill padding is freed by then).
    peak = max([int(m.group(1)) for m in re.finditer(r"decode .* KV blocks in use (\d+)", r.stdout)] or [0])
    return [seqs[i] for i in range(len(prompts))], peak, r.stdout


def main():
    ap = argparse.ArgumentParser()
    add_compile_args(ap, max_seq_len=128, block_size=16, chunk=32)
    ap.add_argument("--prompt-lens", default="3,21,50")
    ap.add_argument("--new-tokens", type=int, default=24)
    ap.add_argument("--logits-atol", type=float, default=None,
                    help="logits tolerance (default 1e-3 for fp32, 1e-2 when computing in fp16/bf16)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-arg", action="append", default=[],
                    help="another rbln-run option, e.g. --run-arg=--sim-threads=1")
    ap.add_argument("--capi-example", help="path of rbln-llm-example to check too")
    ap.add_argument("--expect-preemption", action="store_true",
                    help="the tight KV budget must preempt at least one sequence")
    ap.add_argument("--kv-cache-dtype", choices=["fp8"],
                    help="compile with this KV cache type; the reference rounds the model's new "
                         "keys and values to it (fp8_cache_reference)")
    args = ap.parse_args()

    model = onnx.load(args.model)
    vocab = [o for o in model.graph.output if o.name == "logits"][0].type.tensor_type.shape.dim[-1].dim_value
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if args.kv_cache_dtype:
        args.compile_arg.append(f"--kv-cache-dtype={args.kv_cache_dtype}")
        sess = ort.InferenceSession(fp8_cache_reference(model).SerializeToString(), so,
                                    providers=["CPUExecutionProvider"])
    else:
        sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(args.seed)
    lens = [int(x) for x in args.prompt_lens.split(",")]
    prompts = [rng.integers(0, vocab, n).tolist() for n in lens]

    with tempfile.TemporaryDirectory() as tmp:
        artifact = os.path.join(tmp, "model.rbln")
        compile_llm(args, artifact)
        failures = 0
        solo = []
        for i, p in enumerate(prompts):
            want, want_logits = ort_generate(sess, model, p, args.new_tokens,
                                             cache_heads_and_size(model, args.model))
            d = os.path.join(tmp, f"solo{i}")
            os.makedirs(d)
            got, _, _ = rbln_generate(args, artifact, [p], logits_dir=d)
            got = got[0]
            got_logits = np.load(os.path.join(d, "logits_0.npy"))
            # Compare logits step by step while the token streams agree.
            n = min(len(got), len(want))
            agree = next((k for k in range(n) if got[k] != want[k]), n)
            k = agree + (agree < n)
            diff = float(np.abs(got_logits[:k] - want_logits[:k]).max())
            # fp32, different summation orders: relative to the logits' scale
            atol = args.logits_atol if args.logits_atol is not None else (
                1e-3 if args.dtype == "fp32" else 1e-2)
            tol = atol + 2e-4 * float(np.abs(want_logits[:k]).max())
            ok = got == want and diff <= tol
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} prompt {i} ({len(p)} tokens): {len(got)} tokens "
                  f"{'equal' if got == want else 'DIFFER at step ' + str(agree)}; "
                  f"max |logits - ORT| {diff:.2e}")
            if got != want:
                print(f"     rbln {got}\n     ort  {want}")
            solo.append(got)
        # Continuous batching: all prompts in one run.
        together, _, _ = rbln_generate(args, artifact, prompts)
        ok = together == solo
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {len(prompts)} prompts as one continuous batch give their solo tokens")
        # The C API example (examples/llm/generate.c) on the same prompts.
        if args.capi_example:
            r = subprocess.run([args.capi_example, artifact] + [",".join(map(str, p)) for p in prompts]
                               + [f"--max-new-tokens={args.new_tokens}"], capture_output=True, text=True)
            got = [[int(t) for t in m.group(1).split(",")]
                   for m in re.finditer(r"sequence \d+: ([\d,]+)", r.stdout)]
            ok = r.returncode == 0 and got == solo
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} C API example gives the same tokens{'' if ok else ': ' + r.stdout + r.stderr}")
        # Out of KV blocks: a budget for the longest sequence plus two blocks
        # forces preemptions; every sequence still gets its solo tokens.
        bs, chunk = args.block_size, args.chunk
        need = max(max(-(-(-(-n // chunk) * chunk) // bs), -(-(n + args.new_tokens) // bs)) for n in lens)
        kv_heads, head = cache_heads_and_size(model, args.model)
        elem = 1 if args.kv_cache_dtype else 4  # bytes per cached element (an upper bound for fp16)
        per_block = kv_heads * head * bs * elem * sum(
            1 for i in model.graph.input if i.name.startswith("past_key_values"))
        if len(prompts) > 1 and max(int(b) for b in args.decode_batch_sizes.split(",")) >= 2:
            tight, _, out = rbln_generate(args, artifact, prompts, [f"--kv-memory={(need + 3) * per_block}",
                                                                     "--no-prefix-sharing"])
            preempted = sum(int(x) for x in re.findall(r"preempted (\d+)x", out))
            ok = tight == solo and (preempted > 0 or not args.expect_preemption)
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} with {need + 2} KV blocks: {preempted} preemption(s), "
                  f"every sequence gets its solo tokens")
        # Shared prefix: the longest prompt and a copy with a different tail.
        base = max(prompts, key=len)
        _, _, probe = rbln_generate(args, artifact, [prompts[0][:1]])
        windowed = "local KV (sliding window" in probe
        if windowed:
            print("     (sliding-window layers: prefixes are not shared, each sequence keeps its ring)")
        if not windowed and len(base) > args.block_size and \
                max(int(b) for b in args.decode_batch_sizes.split(",")) >= 2:
            other = base[:-1] + [(base[-1] + 1) % vocab]
            shared, peak_shared, _ = rbln_generate(args, artifact, [base, other])
            unshared, peak_unshared, _ = rbln_generate(args, artifact, [base, other], ["--no-prefix-sharing"])
            ok = shared == unshared and peak_shared < peak_unshared
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} shared prefix: same tokens as unshared, "
                  f"KV blocks held while decoding {peak_shared} < {peak_unshared}")
    if failures:
        sys.exit(f"{failures} check(s) failed")
    print("all generation checks passed")


if __name__ == "__main__":
    main()
