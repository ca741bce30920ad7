"""rbln.LLM and the step API (rbln.StepRunner) against ONNX Runtime running
the same export: greedy tokens of its own past_key_values loop, and the
logits of every position of a sequence run as one prompt."""
import numpy as np
import pytest

import rbln
from conftest import close


def test_generate_matches_onnxruntime(gpt2):
    art, ref = gpt2
    rng = np.random.default_rng(1)
    prompts = [rng.integers(0, ref.vocab, n).tolist() for n in (3, 21, 50)]
    llm = rbln.LLM(art)
    greedy = rbln.SamplingParams(temperature=0, max_tokens=12)
    together = llm.generate(prompts, greedy)
    assert llm.last_device_seconds > 0
    for p, out in zip(prompts, together):
        want, _ = ref.generate(p, 12)
        assert out.outputs[0].token_ids == want
        assert out.outputs[0].finish_reason == "length"
        assert out.prompt_token_ids == p
    # vLLM's prompt form, alone.
    alone = llm.generate({"prompt_token_ids": prompts[1]}, greedy)
    assert alone[0].outputs[0].token_ids == together[1].outputs[0].token_ids


def test_sampling_is_repeatable_with_a_seed(gpt2):
    art, _ = gpt2
    llm = rbln.LLM(art)
    sp = rbln.SamplingParams(temperature=0.8, top_p=0.9, max_tokens=10, seed=7)
    a = llm.generate([[5, 6, 7]], sp)[0].outputs[0].token_ids
    b = llm.generate([[5, 6, 7]], sp)[0].outputs[0].token_ids
    c = llm.generate([[5, 6, 7]], rbln.SamplingParams(temperature=0.8, top_p=0.9, max_tokens=10,
                                                      seed=8))[0].outputs[0].token_ids
    assert a == b and len(a) == 10
    assert a != c  # another seed, another draw (10 tokens of a 500-token vocabulary)


def test_generate_errors(gpt2):
    art, ref = gpt2
    llm = rbln.LLM(art)
    with pytest.raises(rbln.InvalidInputError, match="outside the vocabulary"):
        llm.generate([[1, ref.vocab]])
    with pytest.raises(rbln.InvalidInputError, match="max-seq-len=128"):
        llm.generate([[1] * 129])
    with pytest.raises(rbln.InvalidInputError, match="is text"):
        llm.generate(["hello"])
    with pytest.raises(rbln.InvalidInputError):
        rbln.SamplingParams(top_p=0)


class Blocks:
    """A vLLM-style allocator: block 0 is the null block, never handed out."""

    def __init__(self, n):
        self.free = list(range(n - 1, 0, -1))

    def grow(self, table, tokens, bs):
        while len(table) * bs < tokens:
            table.append(self.free.pop())
        return table


def test_mixed_steps_match_onnxruntime(gpt2):
    """Prefill chunks at arbitrary starts and decode tokens of other
    sequences in the same steps; every logits row equals ONNX Runtime's."""
    art, ref = gpt2
    r = rbln.StepRunner(art, num_blocks=40)
    bs = r.config["block_size"]
    assert r.config["num_blocks"] == 40 and r.config["decode_buckets"] == [1, 2, 4]
    blocks = Blocks(40)
    rng = np.random.default_rng(2)
    seqs = {name: rng.integers(0, ref.vocab, n).tolist() for name, n in (("a", 45), ("b", 7), ("c", 20))}
    done = {k: 0 for k in seqs}     # tokens in the cache
    tables = {k: [] for k in seqs}
    # (sequence, tokens to process this step) per step; None: the next decode token.
    plan = [[("a", 20), ("b", 7)], [("a", 25), ("b", None), ("c", 20)]] + \
           [[("a", None), ("b", None), ("c", None)]] * 6
    for step in plan:
        batch, names = [], []
        for name, n in step:
            toks = seqs[name][done[name]:] if n is None else seqs[name][done[name]:done[name] + n]
            assert toks
            blocks.grow(tables[name], done[name] + len(toks), bs)
            batch.append(rbln.StepSequence(toks, done[name], list(tables[name]) + [0] * 3))
            names.append(name)
        res = r.step(batch)
        assert res.device_seconds > 0 and res.runs
        for name, q, logits in zip(names, batch, res.logits):
            done[name] += len(q.tokens)
            want = ref.logits(seqs[name][:done[name]])[-1]
            assert close(logits, want), (name, done[name])
            if done[name] >= len(seqs[name]):  # prompt finished: append the greedy token
                seqs[name].append(int(np.argmax(logits)))
    # One run per prefill chunk, decode rows together: the second step ran
    # a's 25 tokens and c's 20 as prefill chunks and b's token in decode_b1.
    # The greedy continuation equals ONNX Runtime's own loop.
    for name, n in (("a", 45), ("b", 7), ("c", 20)):
        want, _ = ref.generate(seqs[name][:n], len(seqs[name]) - n)
        assert seqs[name][n:] == want


def test_step_reports_programs(gpt2):
    art, ref = gpt2
    r = rbln.StepRunner(art, num_blocks=20)
    res = r.step([rbln.StepSequence(list(range(40)), 0, [1, 2, 3]),
                  rbln.StepSequence([9], 0, [4]), rbln.StepSequence([8], 0, [5]),
                  rbln.StepSequence([7], 0, [6])])
    assert [(f, n, p) for f, n, p, _ in res.runs] == \
        [("prefill", 32, 32), ("prefill", 8, 32), ("decode_b4", 3, 4)]
    assert abs(sum(s for *_, s in res.runs) - res.device_seconds) < 1e-12


