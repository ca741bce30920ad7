"""The worker: vLLM's scheduler decides each step; the worker turns its
SchedulerOutput into one rbln step (prefill chunks and decode tokens of many
requests together), then samples with vLLM's own Sampler."""
import time

import numpy as np
import torch
from vllm.logger import init_logger
from vllm.v1.kv_cache_interface import FullAttentionSpec, SlidingWindowSpec
from vllm.v1.outputs import ModelRunnerOutput
from vllm.v1.sample.logits_processor import LogitsProcessors
from vllm.v1.sample.metadata import SamplingMetadata
from vllm.v1.sample.sampler import Sampler
from vllm.v1.worker.worker_base import CompilationTimes, WorkerBase

import rbln

from . import config as rcfg

logger = init_logger(__name__)

# vLLM manages one block table per KV cache group; the artifact takes one
# table for its full-attention layers and one for its sliding-window layers,
# so each kind is presented to vLLM as one layer.
FULL, WINDOW = "rbln.full_attention", "rbln.sliding_window"
_EPS = 1e-5


class _Req:
    __slots__ = ("prompt", "output", "block_ids", "params", "generator", "num_computed")

    def __init__(self, prompt, block_ids, params, num_computed):
        self.prompt = list(prompt)
        self.output = []
        self.block_ids = [list(b) for b in block_ids]
        self.params = params
        self.num_computed = num_computed
        self.generator = None
        if params is not None and params.seed is not None:
            self.generator = torch.Generator().manual_seed(params.seed)

    def tokens(self):
        return self.prompt + self.output


