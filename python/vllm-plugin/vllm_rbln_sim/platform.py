"""The platform: vLLM's settings are taken from the artifact directory."""
import os

import torch
from vllm.logger import init_logger
from vllm.platforms.interface import Platform, PlatformEnum

from . import config as rcfg

logger = init_logger(__name__)


class RblnSimPlatform(Platform):
    _enum = PlatformEnum.OOT
    device_name = "rbln-sim"
    device_type = "cpu"
    dispatch_key = "CPU"
    simple_compile_backend = "eager"
    dist_backend = "gloo"
    supported_quantization: list[str] = []

    @property
    def supported_dtypes(self) -> list[torch.dtype]:
        return [torch.float32, torch.float16, torch.bfloat16]

    @classmethod
    def get_device_name(cls, device_id: int = 0) -> str:
        return "rbln NPU simulator"

    @classmethod
    def get_device_total_memory(cls, device_id: int = 0) -> int:
        return 16 << 30

    @classmethod
    def is_pin_memory_available(cls) -> bool:
        return False

    @classmethod
    def inference_mode(cls):
        return torch.no_grad()

    @classmethod
    def import_kernels(cls) -> None:
        pass  # no vLLM kernels run: the artifact does the model's work

    @classmethod
    def support_hybrid_kv_cache(cls) -> bool:
        return True  # sliding-window layers get their own (freed-as-they-go) block table

    @classmethod
    def get_attn_backend_cls(cls, selected_backend, attn_selector_config, num_heads=None) -> str:
        return ""

    @classmethod
    def check_and_update_config(cls, vllm_config) -> None:
        model_config = vllm_config.model_config
        if model_config is None:
            return
        cfg = rcfg.load(model_config.model)
        cache = vllm_config.cache_config
        sched = vllm_config.scheduler_config
        par = vllm_config.parallel_config
        if par.tensor_parallel_size != 1 or par.pipeline_parallel_size != 1:
            raise ValueError("vllm_rbln_sim runs one simulated device: tensor_parallel_size and "
                             "pipeline_parallel_size must be 1")
        # The caches' type is the artifact's: vLLM's kv_cache_dtype must agree.
        art_kv = cfg.get("kv_cache_dtype", "auto")
        want_kv = {"fp8_e4m3": "fp8"}.get(cache.cache_dtype, cache.cache_dtype)
        if want_kv not in ("auto", art_kv):
            raise ValueError(f"kv_cache_dtype={cache.cache_dtype!r}, but the artifact's KV caches are "
                             f"{'fp8 (E4M3FN)' if art_kv == 'fp8' else 'in its compute type'}: build the "
                             f"directory with `python -m rbln.llm_dir ... --kv-cache-dtype="
                             f"{'fp8' if want_kv.startswith('fp8') else 'auto'}`"
                             + (" (fp8 means E4M3; E5M2 caches are not supported)" if want_kv == "fp8_e5m2" else ""))
        # The artifact's geometry overrides vLLM's settings.
        bs, max_len = cfg["kvcache_block_size"], cfg["max_seq_len"]
        if cache.user_specified_block_size and cache.block_size != bs:
            logger.warning("block_size %d -> %d (the artifact's kvcache_block_size)", cache.block_size, bs)
        cache.block_size = bs
        cache.num_gpu_blocks_override = rcfg.num_blocks(cfg)
        if model_config.max_model_len > max_len:
            logger.warning("max_model_len %d -> %d (the artifact's max_seq_len)",
                           model_config.max_model_len, max_len)
            model_config.max_model_len = max_len
        buckets = cfg["decoder_batch_sizes"]
        sched.max_num_seqs = min(sched.max_num_seqs, max(buckets)) if sched.max_num_seqs else max(buckets)
        # Chunked prefill with a budget of one prefill chunk and a decode batch.
        sched.enable_chunked_prefill = True
        sched.max_num_batched_tokens = max(cfg["prefill_chunk_size"], sched.max_num_seqs) + sched.max_num_seqs
        sched.max_model_len = model_config.max_model_len
        sched.async_scheduling = False
        par.worker_cls = "vllm_rbln_sim.worker.RblnSimWorker"
        if par.distributed_executor_backend is None:
            par.distributed_executor_backend = "uni"
        model_config.enforce_eager = True
        from vllm.config import CompilationMode, CUDAGraphMode
        comp = vllm_config.compilation_config
        comp.mode = CompilationMode.NONE
        comp.cudagraph_mode = CUDAGraphMode.NONE
        comp.cudagraph_capture_sizes = []
        os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")
        logger.info("rbln artifact %s: max_seq_len %d, blocks of %d tokens, %d KV blocks, prefill "
                    "chunk %d, decode buckets %s", cfg["artifact_path"], max_len, bs,
                    cache.num_gpu_blocks_override, cfg["prefill_chunk_size"], buckets)
