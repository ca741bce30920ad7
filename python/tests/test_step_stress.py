"""The step API (rbln.StepRunner) under a random serving workload, as vLLM's
scheduler drives it: sequences arrive, prefill in chunks of any size at any
start, decode in mixed batches, fork with a shared prefix (copy-on-write of
the shared last block through copy_block), get preempted (blocks freed,
recomputed later), aborted or finished. A shadow block manager here checks
reference counts after every step, and every logits row the runner returns
must equal ONNX Runtime's for that sequence's tokens so far — a block handed
out twice, freed while held or copied wrongly changes some sequence's logits.
"""
import numpy as np
import rbln

from conftest import close


class Shadow:
    """Block ids with reference counts; block 0 is reserved (vLLM's null block)."""

    def __init__(self, n):
        self.refs = [1] + [0] * (n - 1)
        self.free = list(range(n - 1, 0, -1))

    def alloc(self):
        if not self.free:
            return None
        b = self.free.pop()
        assert self.refs[b] == 0, f"block {b} handed out while held"
        self.refs[b] = 1
        return b

    def release(self, b):
        assert self.refs[b] > 0, f"block {b} released twice"
        self.refs[b] -= 1
        if self.refs[b] == 0:
            self.free.append(b)

    def check(self, seqs):
        want = [1] + [0] * (len(self.refs) - 1)
        for s in seqs.values():
            for b in s["table"]:
                want[b] += 1
        assert want == self.refs, "reference counts differ from the live tables"
        assert sorted(self.free) == [b for b in range(1, len(self.refs)) if want[b] == 0]


def test_random_serving_workload_matches_onnxruntime(gpt2):
    art, ref = gpt2
    num_blocks = 12
    r = rbln.StepRunner(art, num_blocks=num_blocks)
    bs, max_len = r.config["block_size"], r.config["max_seq_len"]
    rng = np.random.default_rng(14)
    mgr = Shadow(num_blocks)
    seqs, next_id = {}, 0
    counts = dict(steps=0, rows=0, forks=0, cow=0, preempted=0, aborted=0, finished=0)

    def ensure_blocks(s, upto):
        """Blocks for positions < upto; copy-on-write of a shared last block."""
        first = s["done"] // bs
        if first < len(s["table"]) and mgr.refs[s["table"][first]] > 1 and s["done"] % bs:
            new = mgr.alloc()
            if new is None:
                return False
            r.copy_block(s["table"][first], new)
            mgr.release(s["table"][first])
            s["table"][first] = new
            counts["cow"] += 1
        while len(s["table"]) * bs < upto:
            b = mgr.alloc()
            if b is None:
                return False
            s["table"].append(b)
        return True

    def drop(sid):
        for b in seqs[sid]["table"]:
            mgr.release(b)
        del seqs[sid]

    for _ in range(200):
        # Arrivals and forks.
        if len(seqs) < 5 and rng.random() < 0.5:
            n = int(rng.integers(1, 40))
            seqs[next_id] = dict(tokens=rng.integers(0, ref.vocab, n).tolist(), done=0, table=[])
            next_id += 1
        live = [k for k, s in seqs.items() if s["done"] > 0]
        if live and rng.random() < 0.2:
            p = seqs[int(rng.choice(live))]
            child = dict(tokens=p["tokens"][:p["done"]], done=p["done"], table=list(p["table"]))
            for b in child["table"]:
                mgr.refs[b] += 1
            child["tokens"].append(int(rng.integers(0, ref.vocab)))  # its own next token
            seqs[next_id] = child
            next_id += 1
            counts["forks"] += 1
        # Schedule: each sequence a prefill chunk or its decode token.
        batch, ids = [], []
        for sid in list(seqs):
            if sid not in seqs or rng.random() < 0.3:
                continue
            s = seqs[sid]
            pending = len(s["tokens"]) - s["done"]
            n = int(rng.integers(1, pending + 1)) if pending > 1 else 1
            if not ensure_blocks(s, s["done"] + n):
                # Out of blocks: preempt this one (recomputed from scratch later).
                for b in s["table"]:
                    mgr.release(b)
                s["table"], s["done"] = [], 0
                counts["preempted"] += 1
                continue
            toks = s["tokens"][s["done"]:s["done"] + n]
            batch.append(rbln.StepSequence(toks, s["done"], list(s["table"])))
            ids.append(sid)
        mgr.check(seqs)
        if not batch:
            continue
        res = r.step(batch)
        counts["steps"] += 1
        for sid, q, logits in zip(ids, batch, res.logits):
            s = seqs[sid]
            s["done"] += len(q.tokens)
            counts["rows"] += 1
            want = ref.logits(s["tokens"][:s["done"]])[-1]
            assert close(logits, want), (sid, s["done"])
            if s["done"] == len(s["tokens"]):  # next token: any (a sampler's choice)
                s["tokens"].append(int(rng.integers(0, ref.vocab)))
        # Departures.
        for sid in list(seqs):
            s = seqs[sid]
            if len(s["tokens"]) >= max_len - 1 or (s["done"] and rng.random() < 0.05):
                drop(sid)
                counts["finished"] += 1
            elif rng.random() < 0.03:
                drop(sid)
                counts["aborted"] += 1
        mgr.check(seqs)

    for sid in list(seqs):
        drop(sid)
    mgr.check(seqs)
    assert len(mgr.free) == num_blocks - 1  # nothing leaked
    # The workload exercised what it claims to.
    assert counts["steps"] > 120 and counts["forks"] > 3 and counts["cow"] > 0, counts
    assert counts["preempted"] > 0 and counts["finished"] + counts["aborted"] > 3, counts