class RblnSimWorker(WorkerBase):
    def __init__(self, vllm_config, local_rank, rank, distributed_init_method, is_driver_worker=False):
        super().__init__(vllm_config, local_rank, rank, distributed_init_method, is_driver_worker)
        self.cfg = rcfg.load(self.model_config.model)
        self.runner = None
        self.reqs = {}
        self.groups = {}  # kind -> KV cache group index
        self.sampler = Sampler(logprobs_mode=self.model_config.logprobs_mode)
        self._pending = None
        self.stats = {"steps": 0, "mixed_steps": 0, "prefill_chunks": 0, "decode_rows": 0,
                      "max_step_sequences": 0, "device_seconds": 0.0, "sim_wall_seconds": 0.0,
                      "worker_seconds": 0.0, "program_runs": 0, "generated_tokens": 0}
        # A modeled clock: the device time of every step run so far. Per
        # request: [clock when first scheduled, clock at its first token,
        # clock at its last token, tokens generated] (the last 4096 requests).
        self.clock = 0.0
        self.timeline = {}

    # --- set-up ---------------------------------------------------------------
    def init_device(self):
        self.device = torch.device("cpu")

    def load_model(self, *, load_dummy_weights: bool = False):
        pass  # the artifact holds the weights; it is loaded with the KV caches

    def get_supported_tasks(self):
        return ("generate",)

    def get_model(self):
        return None

    def _specs(self):
        c = self.cfg
        kinds = {FULL if k == "full_attention" else WINDOW for k in c["kv_cache_kinds"]}
        # The page size vLLM accounts is the artifact's: E4M3 caches take a byte an element.
        kv = torch.float8_e4m3fn if c.get("kv_cache_dtype") == "fp8" else torch.float32
        common = dict(block_size=c["kvcache_block_size"], num_kv_heads=c["num_kv_heads"],
                      head_size=c["head_dim"], dtype=kv)
        specs = {}
        if FULL in kinds:
            specs[FULL] = FullAttentionSpec(**common)
        if WINDOW in kinds:
            specs[WINDOW] = SlidingWindowSpec(**common, sliding_window=int(c["sliding_window"]))
        return specs

    def get_kv_cache_spec(self):
        return self._specs()

    def get_supported_kv_cache_layouts(self):
        return ["NHD"]

    def determine_available_memory(self) -> int:
        # The block count is fixed by num_gpu_blocks_override; report what it takes.
        return rcfg.num_blocks(self.cfg) * sum(s.page_size_bytes for s in self._specs().values())

    def get_cache_block_size_bytes(self) -> int:
        return sum(s.page_size_bytes for s in self._specs().values())

    def initialize_from_config(self, kv_cache_config):
        n = kv_cache_config.num_blocks
        for g, group in enumerate(kv_cache_config.kv_cache_groups):
            for name in group.layer_names:
                self.groups[name] = g
        t0 = time.time()
        self.runner = rbln.StepRunner(self.cfg["artifact_path"], num_blocks=n if FULL in self.groups else 0,
                                      num_local_blocks=n if WINDOW in self.groups else 0)
        logger.info("rbln: loaded %s with %d KV blocks per cache in %.2f s", self.cfg["artifact_path"],
                    n, time.time() - t0)

    def rbln_stats(self):
        """What the worker ran (collective_rpc("rbln_stats")): steps, steps that
        mixed prefill chunks with decode tokens, programs, modeled device time,
        simulator wall time, the worker's own wall time, and each request's
        modeled timeline (first scheduled, first
        token, last token, tokens)."""
        return dict(self.stats, modeled_clock_seconds=self.clock,
                    requests={k: list(v) for k, v in self.timeline.items()},
                    num_blocks=self.runner.config["num_blocks"] if self.runner else 0,
                    max_num_batched_tokens=self.scheduler_config.max_num_batched_tokens,
                    max_num_seqs=self.scheduler_config.max_num_seqs)

    def compile_or_warm_up_model(self):
        return CompilationTimes(0.0, 0.0)

    def check_health(self):
        return

    def take_draft_token_ids(self):
        return None

    def reset_encoder_cache(self):
        return

    def add_lora(self, lora_request):
        raise ValueError("vllm_rbln_sim does not support LoRA")

    def remove_lora(self, lora_id):
        return False

    def pin_lora(self, lora_id):
        return False

    def list_loras(self):
        return set()

    def shutdown(self):
        self.runner = None

    # --- steps ----------------------------------------------------------------
    def _update_states(self, so):
        for rid in so.finished_req_ids:
            self.reqs.pop(rid, None)
        for new in so.scheduled_new_reqs:
            self.reqs[new.req_id] = _Req(new.prompt_token_ids or [], new.block_ids, new.sampling_params,
                                         new.num_computed_tokens)
        c = so.scheduled_cached_reqs
        for i, rid in enumerate(c.req_ids):
            r = self.reqs[rid]
            r.num_computed = c.num_computed_tokens[i]
            nb = c.new_block_ids[i]
            if rid in c.resumed_req_ids:
                r.block_ids = [list(b) for b in nb]
            elif nb is not None:
                for g, b in enumerate(nb):
                    r.block_ids[g].extend(b)
        for cp in getattr(so, "kv_cache_block_copies", None) or ():
            self.runner.copy_block(cp.src_block_id, cp.dst_block_id)

    def execute_model(self, scheduler_output):
        t0 = time.perf_counter()
        so = scheduler_output
        self._update_states(so)
        if not so.total_num_scheduled_tokens:
            self._pending = None
            return ModelRunnerOutput(req_ids=[], req_id_to_index={})
        order = [n.req_id for n in so.scheduled_new_reqs] + list(so.scheduled_cached_reqs.req_ids)
        order = [rid for rid in order if so.num_scheduled_tokens.get(rid, 0) > 0]
        seqs, samples = [], []
        for rid in order:
            r = self.reqs[rid]
            n = so.num_scheduled_tokens[rid]
            toks = r.tokens()
            seqs.append(rbln.StepSequence(
                tokens=toks[r.num_computed:r.num_computed + n], start=r.num_computed,
                block_table=r.block_ids[self.groups[FULL]] if FULL in self.groups else [],
                local_block_table=r.block_ids[self.groups[WINDOW]] if WINDOW in self.groups else None))
            samples.append(r.num_computed + n >= len(toks))  # else a partial prefill chunk
        for rid in order:
            if rid not in self.timeline:
                self.timeline[rid] = [self.clock, None, None, 0]
                if len(self.timeline) > 4096:
                    self.timeline.pop(next(iter(self.timeline)))
        res = self.runner.step(seqs)
        self.clock += res.device_seconds
        prefill = sum(1 for q in seqs if len(q.tokens) > 1)
        st = self.stats
        st["steps"] += 1
        st["program_runs"] += len(res.runs)
        st["mixed_steps"] += int(0 < prefill < len(seqs))
        st["prefill_chunks"] += sum(1 for f, *_ in res.runs if f == "prefill")
        st["decode_rows"] += sum(n for f, n, *_ in res.runs if f != "prefill")
        st["max_step_sequences"] = max(st["max_step_sequences"], len(seqs))
        st["device_seconds"] += res.device_seconds
        st["sim_wall_seconds"] += res.wall_seconds
        self._pending = (order, samples, res)
        st["worker_seconds"] += time.perf_counter() - t0
        return None

    def _metadata(self, reqs):
        n = len(reqs)
        params = [r.params for r in reqs]
        temps = [p.temperature if p.temperature >= _EPS else 0.0 for p in params]
        all_greedy = all(t == 0.0 for t in temps)
        all_random = all(t > 0.0 for t in temps)
        top_p = [p.top_p for p in params]
        top_k = [p.top_k if p.top_k and p.top_k > 0 else 0 for p in params]
        vocab = self.cfg["vocab_size"]
        no_pen = all(p.presence_penalty == 0 and p.frequency_penalty == 0 and p.repetition_penalty == 1
                     for p in params)
        logprobs = [p.logprobs for p in params if p.logprobs is not None]
        prompt_ids = None
        if not no_pen:
            width = max(len(r.prompt) for r in reqs)
            prompt_ids = torch.full((n, width), vocab, dtype=torch.int64)
            for i, r in enumerate(reqs):
                prompt_ids[i, :len(r.prompt)] = torch.tensor(r.prompt)
        return SamplingMetadata(
            # Greedy rows keep 0: vLLM's sampler picks them by temperature < eps.
            temperature=None if all_greedy else torch.tensor(temps, dtype=torch.float32),
            all_greedy=all_greedy, all_random=all_random,
            top_p=None if all(x >= 1.0 for x in top_p) else torch.tensor(top_p, dtype=torch.float32),
            top_k=None if all(k == 0 for k in top_k) else torch.tensor([k or vocab for k in top_k]),
            generators={i: r.generator for i, r in enumerate(reqs) if r.generator is not None},
            max_num_logprobs=max(logprobs) if logprobs else None,
            no_penalties=no_pen, prompt_token_ids=prompt_ids,
            frequency_penalties=torch.tensor([p.frequency_penalty for p in params], dtype=torch.float32),
            presence_penalties=torch.tensor([p.presence_penalty for p in params], dtype=torch.float32),
            repetition_penalties=torch.tensor([p.repetition_penalty for p in params], dtype=torch.float32),
            output_token_ids=[list(r.output) for r in reqs],
            allowed_token_ids_mask=None, bad_words_token_ids={}, logitsprocs=LogitsProcessors())

    def _apply_grammar(self, logits, row_req_ids, grammar_output):
        """Structured output: tokens the grammar forbids get -inf. The
        bitmask has a row per structured request (in its own order), bit t
        of a row set when token t is allowed."""
        vocab = logits.shape[1]
        words = np.ascontiguousarray(grammar_output.grammar_bitmask, dtype="<i4")
        allowed = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :vocab].astype(bool)
        row = {rid: k for k, rid in enumerate(row_req_ids)}
        for j, rid in enumerate(grammar_output.structured_output_request_ids):
            if rid in row:
                logits[row[rid], torch.from_numpy(~allowed[j])] = float("-inf")

    def sample_tokens(self, grammar_output):
        t0 = time.perf_counter()
        if self._pending is None:
            return ModelRunnerOutput(req_ids=[], req_id_to_index={})
        order, samples, res = self._pending
        self._pending = None
        rows = [i for i, s in enumerate(samples) if s]
        sampled = [[] for _ in order]
        logprobs = None
        if rows:
            reqs = [self.reqs[order[i]] for i in rows]
            logits = torch.from_numpy(np.stack([res.logits[i] for i in rows]))
            if grammar_output is not None and grammar_output.structured_output_request_ids:
                self._apply_grammar(logits, [order[i] for i in rows], grammar_output)
            out = self.sampler(logits, self._metadata(reqs))
            toks = out.sampled_token_ids[:, 0].tolist()
            for i, r, t in zip(rows, reqs, toks):
                r.output.append(int(t))
                sampled[i] = [int(t)]
                tl = self.timeline.get(order[i])
                if tl is not None:
                    tl[1] = self.clock if tl[1] is None else tl[1]
                    tl[2], tl[3] = self.clock, tl[3] + 1
            self.stats["generated_tokens"] += len(rows)
            if out.logprobs_tensors is not None:
                # Rows exist for the requests that sampled; request i's start
                # among them is the count of tokens sampled before it.
                cu = np.cumsum([0] + [len(x) for x in sampled]).tolist()
                logprobs = out.logprobs_tensors.tolists(cu_num_generated_tokens=cu[:-1])
        self.stats["worker_seconds"] += time.perf_counter() - t0
        return ModelRunnerOutput(req_ids=list(order), req_id_to_index={r: i for i, r in enumerate(order)},
                                 sampled_token_ids=sampled, logprobs=logprobs,
                                 prompt_logprobs_dict={r: None for r in order})
