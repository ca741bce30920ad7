"""ctypes bindings of the runtime's C API (runtime/include/rbln/runtime/rbln.h).

The library is found, in order, at $RBLN_LIBRARY, $RBLN_HOME/lib, the build
folder of the checkout this package sits in (build/lib), then the system's
library path. Tools (rbln-compile) likewise: $RBLN_HOME/bin, build/bin, PATH.
"""
import ctypes
import ctypes.util
import os
import shutil

from .errors import LibraryNotFoundError

_HERE = os.path.dirname(os.path.abspath(__file__))
_CHECKOUT_BUILD = os.path.normpath(os.path.join(_HERE, "..", "..", "build"))
_LIBNAME = "librbln_runtime.so"


def _candidates(sub, name):
    if os.environ.get("RBLN_HOME"):
        yield os.path.join(os.environ["RBLN_HOME"], sub, name)
    yield os.path.join(_CHECKOUT_BUILD, sub, name)


def find_tool(name):
    """Path of an rbln executable (rbln-compile, rbln-run)."""
    for p in _candidates("bin", name):
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(name)
    if p:
        return p
    raise LibraryNotFoundError(
        f"{name} not found: build rbln (scripts/setup.sh) or set RBLN_HOME to its build folder")


c_ll = ctypes.c_longlong
c_ll_p = ctypes.POINTER(c_ll)
c_int_p = ctypes.POINTER(ctypes.c_int)
c_float_p = ctypes.POINTER(ctypes.c_float)


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_char_p), ("rank", ctypes.c_int),
                ("dims", c_ll * 8)]


class Sampling(ctypes.Structure):
    _fields_ = [("max_new_tokens", ctypes.c_int), ("temperature", ctypes.c_float),
                ("top_k", ctypes.c_int), ("top_p", ctypes.c_float),
                ("seed", ctypes.c_ulonglong), ("stop_tokens", c_ll_p),
                ("num_stop_tokens", ctypes.c_size_t)]


class LlmOptions(ctypes.Structure):
    _fields_ = [("kv_memory_bytes", ctypes.c_size_t), ("num_blocks", c_ll),
                ("num_local_blocks", c_ll), ("sim_threads", ctypes.c_int),
                ("compute", ctypes.c_int)]


MAX_DECODE_BUCKETS = 32


class LlmInfo(ctypes.Structure):
    _fields_ = [("max_seq_len", c_ll), ("block_size", c_ll), ("prefill_chunk", c_ll),
                ("vocab_size", c_ll), ("num_layers", c_ll), ("num_blocks", c_ll),
                ("num_local_blocks", c_ll), ("kv_bytes_per_block", c_ll),
                ("local_kv_bytes_per_block", c_ll), ("sliding_window", c_ll),
                ("local_ring_blocks", c_ll), ("num_decode_buckets", ctypes.c_int),
                ("decode_buckets", c_ll * MAX_DECODE_BUCKETS)]


class StepSeq(ctypes.Structure):
    _fields_ = [("tokens", c_ll_p), ("num_tokens", ctypes.c_size_t), ("start", c_ll),
                ("block_table", c_int_p), ("block_table_len", ctypes.c_size_t),
                ("local_block_table", c_int_p), ("local_block_table_len", ctypes.c_size_t),
                ("all_logits", ctypes.c_int)]


class StepRun(ctypes.Structure):
    _fields_ = [("function", ctypes.c_char_p), ("rows", c_ll), ("padded", c_ll),
                ("device_seconds", ctypes.c_double)]


RBLN_OK, RBLN_ERROR, RBLN_INVALID_INPUT = 0, 1, 2

_SIGNATURES = {
    "rbln_model_load": ([ctypes.c_char_p], ctypes.c_void_p),
    "rbln_model_destroy": ([ctypes.c_void_p], None),
    "rbln_runtime_create": ([ctypes.c_void_p, ctypes.c_char_p], ctypes.c_void_p),
    "rbln_runtime_destroy": ([ctypes.c_void_p], None),
    "rbln_num_inputs": ([ctypes.c_void_p], ctypes.c_int),
    "rbln_num_outputs": ([ctypes.c_void_p], ctypes.c_int),
    "rbln_input_info": ([ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(TensorInfo)], ctypes.c_int),
    "rbln_output_info": ([ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(TensorInfo)], ctypes.c_int),
    "rbln_set_input": ([ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t], ctypes.c_int),
    "rbln_run": ([ctypes.c_void_p], ctypes.c_int),
    "rbln_get_output": ([ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_size_t)], ctypes.c_void_p),
    "rbln_last_run_seconds": ([ctypes.c_void_p], ctypes.c_double),
    "rbln_last_error": ([], ctypes.c_char_p),
    "rbln_llm_options_default": ([], LlmOptions),
    "rbln_llm_create_with": ([ctypes.c_void_p, ctypes.POINTER(LlmOptions)], ctypes.c_void_p),
    "rbln_llm_destroy": ([ctypes.c_void_p], None),
    "rbln_llm_get_info": ([ctypes.c_void_p, ctypes.POINTER(LlmInfo)], ctypes.c_int),
    "rbln_sampling_default": ([], Sampling),
    "rbln_llm_generate": ([ctypes.c_void_p, ctypes.POINTER(c_ll_p), ctypes.POINTER(ctypes.c_size_t),
                           ctypes.c_size_t, ctypes.POINTER(Sampling), c_ll_p,
                           ctypes.POINTER(ctypes.c_size_t)], ctypes.c_int),
    "rbln_llm_last_device_seconds": ([ctypes.c_void_p], ctypes.c_double),
    "rbln_llm_num_blocks": ([ctypes.c_void_p], ctypes.c_size_t),
    "rbln_llm_peak_blocks": ([ctypes.c_void_p], ctypes.c_size_t),
    "rbln_llm_step": ([ctypes.c_void_p, ctypes.POINTER(StepSeq), ctypes.c_size_t, c_float_p,
                       ctypes.c_size_t], ctypes.c_int),
    "rbln_llm_last_step_runs": ([ctypes.c_void_p, ctypes.POINTER(ctypes.c_double),
                                 ctypes.POINTER(ctypes.c_double)], ctypes.c_size_t),
    "rbln_llm_last_step_run": ([ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(StepRun)], ctypes.c_int),
    "rbln_llm_copy_block": ([ctypes.c_void_p, ctypes.c_int, ctypes.c_int], ctypes.c_int),
}

_lib = None


def lib():
    """The loaded runtime library, its functions typed."""
    global _lib
    if _lib is not None:
        return _lib
    paths = []
    if os.environ.get("RBLN_LIBRARY"):
        paths.append(os.environ["RBLN_LIBRARY"])
    paths += [p for p in _candidates("lib", _LIBNAME)]
    found = next((p for p in paths if os.path.isfile(p)), None) or ctypes.util.find_library("rbln_runtime")
    if not found:
        raise LibraryNotFoundError(
            f"{_LIBNAME} not found (looked at {', '.join(paths)} and the system's library path): "
            "build rbln (scripts/setup.sh), or set RBLN_HOME to its build folder or "
            "RBLN_LIBRARY to the library")
    l = ctypes.CDLL(found)
    for name, (args, res) in _SIGNATURES.items():
        f = getattr(l, name)
        f.argtypes = args
        f.restype = res
    _lib = l
    return l


def last_error():
    return lib().rbln_last_error().decode(errors="replace")
