"""Compiling decoders at full size: time and memory against the weight bytes.

    python bench/run_compile_scale_bench.py [--bin build/bin] [--workdir DIR] [--quick]

Two models, built with random weights streamed to disk by
bench/make_llama_decoder.py, compiled with rbln-compile for `atom` at fp16
(--max-seq-len=4096 --prefill-chunk-size=512) and deleted afterwards:

  llama3-8b   32 layers, hidden 4096, 32/8 heads, MLP 14336, vocabulary 128256,
              fp16 weights (16 GB), decode buckets 1,4,8: the weights stay
              memory-mapped from the model to the artifact
  llama-2l    2 layers of the same shape, vocabulary 32000, fp32 weights
              (2.8 GB) converted to fp16 once for every entry function

For each: build time and peak memory of the model writer, compile time
(and per GB of weights), peak anonymous memory and peak mapped-file memory of
the compiler (sampled from /proc every 20 ms), the artifact's weight pool, and
side by side the time `cp` takes to copy the model's weights (the floor for
writing them once). Exits non-zero when a target is missed:
  - compile time of llama3-8b <= 180 s
  - peak anonymous memory <= 1.2 x weight pool + 1 GiB (both models)
--quick runs llama-2l only. Writes bench/compile_scale.json.
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GiB = 1 << 30


def run_measured(cmd):
    """Runs cmd; returns (seconds, peak RssAnon bytes, peak RssFile bytes, output)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = {"anon": 0, "file": 0}

    def sample():
        path = f"/proc/{p.pid}/status"
        while p.poll() is None:
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("RssAnon:"):
                            peak["anon"] = max(peak["anon"], int(line.split()[1]) * 1024)
                        elif line.startswith("RssFile:"):
                            peak["file"] = max(peak["file"], int(line.split()[1]) * 1024)
            except OSError:
                break
            time.sleep(0.02)

    th = threading.Thread(target=sample)
    th.start()
    out = p.communicate()[0]
    th.join()
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{out[-3000:]}")
    return secs, peak["anon"], peak["file"], out


def measure(name, bindir, work, make_args, compile_args):
    model = work / f"{name}.onnx"
    print(f"[{name}] writing the model ...", flush=True)
    mk_s, mk_anon, _, out = run_measured([sys.executable, str(ROOT / "bench/make_llama_decoder.py"),
                                          str(model)] + make_args)
    params = float(re.search(r"([\d.]+)M parameters", out).group(1)) * 1e6
    data = Path(str(model) + ".data")
    src_bytes = data.stat().st_size
    # The peer: copying the weights once (page cache warm, as for the compile).
    t0 = time.perf_counter()
    shutil.copyfile(data, work / "copy.data")
    cp_s = time.perf_counter() - t0
    (work / "copy.data").unlink()
    print(f"[{name}] compiling ...", flush=True)
    art = work / f"{name}.rbln"
    c_s, anon, mapped, out = run_measured([str(bindir / "rbln-compile"), str(model), "-o", str(art),
                                           "--target=atom", "--dtype=fp16", "--max-seq-len=4096",
                                           "--prefill-chunk-size=512"] + compile_args)
    pool = int(re.search(r"(\d+) weight bytes", out).group(1))
    art_bytes = art.stat().st_size
    for f in (model, data, art):
        f.unlink()
    limit = 1.2 * pool + GiB
    r = dict(model=name, params=params, source_weight_bytes=src_bytes, make_seconds=round(mk_s, 1),
             make_peak_anon_bytes=mk_anon, cp_weights_seconds=round(cp_s, 1),
             compile_seconds=round(c_s, 1), compile_seconds_per_gb=round(c_s / (pool / 1e9), 2),
             weight_pool_bytes=pool, artifact_bytes=art_bytes, peak_anon_bytes=anon,
             peak_mapped_file_bytes=mapped, anon_limit_bytes=int(limit),
             anon_ok=anon <= limit)
    print(f"[{name}] {params / 1e9:.2f}B parameters, source {src_bytes / 1e9:.2f} GB written in "
          f"{mk_s:.1f} s (peak {mk_anon / GiB:.2f} GiB); cp of the weights {cp_s:.1f} s")
    print(f"[{name}] compile {c_s:.1f} s ({c_s / (pool / 1e9):.2f} s/GB), weight pool "
          f"{pool / 1e9:.2f} GB, peak anonymous {anon / GiB:.2f} GiB (limit {limit / GiB:.2f}), "
          f"peak mapped {mapped / GiB:.2f} GiB")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / "build" / "bin"))
    ap.add_argument("--workdir", default=None, help="where models and artifacts go (needs ~35 GB)")
    ap.add_argument("--quick", action="store_true", help="the 2-layer model only")
    ap.add_argument("--out", default=str(ROOT / "bench" / "compile_scale.json"))
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="rbln-scale-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    bindir = Path(a.bin)
    results = [measure("llama-2l", bindir, work, ["--layers", "2"], ["--decode-batch-sizes=1,8"])]
    if not a.quick:
        results.append(measure("llama3-8b", bindir, work,
                               ["--layers", "32", "--vocab", "128256", "--dtype", "float16"],
                               ["--decode-batch-sizes=1,4,8"]))
    failed = [r["model"] + ": peak anonymous memory" for r in results if not r["anon_ok"]]
    failed += [f"{r['model']}: compile {r['compile_seconds']} s > 180 s" for r in results
               if r["model"] == "llama3-8b" and r["compile_seconds"] > 180]
    Path(a.out).write_text(json.dumps({"results": results}, indent=1) + "\n")
    print(f"wrote {a.out}")
    if failed:
        sys.exit("MISSED: " + "; ".join(failed))


if __name__ == "__main__":
    main()
