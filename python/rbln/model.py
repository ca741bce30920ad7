"""rbln.Model: run one function of a compiled artifact on numpy arrays."""
import ctypes
import os
from collections import namedtuple

import numpy as np

from . import _lib
from .errors import ExecutionError, InvalidInputError, LoadError

# bf16 and the 8-bit floats have no numpy type: their raw bits travel as
# uint16 / uint8 (view them with ml_dtypes' types).
_NP = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16, "i32": np.int32,
       "i64": np.int64, "i8": np.int8, "u8": np.uint8, "i1": np.bool_,
       "f8E4M3FN": np.uint8, "f8E5M2": np.uint8, "f8E4M3FNUZ": np.uint8, "f8E5M2FNUZ": np.uint8}

TensorSpec = namedtuple("TensorSpec", "name dtype shape")


class _Artifact:
    """A loaded .rbln (shared by the runtimes and LLM handles made from it)."""

    def __init__(self, path):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise LoadError(f"{path}: no such artifact")
        self.lib = _lib.lib()
        self.handle = self.lib.rbln_model_load(path.encode())
        if not self.handle:
            raise LoadError(_lib.last_error())
        self.path = path

    def __del__(self):
        if getattr(self, "handle", None):
            self.lib.rbln_model_destroy(self.handle)
            self.handle = None


class Model:
    """One entry function of an artifact on the simulator.

        m = rbln.Model("mlp.rbln")
        y = m.run(x=np.ones((1, 37), np.float32))["y"]
        m.last_run_seconds   # modeled device time of that run
    """

    def __init__(self, path, function="main"):
        self._artifact = _Artifact(path)
        lib = self._lib = self._artifact.lib
        self._rt = lib.rbln_runtime_create(self._artifact.handle, function.encode())
        if not self._rt:
            raise LoadError(_lib.last_error())
        self.function = function
        self.inputs = [self._info(lib.rbln_input_info, i) for i in range(lib.rbln_num_inputs(self._rt))]
        self.outputs = [self._info(lib.rbln_output_info, i) for i in range(lib.rbln_num_outputs(self._rt))]

    def _info(self, fn, i):
        info = _lib.TensorInfo()
        if fn(self._rt, i, ctypes.byref(info)) != 0:
            raise LoadError(_lib.last_error())
        dt = info.dtype.decode()
        return TensorSpec(info.name.decode(), np.dtype(_NP.get(dt, np.uint8)), tuple(info.dims[:info.rank]))

    def __del__(self):
        if getattr(self, "_rt", None):
            self._lib.rbln_runtime_destroy(self._rt)
            self._rt = None

    def run(self, *args, **kwargs):
        """Runs on the inputs (positionally or by name); returns {name: array}.
        Arrays are converted to the input's dtype only when that is exact
        (same kind); a shape or kind mismatch raises InvalidInputError."""
        if len(args) > len(self.inputs):
            raise InvalidInputError(f"{len(args)} inputs given; '{self.function}' takes {len(self.inputs)}")
        given = dict(zip([s.name for s in self.inputs], args))
        for k, v in kwargs.items():
            if k in given:
                raise InvalidInputError(f"input '{k}' given twice")
            given[k] = v
        unknown = set(given) - {s.name for s in self.inputs}
        if unknown:
            raise InvalidInputError(f"no input named {', '.join(sorted(unknown))}; inputs: "
                                    f"{', '.join(s.name for s in self.inputs)}")
        for i, spec in enumerate(self.inputs):
            if spec.name not in given:
                raise InvalidInputError(f"input '{spec.name}' {spec.shape} {spec.dtype} is missing")
            a = np.asarray(given[spec.name])
            if a.shape != spec.shape:
                raise InvalidInputError(f"input '{spec.name}' has shape {a.shape}; the artifact takes {spec.shape}")
            if a.dtype != spec.dtype:
                if a.dtype.kind != spec.dtype.kind:
                    raise InvalidInputError(f"input '{spec.name}' is {a.dtype}; the artifact takes {spec.dtype}")
                a = a.astype(spec.dtype)
            a = np.ascontiguousarray(a)
            if self._lib.rbln_set_input(self._rt, i, a.ctypes.data, a.nbytes) != 0:
                raise InvalidInputError(_lib.last_error())
        if self._lib.rbln_run(self._rt) != 0:
            raise ExecutionError(_lib.last_error())
        out = {}
        for i, spec in enumerate(self.outputs):
            n = ctypes.c_size_t()
            p = self._lib.rbln_get_output(self._rt, i, ctypes.byref(n))
            buf = ctypes.string_at(p, n.value)
            out[spec.name] = np.frombuffer(buf, spec.dtype).reshape(spec.shape).copy()
        return out

    @property
    def last_run_seconds(self):
        """Modeled device seconds of the last run (with the host launch)."""
        return self._lib.rbln_last_run_seconds(self._rt)
