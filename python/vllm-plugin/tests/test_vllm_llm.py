"""vllm.LLM over rbln artifacts: vLLM's own engine core and scheduler, the
rbln plugin's worker. Greedy tokens equal rbln-run --generate and ONNX
Runtime's past-KV loop on the same export."""
import json
import os

import numpy as np
import pytest
from vllm import LLM, SamplingParams

from conftest import MODELS, MODEL_DIRS, Reference, build_dir, prompts_for, rbln_run_generate

LENS = [3, 90, 17, 41, 5, 64, 29, 120]  # 8 concurrent requests of different lengths
NEW = 20


def make_llm(model_dir, **kw):
    return LLM(model=model_dir, tokenizer=model_dir, seed=0, disable_log_stats=False, **kw)


@pytest.mark.parametrize("name", list(MODEL_DIRS))
def test_greedy_equals_rbln_and_onnxruntime(dirs, name):
    d = build_dir(dirs, name)
    ref = Reference(os.path.join(MODELS, MODEL_DIRS[name][0]))
    prompts = prompts_for(ref.vocab, LENS, seed=len(name))
    want = [ref.greedy(p, NEW) for p in prompts]
    assert rbln_run_generate(d, prompts, NEW) == want
    llm = make_llm(d)
    greedy = SamplingParams(temperature=0, max_tokens=NEW, ignore_eos=True)
    alone = llm.generate({"prompt_token_ids": prompts[1]}, greedy, use_tqdm=False)
    assert list(alone[0].outputs[0].token_ids) == want[1]
    outs = llm.generate([{"prompt_token_ids": p} for p in prompts], greedy, use_tqdm=False)
    for o, w in zip(outs, want):
        assert list(o.outputs[0].token_ids) == w
        # (token 0, "t0", is the word tokenizer's unk token: special, so
        # vLLM's detokenizer skips it)
        assert o.outputs[0].text.split() == [f"t{t}" for t in w if t != 0]
    stats = llm.collective_rpc("rbln_stats")[0]
    # Chunked prefill mixed with other requests' decode tokens in one step.
    assert stats["mixed_steps"] > 0 and stats["max_step_sequences"] > 1, stats
    # A prompt sharing a prefix with an earlier one hits vLLM's prefix cache
    # (full-attention layers; windowed layers keep only their window).
    if name != "mistral-window":
        shared = prompts[5][:48] + prompts[0]
        o = llm.generate({"prompt_token_ids": shared}, greedy, use_tqdm=False)[0]
        assert o.num_cached_tokens >= 32, o.num_cached_tokens
        assert list(o.outputs[0].token_ids) == ref.greedy(shared, NEW)
        hits = sum(m.value for m in llm.get_metrics() if m.name == "vllm:prefix_cache_hits")
        assert hits >= o.num_cached_tokens


def test_seeded_sampling_repeats(dirs):
    llm = make_llm(build_dir(dirs, "gpt2"))
    p = {"prompt_token_ids": [5, 6, 7, 8]}

    def draw(seed):
        sp = SamplingParams(temperature=0.9, top_p=0.95, top_k=50, max_tokens=16, seed=seed, ignore_eos=True)
        return list(llm.generate(p, sp, use_tqdm=False)[0].outputs[0].token_ids)

    a, b, c = draw(123), draw(123), draw(124)
    assert a == b and len(a) == 16
    assert a != c
    # In one batch with a greedy request: each as alone.
    ref = Reference(os.path.join(MODELS, "gpt2_past.onnx"))
    q = [9, 8, 7, 6, 5, 4]
    outs = llm.generate([p, {"prompt_token_ids": q}],
                        [SamplingParams(temperature=0.9, top_p=0.95, top_k=50, max_tokens=16, seed=123,
                                        ignore_eos=True),
                         SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)], use_tqdm=False)
    assert list(outs[0].outputs[0].token_ids) == a
    assert list(outs[1].outputs[0].token_ids) == ref.greedy(q, 16)
    # logprobs come back from vLLM's sampler
    o = llm.generate(p, SamplingParams(temperature=0, max_tokens=4, logprobs=3, ignore_eos=True),
                     use_tqdm=False)[0].outputs[0]
    assert len(o.logprobs) == 4 and all(t in lp for t, lp in zip(o.token_ids, o.logprobs))


def test_kv_pool_running_out_preempts(dirs):
    """12 blocks of 16 tokens (one is vLLM's null block) for 4 requests that
    need 5 blocks each: vLLM preempts and recomputes; tokens stay exact."""
    d = build_dir(dirs, "gpt2", max_seq_len=128, kvcache_num_blocks=12)
    ref = Reference(os.path.join(MODELS, "gpt2_past.onnx"))
    prompts = prompts_for(ref.vocab, [40, 45, 38, 44], seed=9)
    llm = make_llm(d)
    outs = llm.generate([{"prompt_token_ids": p} for p in prompts],
                        SamplingParams(temperature=0, max_tokens=36, ignore_eos=True), use_tqdm=False)
    for o, p in zip(outs, prompts):
        assert list(o.outputs[0].token_ids) == ref.greedy(p, 36)
    preempted = [m for m in llm.get_metrics() if m.name == "vllm:num_preemptions"]
    assert preempted and preempted[0].value > 0


