"""Generation: rbln.LLM (vLLM-style generate) and rbln.StepRunner (one
engine step at a time, the caller owning scheduling and block tables)."""
import ctypes
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from . import _lib
from .errors import ExecutionError, InvalidInputError, LoadError
from .model import _Artifact


@dataclass
class SamplingParams:
    """The subset of vLLM's SamplingParams rbln's engine implements, with
    vLLM's names and defaults (temperature 0 is greedy)."""
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 or -1: every token
    max_tokens: Optional[int] = 16
    seed: Optional[int] = None
    stop_token_ids: Optional[List[int]] = None
    n: int = 1

    def __post_init__(self):
        if self.n != 1:
            raise InvalidInputError("SamplingParams.n: only n=1 is supported")
        if self.temperature < 0:
            raise InvalidInputError(f"SamplingParams.temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise InvalidInputError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise InvalidInputError(f"SamplingParams.max_tokens must be >= 1, got {self.max_tokens}")


@dataclass
class CompletionOutput:
    index: int
    token_ids: List[int]
    finish_reason: str  # "stop" or "length"
    text: str = ""


@dataclass
class RequestOutput:
    request_id: str
    prompt_token_ids: List[int]
    outputs: List[CompletionOutput]
    finished: bool = True


@dataclass
class StepSequence:
    """One sequence of a step: `tokens` at positions start, start+1, ..."""
    tokens: List[int]
    start: int
    block_table: List[int] = field(default_factory=list)
    local_block_table: Optional[List[int]] = None
    all_logits: bool = False


@dataclass
class StepResult:
    logits: List[np.ndarray]  # per sequence: [vocab], or [n_tokens, vocab] with all_logits
    runs: List[tuple]         # (function, real rows, padded rows, modeled seconds)
    device_seconds: float
    wall_seconds: float


class _LlmHandle:
    def __init__(self, path, kv_memory=0, num_blocks=0, num_local_blocks=0, sim_threads=-1,
                 compute=True):
        self._artifact = _Artifact(path)
        lib = self._lib = self._artifact.lib
        o = lib.rbln_llm_options_default()
        o.kv_memory_bytes = int(kv_memory or 0)
        o.num_blocks = int(num_blocks or 0)
        o.num_local_blocks = int(num_local_blocks or 0)
        o.sim_threads = int(sim_threads)
        o.compute = 1 if compute else 0
        self._h = lib.rbln_llm_create_with(self._artifact.handle, ctypes.byref(o))
        if not self._h:
            raise LoadError(_lib.last_error())
        info = _lib.LlmInfo()
        lib.rbln_llm_get_info(self._h, ctypes.byref(info))
        self.info = {k: getattr(info, k) for k, _ in _lib.LlmInfo._fields_
                     if k not in ("decode_buckets", "num_decode_buckets")}
        self.info["decode_buckets"] = list(info.decode_buckets[:info.num_decode_buckets])

    def __del__(self):
        if getattr(self, "_h", None):
            self._lib.rbln_llm_destroy(self._h)
            self._h = None


def _as_token_lists(prompts):
    if isinstance(prompts, dict) or (prompts and isinstance(prompts[0], int)):
        prompts = [prompts]
    out = []
    for i, p in enumerate(prompts):
        if isinstance(p, dict):
            if "prompt_token_ids" not in p:
                raise InvalidInputError(f"prompt {i}: a dict prompt needs 'prompt_token_ids'")
            p = p["prompt_token_ids"]
        if isinstance(p, str):
            raise InvalidInputError(
                f"prompt {i} is text; rbln.LLM takes token ids (tokenize with the model's tokenizer, "
                "or serve through the vLLM plugin, which does)")
        out.append([int(t) for t in p])
    return out


class LLM:
    """Generation over a paged KV cache with rbln's own scheduler (continuous
    batching, chunked prefill, prefix sharing, preemption).

        llm = rbln.LLM("model.rbln")
        outs = llm.generate([[1, 15, 27]], rbln.SamplingParams(temperature=0, max_tokens=8))
        outs[0].outputs[0].token_ids
    """

    def __init__(self, model, kv_memory=0, sim_threads=-1):
        self._h = _LlmHandle(model, kv_memory=kv_memory, sim_threads=sim_threads)
        self.config = self._h.info
        self.last_device_seconds = 0.0

    def generate(self, prompts, sampling_params=None):
        """Token-id prompts (a list of ints, a list of lists, or vLLM's
        {"prompt_token_ids": [...]}) -> one RequestOutput per prompt."""
        sp = sampling_params or SamplingParams()
        prompts = _as_token_lists(prompts)
        if isinstance(sp, list):
            if len(sp) != len(prompts):
                raise InvalidInputError(f"{len(sp)} sampling params for {len(prompts)} prompts")
            outs = [None] * len(prompts)
            for i, (p, s) in enumerate(zip(prompts, sp)):
                outs[i] = self.generate([p], s)[0]
                outs[i].request_id = str(i)
            return outs
        lib = self._h._lib
        n = len(prompts)
        max_new = sp.max_tokens if sp.max_tokens is not None else self.config["max_seq_len"]
        s = lib.rbln_sampling_default()
        s.max_new_tokens = int(max_new)
        s.temperature = float(sp.temperature)
        s.top_k = int(sp.top_k) if sp.top_k and sp.top_k > 0 else 0
        s.top_p = float(sp.top_p)
        s.seed = int(sp.seed or 0)
        stop = (_lib.c_ll * len(sp.stop_token_ids or []))(*(sp.stop_token_ids or []))
        s.stop_tokens = ctypes.cast(stop, _lib.c_ll_p)
        s.num_stop_tokens = len(sp.stop_token_ids or [])
        arrays = [(_lib.c_ll * len(p))(*p) for p in prompts]
        ptrs = (_lib.c_ll_p * n)(*[ctypes.cast(a, _lib.c_ll_p) for a in arrays])
        lens = (ctypes.c_size_t * n)(*[len(p) for p in prompts])
        out = (_lib.c_ll * (n * max_new))()
        out_lens = (ctypes.c_size_t * n)()
        rc = lib.rbln_llm_generate(self._h._h, ptrs, lens, n, ctypes.byref(s), out, out_lens)
        if rc != _lib.RBLN_OK:
            raise (InvalidInputError if rc == _lib.RBLN_INVALID_INPUT else ExecutionError)(_lib.last_error())
        self.last_device_seconds = lib.rbln_llm_last_device_seconds(self._h._h)
        results = []
        for i, p in enumerate(prompts):
            toks = list(out[i * max_new: i * max_new + out_lens[i]])
            stopped = bool(toks) and toks[-1] in (sp.stop_token_ids or [])
            results.append(RequestOutput(str(i), p, [CompletionOutput(0, toks, "stop" if stopped else "length")]))
        return results


class StepRunner:
    """One engine step at a time: the caller schedules and owns the block
    tables (block 0 is reserved, as vLLM's null block).

        r = rbln.StepRunner("model.rbln", num_blocks=64)
        res = r.step([rbln.StepSequence(tokens=prompt, start=0, block_table=[1, 2]),
                      rbln.StepSequence(tokens=[tok], start=40, block_table=[3, 4, 5])])
        res.logits[0]          # [vocab] of the prompt's last token
    """

    def __init__(self, model, num_blocks=0, num_local_blocks=0, kv_memory=0, sim_threads=-1,
                 compute=True):
        self._h = _LlmHandle(model, kv_memory=kv_memory, num_blocks=num_blocks,
                             num_local_blocks=num_local_blocks, sim_threads=sim_threads,
                             compute=compute)
        self.config = self._h.info

    def step(self, seqs):
        lib = self._h._lib
        n = len(seqs)
        keep = []
        arr = (_lib.StepSeq * n)()
        rows = 0
        for i, q in enumerate(seqs):
            toks = (_lib.c_ll * len(q.tokens))(*[int(t) for t in q.tokens])
            table = (ctypes.c_int * len(q.block_table))(*[int(b) for b in q.block_table])
            local = q.local_block_table or []
            ltable = (ctypes.c_int * len(local))(*[int(b) for b in local])
            keep += [toks, table, ltable]
            arr[i].tokens = ctypes.cast(toks, _lib.c_ll_p)
            arr[i].num_tokens = len(q.tokens)
            arr[i].start = int(q.start)
            arr[i].block_table = ctypes.cast(table, _lib.c_int_p)
            arr[i].block_table_len = len(q.block_table)
            arr[i].local_block_table = ctypes.cast(ltable, _lib.c_int_p)
            arr[i].local_block_table_len = len(local)
            arr[i].all_logits = 1 if q.all_logits else 0
            rows += len(q.tokens) if q.all_logits else 1
        vocab = self.config["vocab_size"]
        logits = np.empty((rows, vocab), np.float32)
        rc = lib.rbln_llm_step(self._h._h, arr, n, logits.ctypes.data_as(_lib.c_float_p), logits.size)
        if rc == _lib.RBLN_INVALID_INPUT:
            raise InvalidInputError(_lib.last_error())
        if rc != _lib.RBLN_OK:
            raise ExecutionError(_lib.last_error())
        dev, wall = ctypes.c_double(), ctypes.c_double()
        nruns = lib.rbln_llm_last_step_runs(self._h._h, ctypes.byref(dev), ctypes.byref(wall))
        runs = []
        for k in range(nruns):
            r = _lib.StepRun()
            lib.rbln_llm_last_step_run(self._h._h, k, ctypes.byref(r))
            runs.append((r.function.decode(), r.rows, r.padded, r.device_seconds))
        out, at = [], 0
        for q in seqs:
            if q.all_logits:
                out.append(logits[at:at + len(q.tokens)])
                at += len(q.tokens)
            else:
                out.append(logits[at])
                at += 1
        return StepResult(out, runs, dev.value, wall.value)

    def copy_block(self, src, dst):
        if self._h._lib.rbln_llm_copy_block(self._h._h, int(src), int(dst)) != 0:
            raise InvalidInputError(_lib.last_error())
