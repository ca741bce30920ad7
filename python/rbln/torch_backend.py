"""`torch.compile(model, backend="rbln")`: FX graphs from dynamo run on the
rbln simulator.

Each graph dynamo hands over (static shapes: a new shape is a new graph) is
exported by torch's ONNX exporter with its parameters as initializers,
compiled by rbln-compile — or found in the artifact cache (rbln.cache), which
skips the export's compile entirely on a warm start — and run on the
simulator; outputs come back as torch tensors. A graph that cannot be
exported or compiled runs eagerly, with the reason logged (logger
"rbln.torch"). Options: torch.compile(m, backend="rbln",
options={"target": "atom", "dtype": "fp16"}).
"""
import hashlib
import logging
import os
import tempfile
import time

import torch
from torch.utils import _pytree as pytree

from . import cache
from ._lib import find_tool
from .compiler import compile as rbln_compile
from .errors import LoadError
from .model import Model

log = logging.getLogger("rbln.torch")
_compiler_id = None


def _compiler_identity():
    """The compiler binary's hash: a rebuilt compiler misses the cache."""
    global _compiler_id
    if _compiler_id is None:
        h = hashlib.sha256()
        with open(find_tool("rbln-compile"), "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _compiler_id = h.hexdigest()[:16]
    return _compiler_id


def _is_static(node, value):
    return isinstance(value, torch.nn.Parameter) or "_buffers_" in node.name or "_parameters_" in node.name


class _Bound(torch.nn.Module):
    """The graph with its parameters and buffers held as constants, taking
    only the call's own inputs (so the weights become ONNX initializers)."""

    def __init__(self, gm, consts, order):
        super().__init__()
        self.gm = gm
        self.order = order  # per graph input: ("c", k) a constant, ("x", k) the k-th call input
        for k, t in enumerate(consts):
            self.register_buffer(f"c{k}", t.detach().clone(), persistent=True)

    def forward(self, *xs):
        args = [getattr(self, f"c{k}") if kind == "c" else xs[k] for kind, k in self.order]
        return self.gm(*args)


def _build(gm, example_inputs, opts):
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(example_inputs):
        raise RuntimeError("graph inputs and example inputs differ in number")
    if not all(isinstance(x, torch.Tensor) for x in example_inputs):
        raise RuntimeError("a graph input is not a tensor (symbolic sizes: compile with dynamic=False)")
    consts, order, dyn_idx = [], [], []
    for n, x in zip(placeholders, example_inputs):
        if _is_static(n, x):
            order.append(("c", len(consts)))
            consts.append(x)
        else:
            order.append(("x", len(dyn_idx)))
            dyn_idx.append(len(order) - 1)
    bound = _Bound(gm, consts, order).eval()
    dyn = tuple(example_inputs[i].detach() for i in dyn_idx)
    # The key: the graph's code, the call's shapes and dtypes, the constants'
    # bytes, the options and the compiler — known before anything is exported.
    h = hashlib.sha256(gm.code.encode())
    for t in dyn:
        h.update(f"{tuple(t.shape)}{t.dtype};".encode())
    for t in consts:
        h.update(f"{tuple(t.shape)}{t.dtype};".encode())
        h.update(t.detach().contiguous().cpu().view(-1).view(torch.uint8).numpy().tobytes())
    key_opts = dict(opts, compiler=_compiler_identity())
    key = cache.make_key(h.digest(), key_opts)
    model = meta = None
    path = cache.lookup(key)
    if path:
        meta = dict(next((e[3] for e in cache.entries() if e[0] == key), {}))
        try:
            model = Model(path)
            spec = pytree.treespec_loads(meta["treespec"])
            out_dtypes = [getattr(torch, d) for d in meta["out_dtypes"]]
            log.info("rbln: cache hit %s: export and compile skipped (they took %.2f s)", key,
                     meta.get("build_seconds", 0.0))
        except (LoadError, KeyError, ValueError) as e:
            log.warning("rbln: cache entry %s is unusable (%s); building it again", key, e)
            cache.remove(key)
            model = None
    if model is None:
        t0 = time.time()
        with torch.no_grad():
            leaves, spec = pytree.tree_flatten(bound(*dyn))
        if not leaves or not all(isinstance(t, torch.Tensor) for t in leaves):
            raise RuntimeError("the graph returns something other than tensors")
        out_dtypes = [t.dtype for t in leaves]
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = os.path.join(tmp, "graph.onnx")
            with torch.no_grad():
                torch.onnx.export(bound, dyn, onnx_path, input_names=[f"in{i}" for i in range(len(dyn))],
                                  output_names=[f"out{i}" for i in range(len(leaves))], dynamo=True,
                                  opset_version=18, external_data=False, verbose=False)
            export_s = time.time() - t0

            def build(out):
                rbln_compile(onnx_path, out, target=opts["target"], dtype=opts["dtype"])
            info = {"what": f"{[tuple(t.shape) for t in dyn]} -> {[tuple(t.shape) for t in leaves]}",
                    "treespec": pytree.treespec_dumps(spec),
                    "out_dtypes": [str(d).replace("torch.", "") for d in out_dtypes], **key_opts}
            t1 = time.time()
            path = cache.store(key, build, meta=dict(info, build_seconds=0.0))
            cache.set_meta(key, build_seconds=time.time() - t0)
        log.info("rbln: built %s: export %.2f s, compile %.2f s", key, export_s, time.time() - t1)
        model = Model(path)
    names = [s.name for s in model.inputs]

    def run(*args):
        feeds = {}
        for k, i in enumerate(dyn_idx):
            name = f"in{k}"
            if name in names:
                feeds[name] = args[i].detach().cpu().numpy()
        out = model.run(**feeds)
        tensors = [torch.from_numpy(out[f"out{k}"]).to(dt) for k, dt in enumerate(out_dtypes)]
        return pytree.tree_unflatten(tensors, spec)
    run.rbln_key = key
    return run


def rbln_backend(gm, example_inputs, options=None):
    """The dynamo backend (registered as "rbln")."""
    opts = {"target": "atom", "dtype": "fp32"}
    opts.update(options or {})
    try:
        return _build(gm, example_inputs, opts)
    except Exception as e:  # the graph still runs, eagerly
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        log.warning("rbln: running a graph eagerly: %s", reason[:300])
        return gm.forward


def register():
    """Makes backend="rbln" known where the package's torch_dynamo_backends
    entry point is not installed (e.g. python/ on sys.path only)."""
    from torch._dynamo.backends.registry import _BACKENDS, register_backend
    if "rbln" not in _BACKENDS:
        register_backend(rbln_backend, name="rbln")
