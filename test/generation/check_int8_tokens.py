"""Compile-time narrow weights (--weight-dtype=int8, or fp8 / int4 with
--weight-dtype fp8|int4 [--group-size G]) against the float artifact, step by step.

    python test/generation/check_int8_tokens.py --bin build/bin --model test/models/llama_past.onnx \
        [--weight-dtype int8|fp8|int4 [--group-size 32]] \
        [--model ...] [--max-seq-len 128 --block-size 16 --chunk 32] [--prompt-lens 5,40,77] \
        [--new-tokens 20] [--min-agree 0.95] [--min-agree-each 0.90] [--max-move 0.05]

The float artifact generates greedily from each prompt (random token ids,
seeded); its tokens are the trajectory. Both artifacts then see every prefix
of it (the prompt and the first i generated tokens, all as one batch) and
give the next token's logits: a step agrees when the int8 artifact's argmax
is the float artifact's. (Scoring on one trajectory, not two free runs,
keeps one early flip from counting every later step.) The float artifact is
checked against ONNX Runtime by check_generation.py on the same fixtures.

Prints the share of agreeing steps, each step that differs with the float
logits' margin between their top two tokens there (a flip happens where the
margin is small), and how far the int8 logits move: max and median |diff|
over the float logits' spread (max - min). Fails when the steps of all
fixtures agree below --min-agree, one fixture's below --min-agree-each, or
the logits of a step move more than --max-move of their spread (a wrong
scale or layout moves them by far more than rounding to int8 does). With
random weights the logits nearly tie often, so a flip is expected where the
float top-2 margin is below the movement.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_generation import add_compile_args, compile_llm, rbln_generate  # noqa: E402


def next_logits(args, artifact, prefixes, workdir, tag):
    """Each prefix's next-token logits from one batched run."""
    pfile = os.path.join(workdir, f"prefixes_{tag}.txt")
    with open(pfile, "w") as f:
        f.write("\n".join(",".join(map(str, p)) for p in prefixes) + "\n")
    out = os.path.join(workdir, f"logits_{tag}")
    os.makedirs(out, exist_ok=True)
    cmd = [os.path.join(args.bin, "rbln-run"), artifact, "--generate", f"--prompts={pfile}",
           "--max-new-tokens=1", f"--logits-dir={out}"] + args.run_arg
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return np.stack([np.load(os.path.join(out, f"logits_{i}.npy"))[0] for i in range(len(prefixes))])


def check(args, model_path):
    """(agreeing steps, steps, largest logits movement) for one fixture, printed."""
    import onnx
    model = onnx.load(model_path, load_external_data=False)
    vocab = [o for o in model.graph.output if o.name == "logits"][0].type.tensor_type.shape.dim[2].dim_value
    rng = np.random.default_rng(args.seed)
    prompts = [rng.integers(0, vocab, n).tolist() for n in map(int, args.prompt_lens.split(","))]
    args.model = model_path
    with tempfile.TemporaryDirectory() as work:
        flt, q8 = os.path.join(work, "float.rbln"), os.path.join(work, "int8.rbln")
        compile_llm(args, flt)
        base = list(args.compile_arg)
        args.compile_arg = base + ([f"--kv-cache-dtype={args.kv_cache_dtype}"] if args.kv_cache_dtype
                                   else [f"--weight-dtype={args.weight_dtype}"] +
                                   ([f"--weight-group-size={args.group_size}"] if args.weight_dtype == "int4" else []))
        compile_llm(args, q8)
        args.compile_arg = base
        tokens, _, _ = rbln_generate(args, flt, prompts)
        prefixes, where = [], []
        for p, (prompt, toks) in enumerate(zip(prompts, tokens)):
            for i in range(len(toks)):
                prefixes.append(prompt + toks[:i])
                where.append((p, i, toks[i]))
        lf = next_logits(args, flt, prefixes, work, "float")
        lq = next_logits(args, q8, prefixes, work, "int8")

    # The float artifact's own argmax on each prefix is its trajectory's token
    # (prefill of a prefix and a decode step compute the same positions).
    own = float(np.mean([int(np.argmax(l)) == t for l, (_, _, t) in zip(lf, where)]))
    spread = lf.max(axis=1) - lf.min(axis=1)
    rel = np.abs(lq - lf).max(axis=1) / spread
    agree = np.argmax(lq, axis=1) == np.argmax(lf, axis=1)
    print(f"{os.path.basename(model_path)}: {int(agree.sum())} of {len(agree)} steps agree "
          f"({100 * agree.mean():.1f} %); {args.weight_dtype} logits move by max {100 * rel.max():.2f} %, median "
          f"{100 * np.median(rel):.2f} % of the float logits' spread; the float artifact reproduces its "
          f"own tokens on {100 * own:.1f} % of prefixes")
    for k in np.nonzero(~agree)[0]:
        p, i, t = where[k]
        top2 = np.sort(lf[k])[-2:]
        print(f"  prompt {p} step {i}: float {t}, {args.weight_dtype} {int(np.argmax(lq[k]))}; float top-2 "
              f"margin {top2[1] - top2[0]:.4g} ({100 * (top2[1] - top2[0]) / spread[k]:.2f} % of the "
              f"spread), {args.weight_dtype} moved the logits by up to {100 * rel[k]:.2f} %")
    if own < 0.99:
        print(f"  FAIL: the float artifact's prefill disagrees with its own generation")
    return int(agree.sum()), len(agree), float(rel.max()), own >= 0.99


def main():
    ap = argparse.ArgumentParser(conflict_handler="resolve")  # --model: repeatable here
    add_compile_args(ap, max_seq_len=128, block_size=16, chunk=32)
    ap.add_argument("--model", action="append", required=True, help="a fixture (repeatable)")
    ap.add_argument("--weight-dtype", choices=["int8", "fp8", "int4"], default="int8")
    ap.add_argument("--group-size", type=int, default=128, help="int4: rows of a column per scale")
    ap.add_argument("--kv-cache-dtype", choices=["fp8"],
                    help="compare an artifact with this KV cache type (float weights) instead")
    ap.add_argument("--prompt-lens", default="5,40,77")
    ap.add_argument("--new-tokens", type=int, default=20)
    ap.add_argument("--min-agree", type=float, default=0.95, help="over every fixture's steps")
    ap.add_argument("--min-agree-each", type=float, default=0.90, help="per fixture")
    ap.add_argument("--max-move", type=float, default=0.05,
                    help="largest |8-bit - float| logit over the float logits' spread")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-arg", action="append", default=[])
    args = ap.parse_args()
    if args.kv_cache_dtype:  # the name printed for the variant
        args.weight_dtype = f"{args.kv_cache_dtype}-cache"
    models = args.model
    total = agreed = 0
    ok = True
    for m in models:
        a, n, move, own_ok = check(args, m)
        agreed, total = agreed + a, total + n
        if a < args.min_agree_each * n or move > args.max_move or not own_ok:
            ok = False
            print(f"  FAIL: {os.path.basename(m)} below {100 * args.min_agree_each:.0f} % of steps or logits "
                  f"moved more than {100 * args.max_move:.0f} % of their spread")
    print(f"all fixtures: {agreed} of {total} steps agree ({100 * agreed / total:.1f} %; "
          f"target >= {100 * args.min_agree:.0f} %)")
    ok = ok and agreed >= args.min_agree * total
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
