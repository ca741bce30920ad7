"""vLLM's OpenAI-compatible server over an rbln artifact directory, queried
with the `openai` client on 127.0.0.1: completions and chat, plain and
streamed, equal ONNX Runtime's greedy tokens; a bounded load test; a client
that disconnects mid-stream frees its blocks; a prompt past max_seq_len gets
HTTP 400."""
import asyncio
import os
import re
import time
import urllib.request

import httpx
import openai
import pytest

from conftest import MODELS, Reference, build_dir, prompts_for
from vllm_rbln_sim.server import openai_server

MAX_SEQ_LEN = 256


@pytest.fixture(scope="module")
def server(dirs):
    d = build_dir(dirs, "gpt2")
    with openai_server(d, timeout=240) as base:
        yield base, d


@pytest.fixture(scope="module")
def ref():
    return Reference(os.path.join(MODELS, "gpt2_past.onnx"))


def client(base):
    return openai.OpenAI(base_url=base + "/v1", api_key="none", timeout=120, max_retries=0)


def words(tokens):
    return [f"t{t}" for t in tokens]


def test_completions_plain_and_streamed(server, ref):
    base, d = server
    c = client(base)
    prompt = prompts_for(ref.vocab, [23], seed=3)[0]
    want = words(ref.greedy(prompt, 20))
    r = c.completions.create(model=d, prompt=prompt, max_tokens=20, temperature=0,
                             extra_body={"ignore_eos": True})
    assert r.choices[0].text.split() == want
    assert r.usage.prompt_tokens == 23 and r.usage.completion_tokens == 20
    text = "".join(ch.choices[0].text for ch in c.completions.create(
        model=d, prompt=prompt, max_tokens=20, temperature=0, stream=True, extra_body={"ignore_eos": True}))
    assert text.split() == want


def test_chat_plain_and_streamed(server, ref):
    base, d = server
    c = client(base)
    msgs = [{"role": "user", "content": "t1 t2 t3 t40"}]  # the template: the words, then a space
    want = words(ref.greedy([1, 2, 3, 40], 12))
    r = c.chat.completions.create(model=d, messages=msgs, max_tokens=12, temperature=0,
                                  extra_body={"ignore_eos": True})
    assert r.choices[0].message.content.split() == want
    text = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
        model=d, messages=msgs, max_tokens=12, temperature=0, stream=True, extra_body={"ignore_eos": True}))
    assert text.split() == want


def test_prompt_past_max_seq_len_is_a_400(server):
    base, d = server
    with pytest.raises(openai.BadRequestError) as e:
        client(base).completions.create(model=d, prompt=[1] * (MAX_SEQ_LEN + 20), max_tokens=4)
    assert str(MAX_SEQ_LEN) in str(e.value)


def metrics(base):
    """vllm:* series summed over labels; vllm:request_success_total also by
    finished_reason (as 'vllm:request_success_total/abort')."""
    text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
    out = {}
    for m in re.finditer(r"^(vllm:[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$", text, re.M):
        keys = [m.group(1)]
        reason = re.search(r'finished_reason="([a-z]+)"', m.group(2) or "")
        if reason:
            keys.append(f"{m.group(1)}/{reason.group(1)}")
        for k in keys:
            out[k] = out.get(k, 0.0) + float(m.group(3))
    return out


def wait_idle(base, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        m = metrics(base)
        if m.get("vllm:num_requests_running", 1) == 0 and m.get("vllm:kv_cache_usage_perc", 1) == 0:
            return m
        time.sleep(0.5)
    return metrics(base)


def test_disconnect_mid_stream_frees_blocks(server):
    base, d = server
    generated = metrics(base)["vllm:generation_tokens_total"]
    body = {"model": d, "prompt": list(range(1, 60)), "max_tokens": 190, "temperature": 0,
            "stream": True, "ignore_eos": True}
    with httpx.Client(timeout=60) as h:
        with h.stream("POST", base + "/v1/completions", json=body) as r:
            lines = 0
            for line in r.iter_lines():
                lines += line.startswith("data:")
                if lines == 3:
                    break  # hang up with ~187 tokens still to go
    m = wait_idle(base)
    assert m["vllm:num_requests_running"] == 0 and m["vllm:kv_cache_usage_perc"] == 0, m
    # Aborted, not run to its end: far fewer than 190 tokens were generated.
    assert m["vllm:generation_tokens_total"] - generated < 100, m


def test_bounded_load(server, ref):
    """64 requests, 16 at a time, random prompt and output lengths: every
    one completes with ONNX Runtime's tokens; then nothing is left running."""
    base, d = server
    import numpy as np
    rng = np.random.default_rng(11)
    jobs = []
    for i in range(64):
        p = rng.integers(0, ref.vocab, int(rng.integers(1, 150))).tolist()
        n = int(rng.integers(1, 40))
        jobs.append((p, n, words(ref.greedy(p, n))))

    async def run():
        c = openai.AsyncOpenAI(base_url=base + "/v1", api_key="none", timeout=180, max_retries=0)
        sem = asyncio.Semaphore(16)

        async def one(job):
            p, n, _ = job
            async with sem:
                r = await c.completions.create(model=d, prompt=p, max_tokens=n, temperature=0,
                                               extra_body={"ignore_eos": True})
                return r.choices[0].text.split()
        try:
            return await asyncio.wait_for(asyncio.gather(*(one(j) for j in jobs), return_exceptions=True), 600)
        finally:
            await c.close()

    t0 = time.time()
    got = asyncio.run(run())
    errors = [g for g in got if isinstance(g, BaseException)]
    assert not errors, errors[:3]
    wrong = [i for i, (g, j) in enumerate(zip(got, jobs)) if g != j[2]]
    assert not wrong, f"{len(wrong)} of 64 differ, e.g. request {wrong[0]}"
    m = wait_idle(base)
    assert m["vllm:num_requests_running"] == 0
    print(f"64 requests in {time.time() - t0:.1f} s")
