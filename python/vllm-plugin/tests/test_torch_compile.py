"""torch.compile(model, backend="rbln") against eager PyTorch, and the
artifact cache (hit, miss, corruption, concurrency, eviction, CLI)."""
import logging
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

import hf_models
from rbln import cache

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("RBLN_CACHE_DIR", str(tmp_path / "cache"))
    torch._dynamo.reset()
    caplog.set_level(logging.INFO, logger="rbln.torch")
    yield


def ran_on_rbln(caplog):
    msgs = [r.getMessage() for r in caplog.records if r.name == "rbln.torch"]
    return any("built" in m or "cache hit" in m for m in msgs) and not any("eagerly" in m for m in msgs)


class Attn(torch.nn.Module):
    """A projection, SDPA in one of its forms, a projection."""

    def __init__(self, kind, heads=4, kv_heads=4, dim=32):
        super().__init__()
        self.kind, self.heads, self.kv_heads = kind, heads, kv_heads
        self.q = torch.nn.Linear(dim, dim)
        self.o = torch.nn.Linear(dim, dim)

    def forward(self, x, k, v, mask):
        b, s, d = x.shape
        q = self.q(x).view(b, s, self.heads, d // self.heads).transpose(1, 2)
        kw = {}
        if self.kind == "causal":
            kw["is_causal"] = True
        elif self.kind in ("bool", "float"):
            kw["attn_mask"] = mask
        elif self.kind == "gqa":
            kw["enable_gqa"] = True
        y = F.scaled_dot_product_attention(q, k, v, **kw)
        return self.o(y.transpose(1, 2).reshape(b, s, d))


def attn_inputs(kind, s=24, heads=4, kv_heads=4, hd=8):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, s, heads * hd, generator=g)
    k = torch.randn(1, kv_heads, s, hd, generator=g)
    v = torch.randn(1, kv_heads, s, hd, generator=g)
    if kind == "bool":
        mask = torch.rand(1, 1, s, s, generator=g) > 0.3
        mask[..., 0] = True  # every row attends somewhere
    else:
        mask = torch.randn(1, 1, s, s, generator=g)
    return x, k, v, mask


@pytest.mark.parametrize("kind", ["causal", "bool", "float", "none", "gqa"])
def test_sdpa_forms_match_eager(kind, caplog):
    torch.manual_seed(0)
    kv = 2 if kind == "gqa" else 4
    m = Attn(kind, kv_heads=kv).eval()
    args = attn_inputs(kind, kv_heads=kv)
    with torch.no_grad():
        want = m(*args)
        got = torch.compile(m, backend="rbln", dynamic=False)(*args)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert ran_on_rbln(caplog)


def test_fp16_compute(caplog):
    torch.manual_seed(0)
    m = Attn("causal").eval()
    args = attn_inputs("causal")
    with torch.no_grad():
        want = m(*args)
        got = torch.compile(m, backend="rbln", dynamic=False, options={"dtype": "fp16"})(*args)
    assert got.dtype == torch.float32
    assert float((got - want).norm() / want.norm()) <= 3e-3
    assert ran_on_rbln(caplog)


@pytest.mark.parametrize("name", sorted(hf_models.CLASSES))
def test_transformers_forward_matches_eager(name, caplog):
    """Each family's forward without cache, compiled as one graph."""
    torch.manual_seed(0)
    model = hf_models.CLASSES[name](hf_models.configs()[name]).eval()
    ids = torch.randint(0, hf_models.VOCAB, (1, 24), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = model(input_ids=ids, use_cache=False).logits
        got = torch.compile(model, backend="rbln", dynamic=False)(input_ids=ids, use_cache=False).logits
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert ran_on_rbln(caplog)


def test_unsupported_graph_falls_back_with_a_reason(caplog):
    class Odd(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.qr(x)[0]  # no rbln kernel for QR
    x = torch.randn(8, 8)
    got = torch.compile(Odd(), backend="rbln", dynamic=False)(x)
    torch.testing.assert_close(got, torch.linalg.qr(x)[0])
    assert any("running a graph eagerly" in r.getMessage() for r in caplog.records)


SCRIPT = textwrap.dedent("""
    import logging, sys, time, torch
    sys.path.insert(0, {tests!r})
    import hf_models
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("rbln.torch").setLevel(logging.INFO)
    torch.manual_seed(0)
    model = hf_models.CLASSES["llama"](hf_models.configs()["llama"]).eval()
    ids = torch.arange(24).view(1, 24)
    t = time.time()
    with torch.no_grad():
        out = torch.compile(model, backend="rbln", dynamic=False)(input_ids=ids, use_cache=False).logits
        ref = model(input_ids=ids, use_cache=False).logits
    print("FIRST_CALL %.3f" % (time.time() - t))
    print("MAXDIFF %.3g" % (out - ref).abs().max().item())
""")


def run_script(tmp_path, env_extra=None):
    path = tmp_path / "llama_compile.py"
    path.write_text(SCRIPT.format(tests=os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=600)


def first_call(r):
    assert r.returncode == 0, r.stderr[-2000:]
    assert float(r.stdout.split("MAXDIFF")[1]) < 1e-4
    return float(r.stdout.split("FIRST_CALL")[1].split()[0])


def test_cold_then_warm_start_skips_the_build(tmp_path):
    cold = run_script(tmp_path)
    assert "built" in cold.stderr and "cache hit" not in cold.stderr
    warm = run_script(tmp_path)
    assert "cache hit" in warm.stderr and "built" not in warm.stderr
    t_cold, t_warm = first_call(cold), first_call(warm)
    print(f"Llama-shaped model, first call: cold {t_cold:.2f} s, warm {t_warm:.2f} s")
    assert t_warm < t_cold


def test_corrupt_entry_is_rebuilt(tmp_path):
    first_call(run_script(tmp_path))
    (key, *_), = cache.entries()
    art = os.path.join(cache.cache_dir(), key, "model.rbln")
    data = open(art, "rb").read()
    open(art, "wb").write(data[: len(data) // 2])  # truncated
    r = run_script(tmp_path)
    first_call(r)
    assert "unusable" in r.stderr and "built" in r.stderr
    assert [e[0] for e in cache.entries()] == [key]


def test_two_processes_compiling_the_same_graph(tmp_path):
    path = tmp_path / "llama_compile.py"
    path.write_text(SCRIPT.format(tests=os.path.dirname(os.path.abspath(__file__))))
    procs = [subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        first_call(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    assert len(cache.entries()) == 1
    assert not [f for f in os.listdir(cache.cache_dir()) if f.startswith(".")]  # no half-written entry


def test_eviction_and_cli(tmp_path, monkeypatch):
    for kind in ("causal", "none"):
        torch._dynamo.reset()
        m = Attn(kind).eval()
        with torch.no_grad():
            torch.compile(m, backend="rbln", dynamic=False)(*attn_inputs(kind))
    assert len(cache.entries()) == 2
    listing = subprocess.run([sys.executable, "-m", "rbln.cache", "list"], capture_output=True, text=True)
    assert "2 entries" in listing.stdout
    one = cache.entries()[-1][1]
    monkeypatch.setenv("RBLN_CACHE_SIZE", str(one))  # room for one: the least recently used goes
    newest = cache.entries()[-1][0]
    cache.evict()
    assert [e[0] for e in cache.entries()] == [newest]
    r = subprocess.run([sys.executable, "-m", "rbln.cache", "clear"], capture_output=True, text=True)
    assert "removed 1 entries" in r.stdout and cache.entries() == []