def test_fp8_kv_cache(dirs):
    """vLLM's kv_cache_dtype="fp8" over a directory built with
    --kv-cache-dtype fp8: greedy tokens equal ONNX Runtime on the same export
    with its new keys and values rounded to E4M3 (fp8_cache_reference); the
    page vLLM accounts is a byte an element; a mismatched request is refused."""
    import onnx
    import onnxruntime as ort
    from check_generation import fp8_cache_reference

    d = build_dir(dirs, "llama", kv_cache_dtype="fp8")
    path = os.path.join(MODELS, MODEL_DIRS["llama"][0])
    ref = Reference(path)
    ref.sess = ort.InferenceSession(fp8_cache_reference(onnx.load(path)).SerializeToString(),
                                    providers=["CPUExecutionProvider"])
    prompts = prompts_for(ref.vocab, [7, 70, 33], seed=5)
    llm = make_llm(d, kv_cache_dtype="fp8")
    outs = llm.generate([{"prompt_token_ids": p} for p in prompts],
                        SamplingParams(temperature=0, max_tokens=NEW, ignore_eos=True), use_tqdm=False)
    for o, p in zip(outs, prompts):
        assert list(o.outputs[0].token_ids) == ref.greedy(p, NEW)
    with open(os.path.join(d, "rbln_config.json")) as f:
        c = json.load(f)
    assert c["kv_cache_dtype"] == "fp8"
    page = llm.collective_rpc("get_cache_block_size_bytes")[0]  # K and V of a block, one byte each
    assert page == 2 * c["kvcache_block_size"] * c["num_kv_heads"] * c["head_dim"]
    with pytest.raises(Exception, match="kv_cache_dtype='fp8', but the artifact's KV caches are in"):
        make_llm(build_dir(dirs, "llama"), kv_cache_dtype="fp8")


def test_structured_output_masks_tokens(dirs):
    """A choice between two words: the grammar's bitmask reaches the logits,
    and the token picked is the likelier of the two by ONNX Runtime's
    logits."""
    from vllm.sampling_params import StructuredOutputsParams
    ref = Reference(os.path.join(MODELS, "gpt2_past.onnx"))
    llm = make_llm(build_dir(dirs, "gpt2"))
    for prompt in ([5, 6, 7, 8], [100, 3, 42]):
        logits = ref.generate(prompt, 1)[1][0]
        want = 7 if logits[7] > logits[9] else 9
        assert int(logits.argmax()) not in (7, 9)  # the mask decides, not the model
        sp = SamplingParams(temperature=0, max_tokens=1,
                            structured_outputs=StructuredOutputsParams(choice=["t7", "t9"]))
        o = llm.generate({"prompt_token_ids": prompt}, sp, use_tqdm=False)[0].outputs[0]
        assert list(o.token_ids) == [want]


def test_penalties_follow_vllm_semantics(dirs):
    """Repetition, presence and frequency penalties on the first token: the
    pick equals numpy's argmax of ONNX Runtime's logits penalized as vLLM
    defines it (tokens of the prompt count for the repetition penalty)."""
    ref = Reference(os.path.join(MODELS, "gpt2_past.onnx"))
    llm = make_llm(build_dir(dirs, "gpt2"))
    picks = []
    for prompt in prompts_for(ref.vocab, [6, 9, 12, 15], seed=21):
        logits = ref.generate(prompt, 1)[1][0].astype(np.float64)
        seen = np.zeros(ref.vocab, bool)
        seen[prompt] = True
        pen = np.where(seen, np.where(logits > 0, logits / 4.0, logits * 4.0), logits)
        want = int(pen.argmax())
        sp = SamplingParams(temperature=0, max_tokens=1, repetition_penalty=4.0, presence_penalty=0.5,
                            frequency_penalty=0.5)
        got = llm.generate({"prompt_token_ids": prompt}, sp, use_tqdm=False)[0].outputs[0].token_ids
        assert list(got) == [want]
        picks.append(want != int(logits.argmax()))
    assert any(picks)  # the penalty changed at least one pick


def test_prefix_cache_with_128_token_blocks(dirs):
    """The artifact's block size is vLLM's: with 128-token blocks a prompt
    sharing 140 tokens with an earlier one reuses one full block."""
    d = build_dir(dirs, "gpt2", kvcache_block_size=128, prefill_chunk_size=128)
    ref = Reference(os.path.join(MODELS, "gpt2_past.onnx"))
    base, tail1, tail2 = prompts_for(ref.vocab, [140, 9, 17], seed=31)
    llm = make_llm(d)
    greedy = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)
    first = llm.generate({"prompt_token_ids": base + tail1}, greedy, use_tqdm=False)[0]
    second = llm.generate({"prompt_token_ids": base + tail2}, greedy, use_tqdm=False)[0]
    assert first.num_cached_tokens == 0 and second.num_cached_tokens == 128
    assert list(first.outputs[0].token_ids) == ref.greedy(base + tail1, 12)
    assert list(second.outputs[0].token_ids) == ref.greedy(base + tail2, 12)
