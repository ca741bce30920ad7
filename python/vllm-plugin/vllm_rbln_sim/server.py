"""Starting vLLM's OpenAI-compatible server over a served directory on
127.0.0.1 (for tests and benchmarks): a free port, the health check, and
the server's log when it does not come up."""
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def openai_server(model_dir, timeout=300, extra_args=()):
    """Yields the server's base URL; stops the server on exit. Raises
    RuntimeError with the end of its log if it is not healthy in time."""
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir,
                             "--tokenizer", model_dir, "--host", "127.0.0.1", "--port", str(port),
                             "--seed", "0", *extra_args], stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ, VLLM_ENABLE_V1_MULTIPROCESSING="1"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                if urllib.request.urlopen(base + "/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise RuntimeError("the server did not start:\n" + log.read().decode(errors="replace")[-4000:])
            time.sleep(1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
