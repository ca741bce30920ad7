"""The artifact cache: compiled .rbln files keyed by what determines them.

A key hashes the exported program with its weights, the target, the compile
options and the compiler's version. Entries live in $RBLN_CACHE_DIR (default
~/.cache/rbln), one folder per key; a write goes to a temporary folder renamed
into place, so two processes compiling the same key never corrupt an entry (the
later rename finds the entry there and keeps it). An entry whose artifact fails
its checksums on load is removed and compiled again. The size is bounded
($RBLN_CACHE_SIZE bytes, default 20 GiB): least recently used entries go first.

    python -m rbln.cache list | clear
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

DEFAULT_LIMIT = 20 << 30


def cache_dir():
    return os.environ.get("RBLN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "rbln")


def limit_bytes():
    return int(os.environ.get("RBLN_CACHE_SIZE", DEFAULT_LIMIT))


def make_key(program_bytes, options):
    h = hashlib.sha256()
    h.update(program_bytes)
    h.update(json.dumps(options, sort_keys=True).encode())
    return h.hexdigest()[:32]


def lookup(key):
    """The cached artifact's path, or None; a hit marks the entry used."""
    path = os.path.join(cache_dir(), key, "model.rbln")
    if not os.path.isfile(path):
        return None
    now = time.time()
    os.utime(os.path.join(cache_dir(), key), (now, now))
    return path


def remove(key):
    shutil.rmtree(os.path.join(cache_dir(), key), ignore_errors=True)


def store(key, build, meta=None):
    """Runs build(path) to write an artifact, then publishes it atomically
    under `key`; returns the published artifact's path."""
    root = cache_dir()
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{key}-", dir=root)
    try:
        build(os.path.join(tmp, "model.rbln"))
        with open(os.path.join(tmp, "entry.json"), "w") as f:
            json.dump(dict(meta or {}, key=key, created=time.time()), f)
        try:
            os.rename(tmp, os.path.join(root, key))
        except OSError:  # another process published it first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    evict()
    return os.path.join(root, key, "model.rbln")


def set_meta(key, **fields):
    """Adds fields to an entry's metadata (entry.json)."""
    path = os.path.join(cache_dir(), key, "entry.json")
    try:
        meta = json.load(open(path))
    except (OSError, ValueError):
        return
    meta.update(fields)
    tmp = path + f".{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(meta, f)
    os.replace(tmp, path)


def entries():
    """(key, bytes, last use, metadata) of every entry, oldest use first."""
    root = cache_dir()
    out = []
    if not os.path.isdir(root):
        return out
    for key in os.listdir(root):
        d = os.path.join(root, key)
        if key.startswith(".") or not os.path.isdir(d):
            continue
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        try:
            meta = json.load(open(os.path.join(d, "entry.json")))
        except (OSError, ValueError):
            meta = {}
        out.append((key, size, os.path.getmtime(d), meta))
    return sorted(out, key=lambda e: e[2])


def evict():
    items = entries()
    total = sum(e[1] for e in items)
    for key, size, _, _ in items:
        if total <= limit_bytes():
            break
        remove(key)
        total -= size


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["list"]:
        items = entries()
        for key, size, used, meta in items:
            print(f"{key}  {size / 1e6:9.2f} MB  {time.strftime('%Y-%m-%d %H:%M', time.localtime(used))}  "
                  f"{meta.get('what', '')}")
        print(f"{len(items)} entries, {sum(e[1] for e in items) / 1e6:.2f} MB in {cache_dir()} "
              f"(limit {limit_bytes() / 1e9:.1f} GB)")
        return 0
    if argv[:1] == ["clear"]:
        n = len(entries())
        shutil.rmtree(cache_dir(), ignore_errors=True)
        print(f"removed {n} entries from {cache_dir()}")
        return 0
    print("usage: python -m rbln.cache list | clear", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
