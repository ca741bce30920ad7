"""Serving through vLLM over an rbln artifact: modeled tokens/s and
time-to-first-token under load, and where the wall time of a step goes
(vLLM's engine and scheduler, the plugin's worker, the simulator).

    .venv-serving/bin/python bench/run_serving_bench.py [--model small|gpt2-124m] [--out bench/serving.json]

Two runs over the same served directory:
  * offline: vllm.LLM.generate on 64 requests (prompts of 1-150 random
    tokens, 1-40 new tokens each, greedy), the engine core in this process;
    per engine step: wall time, the worker's share, the simulator's share;
    modeled tokens/s = generated tokens / modeled device time of all steps;
    modeled TTFT per request = the modeled time from the step that first
    scheduled it to the step that sampled its first token (queueing before
    the first schedule not counted);
  * online: vLLM's OpenAI server on 127.0.0.1, the same 64 requests streamed
    16 at a time by the openai client: wall TTFT and tokens/s.
Exits non-zero if a request fails, or if the modeled time of the steps is
below what reading the weights once per program run takes at the target's
DRAM bandwidth (a figure that breaks physics).
"""
import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")


def pct(xs, q):
    return float(np.percentile(np.array(xs), q)) if xs else 0.0


def requests(vocab, n=64, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, vocab, int(rng.integers(1, 151))).tolist(), int(rng.integers(1, 41)))
            for _ in range(n)]


def served_dir(model, work):
    from rbln import llm_dir
    if model == "small":
        onnx_path = os.path.join(ROOT, "test", "models", "llama_past.onnx")
        opts = dict(max_seq_len=256, kvcache_block_size=16, prefill_chunk_size=64, decoder_batch_sizes=(1, 4, 8, 16))
    else:  # GPT-2 small, 124M parameters, random weights
        onnx_path = os.path.join(work, "gpt2.onnx")
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_gpt2_decoder.py"), onnx_path],
                       check=True)
        opts = dict(max_seq_len=256, kvcache_block_size=16, prefill_chunk_size=128, decoder_batch_sizes=(1, 4, 8, 16))
    out = os.path.join(work, "served")
    llm_dir.build(onnx_path, out, **opts)
    return out


def artifact_facts(d):
    meta = subprocess.run([os.path.join(ROOT, "build", "bin", "rbln-objdump"), "--metadata",
                           os.path.join(d, "model.rbln")], capture_output=True, text=True, check=True).stdout
    weights = int(re.search(r"^weights: (\d+) bytes", meta, re.M).group(1))
    target = re.search(r"^target: (\S+)", meta, re.M).group(1)
    tp = open(os.path.join(ROOT, "runtime", "targets", f"{target}.textproto")).read()
    gbps = float(re.search(r"^dram_gbps: ([0-9.]+)", tp, re.M).group(1))
    return weights, target, gbps


def offline(d, reqs):
    from vllm import LLM, SamplingParams
    llm = LLM(model=d, tokenizer=d, seed=0)
    sps = [SamplingParams(temperature=0, max_tokens=n, ignore_eos=True) for _, n in reqs]
    llm.generate({"prompt_token_ids": [1, 2, 3]}, SamplingParams(temperature=0, max_tokens=2), use_tqdm=False)
    before = llm.collective_rpc("rbln_stats")[0]
    t0 = time.perf_counter()
    outs = llm.generate([{"prompt_token_ids": p} for p, _ in reqs], sps, use_tqdm=False)
    wall = time.perf_counter() - t0
    st = llm.collective_rpc("rbln_stats")[0]
    gen = sum(len(o.outputs[0].token_ids) for o in outs)
    assert gen == sum(n for _, n in reqs), "a request ended early"
    steps = st["steps"] - before["steps"]
    modeled = st["modeled_clock_seconds"] - before["modeled_clock_seconds"]
    ttft = [(v[1] - v[0]) for k, v in st["requests"].items() if k not in before["requests"] and v[1] is not None]
    worker = st["worker_seconds"] - before["worker_seconds"]
    sim = st["sim_wall_seconds"] - before["sim_wall_seconds"]
    res = {
        "requests": len(reqs), "generated_tokens": gen, "engine_steps": steps,
        "mixed_steps": st["mixed_steps"] - before["mixed_steps"],
        "program_runs": st["program_runs"] - before["program_runs"],
        "modeled_seconds": modeled, "modeled_tokens_per_s": gen / modeled,
        "modeled_ttft_ms": {"p50": 1e3 * pct(ttft, 50), "p90": 1e3 * pct(ttft, 90), "max": 1e3 * max(ttft)},
        "wall_seconds": wall, "wall_tokens_per_s": gen / wall,
        "per_step_ms": {"wall": 1e3 * wall / steps, "simulator": 1e3 * sim / steps,
                        "worker_outside_simulator": 1e3 * (worker - sim) / steps,
                        "vllm_engine_and_scheduler": 1e3 * (wall - worker) / steps},
    }
    del llm
    return res