def test_all_logits_and_the_tail_near_max_seq_len(gpt2):
    """all_logits runs a sequence's tokens as decode rows: every row equals
    ONNX Runtime's. A last chunk whose padding would pass max_seq_len runs
    the same way."""
    art, ref = gpt2
    r = rbln.StepRunner(art, num_blocks=20)
    tokens = np.random.default_rng(3).integers(0, ref.vocab, 126).tolist()
    want = ref.logits(tokens)
    table = list(range(1, 9))
    res = r.step([rbln.StepSequence(tokens[:30], 0, table, all_logits=True)])
    assert res.logits[0].shape == (30, ref.vocab)
    assert close(res.logits[0], want[:30])
    assert [f for f, *_ in res.runs] == ["decode_b4"] * 7 + ["decode_b2"]  # 30 rows
    res = r.step([rbln.StepSequence(tokens[30:100], 30, table)])
    assert close(res.logits[0], want[99])
    # Positions 100..125: 100 + 32 > 128, so no padded prefill chunk fits.
    res = r.step([rbln.StepSequence(tokens[100:], 100, table)])
    assert close(res.logits[0], want[125])
    assert {f for f, *_ in res.runs} == {"decode_b4", "decode_b2"}


def test_bad_steps_are_refused_before_any_cache_is_touched(gpt2):
    art, ref = gpt2
    r = rbln.StepRunner(art, num_blocks=10)
    tokens = np.random.default_rng(4).integers(0, ref.vocab, 21).tolist()
    want = ref.logits(tokens)
    r.step([rbln.StepSequence(tokens[:20], 0, [1, 2])])
    S = rbln.StepSequence
    # A step that would overwrite position 19 with another token, with a
    # bad sequence beside it: refused whole.
    cases = [
        (S([ref.vocab], 0, [3]), "token id 500 is outside the vocabulary"),
        (S([1, 2], 127, [3] * 8), "pass the compiled --max-seq-len=128"),
        (S([1], 0, [0]), r"block table\[0\] = 0 is not a KV block id in \[1, 10\)"),
        (S([1], 16, [3, 10]), r"block table\[1\] = 10"),
        (S([1], 16, [3]), "has 1 entries; positions up to 31 need 2"),
        (S([1], 16, [5, 2]), "writes KV block 2 .* which sequence 0 writes too"),
        (S([], 0, [3]), "has no tokens"),
    ]
    for bad, msg in cases:
        with pytest.raises(rbln.InvalidInputError, match=msg):
            r.step([S([(tokens[19] + 1) % ref.vocab, tokens[20]], 19, [1, 2]), bad])
    res = r.step([S(tokens[20:21], 20, [1, 2])])
    assert close(res.logits[0], want[20])


def test_sliding_window_with_vllm_style_tables(mistral_window):
    """All layers windowed (16 tokens): each logical block gets its own
    block, and blocks that left every token's window go back to the pool
    (their table entries 0, as vLLM's sliding-window manager does)."""
    art, ref = mistral_window
    r = rbln.StepRunner(art, num_local_blocks=24)
    bs, window = r.config["block_size"], r.config["sliding_window"]
    assert window == 16 and r.config["num_blocks"] == 0
    pool = Blocks(24)
    prompt = np.random.default_rng(5).integers(0, ref.vocab, 37).tolist()
    want, _ = ref.generate(prompt, 31)  # one after the prompt, then 30 decode steps
    tokens, table, done = list(prompt), [], 0
    for n in (13, 24) + (None,) * 30:
        toks = tokens[done:] if n is None else tokens[done:done + n]
        pool.grow(table, done + len(toks), bs)
        res = r.step([rbln.StepSequence(toks, done, [], local_block_table=table)])
        done += len(toks)
        if done >= len(prompt):
            tokens.append(int(np.argmax(res.logits[0])))
        # Free what no later token's window reaches.
        for b in range(max(0, done - window + 1) // bs):
            if table[b]:
                pool.free.append(table[b])
                table[b] = 0
    assert tokens[len(prompt):] == want
    assert len(pool.free) >= 24 - 1 - (window // bs + 2)


def test_fp8_kv_cache_matches_onnxruntime_on_rounded_keys_and_values(workdir):
    """optimum-rbln's quantization={"kv_caches": "fp8"}: the caches hold E4M3
    (a byte an element); ONNX Runtime runs the same export with its new keys
    and values rounded to E4M3 by ONNX Cast where they join the past."""
    import os
    import onnx
    import onnxruntime as ort
    from conftest import MODELS, OrtDecoder
    from check_generation import fp8_cache_reference  # test/generation, on the path (conftest)

    path = os.path.join(MODELS, "gpt2_past.onnx")
    art = rbln.compile(path, workdir / "gpt2_kvfp8.rbln", target="atom", max_seq_len=128,
                       kvcache_block_size=16, prefill_chunk_size=32, decoder_batch_sizes=[1, 2],
                       quantization={"kv_caches": "fp8"})
    ref = OrtDecoder(path)
    ref.sess = ort.InferenceSession(fp8_cache_reference(onnx.load(path)).SerializeToString(),
                                    providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    prompts = [rng.integers(0, ref.vocab, n).tolist() for n in (4, 37)]
    outs = rbln.LLM(art).generate(prompts, rbln.SamplingParams(temperature=0, max_tokens=10))
    for p, out in zip(prompts, outs):
        want, _ = ref.generate(p, 10)
        assert out.outputs[0].token_ids == want
    with pytest.raises(rbln.CompileError, match="unsupported keys"):
        rbln.compile(path, workdir / "x.rbln", quantization={"activations": "int8"})
