"""rbln.compile and rbln.Model against ONNX Runtime on the bundled MLP."""
import os

import numpy as np
import onnxruntime as ort
import pytest

import rbln
from conftest import ROOT

MLP = os.path.join(ROOT, "examples", "mlp", "mlp.onnx")


@pytest.mark.parametrize("target,dtype", [("atom", "fp32"), ("tiny", "fp16")])
def test_mlp_matches_onnxruntime(workdir, target, dtype):
    art = rbln.compile(MLP, workdir / f"mlp-{target}-{dtype}.rbln", target=target, dtype=dtype)
    m = rbln.Model(art)
    assert [s.name for s in m.inputs] == ["x"]
    x = np.random.default_rng(0).standard_normal(m.inputs[0].shape).astype(np.float32)
    got = m.run(x=x)["y"]
    want = ort.InferenceSession(MLP, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    if dtype == "fp32":
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    else:
        assert np.linalg.norm(got - want) / np.linalg.norm(want) <= 3e-3
    assert m.last_run_seconds > 0


def test_model_errors(workdir):
    art = rbln.compile(MLP, workdir / "mlp-errors.rbln", target="tiny")
    m = rbln.Model(art)
    with pytest.raises(rbln.InvalidInputError, match=r"shape \(2, 37\)"):
        m.run(x=np.zeros((2, 37), np.float32))
    with pytest.raises(rbln.InvalidInputError, match="is int64"):
        m.run(x=np.zeros((1, 37), np.int64))
    with pytest.raises(rbln.InvalidInputError, match="'x'.*missing"):
        m.run()
    with pytest.raises(rbln.InvalidInputError, match="no input named z"):
        m.run(x=np.zeros((1, 37), np.float32), z=1)
    with pytest.raises(rbln.LoadError, match="no such artifact"):
        rbln.Model(workdir / "missing.rbln")
    bad = workdir / "corrupt.rbln"
    data = bytearray(open(art, "rb").read())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(rbln.LoadError):
        rbln.Model(bad)
    with pytest.raises(rbln.LoadError, match="no function 'nope'"):
        rbln.Model(art, function="nope")


def test_compile_errors(workdir):
    bad = workdir / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(rbln.CompileError):
        rbln.compile(bad, workdir / "bad.rbln")
    with pytest.raises(rbln.CompileError, match="no such model"):
        rbln.compile(workdir / "absent.onnx")