def online(d, reqs):
    import openai
    from vllm_rbln_sim.server import openai_server
    with openai_server(d) as base:
        async def run():
            c = openai.AsyncOpenAI(base_url=base + "/v1", api_key="none", timeout=300, max_retries=0)
            sem = asyncio.Semaphore(16)

            async def one(p, n):
                async with sem:
                    t0 = time.perf_counter()
                    first, count = None, 0
                    stream = await c.completions.create(model=d, prompt=p, max_tokens=n, temperature=0,
                                                        stream=True, stream_options={"include_usage": True},
                                                        extra_body={"ignore_eos": True})
                    async for ch in stream:
                        if ch.choices and ch.choices[0].text:
                            first = first or time.perf_counter() - t0
                        if ch.usage:
                            count = ch.usage.completion_tokens
                    return first, count
            try:
                t0 = time.perf_counter()
                got = await asyncio.wait_for(asyncio.gather(*(one(p, n) for p, n in reqs),
                                                            return_exceptions=True), 900)
                return got, time.perf_counter() - t0
            finally:
                await c.close()

        got, wall = asyncio.run(run())
    errors = [g for g in got if isinstance(g, BaseException)]
    if errors:
        sys.exit(f"FAIL: {len(errors)} of {len(reqs)} requests failed: {errors[:3]}")
    ttft = [g[0] for g in got]
    gen = sum(g[1] for g in got)
    if gen != sum(n for _, n in reqs):
        sys.exit(f"FAIL: {gen} tokens streamed; {sum(n for _, n in reqs)} were asked for")
    return {"requests": len(reqs), "concurrency": 16, "generated_tokens": gen, "wall_seconds": wall,
            "wall_tokens_per_s": gen / wall,
            "wall_ttft_ms": {"p50": 1e3 * pct(ttft, 50), "p90": 1e3 * pct(ttft, 90), "max": 1e3 * max(ttft)}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["small", "gpt2-124m"], default="small")
    ap.add_argument("--out")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        d = served_dir(args.model, work)
        cfg = json.load(open(os.path.join(d, "rbln_config.json")))
        reqs = requests(cfg["vocab_size"])
        weights, target, gbps = artifact_facts(d)
        off = offline(d, reqs)
        on = online(d, reqs)
    floor = off["program_runs"] * weights / (gbps * 1e9)
    result = {"model": args.model, "target": target, "weights_bytes": weights, "dram_gbps": gbps,
              "decode_buckets": cfg["decoder_batch_sizes"], "prefill_chunk": cfg["prefill_chunk_size"],
              "offline": off, "online": on, "modeled_floor_seconds": floor}
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    if off["modeled_seconds"] < floor:
        sys.exit(f"FAIL: modeled {off['modeled_seconds']:.6f} s is below the weight-streaming floor "
                 f"{floor:.6f} s ({off['program_runs']} runs x {weights} B at {gbps} GB/s)")


if __name__ == "__main__":
    main()
