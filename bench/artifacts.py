"""Benchmarks keep compiled artifacts in their work folders between runs; one
is stale when its model or the compiler (rbln-compile and the libraries it
loads from the build) is newer than it."""
from pathlib import Path


def compiler_mtime(binp):
    binp = Path(binp)
    files = [binp / "rbln-compile", *(binp.parent / "lib").glob("*.so*")]
    return max((f.stat().st_mtime for f in files if f.exists()), default=0.0)


def stale(artifact, model, binp):
    artifact = Path(artifact)
    if not artifact.exists():
        return True
    built = artifact.stat().st_mtime
    return built < Path(model).stat().st_mtime or built < compiler_mtime(binp)
