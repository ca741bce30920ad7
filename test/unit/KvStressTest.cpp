//===- KvStressTest.cpp - The KV block manager against a shadow model -----===//
//
// Millions of random operations a serving scheduler performs on the block
// manager — add a sequence (with prefix sharing through the prefix cache),
// chunked prefill, decode, fork with a shared prefix, copy-on-write of a
// shared last block, finish, abort, preempt and resume, sliding-window rings —
// checked after every operation against a shadow model written here: the
// reference count of every block is the number of live tables holding it, a
// free block is held by none, nothing leaks when everything finishes. Tokens
// are written into a simulated cache through the block tables, so a block
// handed out twice or freed while held shows up as a sequence whose tokens
// changed.
//
//===----------------------------------------------------------------------===//
#include "rbln/runtime/Llm.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

using namespace rbln;

namespace {

constexpr int64_t kBlockSize = 4;

struct Seq {
  std::vector<int64_t> tokens;      ///< every token of the sequence
  int64_t cached = 0;               ///< tokens written to the cache
  std::vector<int32_t> table;       ///< global blocks
  std::vector<int32_t> ring;        ///< sliding-window ring (local blocks)
  bool preempted = false;
};

class Harness {
public:
  Harness(int64_t blocks, int64_t localBlocks, int64_t ringBlocks, uint32_t seed)
      : m(blocks), local(localBlocks), ringBlocks(ringBlocks), rng(seed),
        cache(size_t(blocks * kBlockSize), -1), localCache(size_t(localBlocks * kBlockSize), -1) {}

  BlockManager m, local;
  int64_t ringBlocks;
  std::mt19937_64 rng;
  std::vector<int64_t> cache, localCache; ///< token per KV slot
  std::map<int, Seq> seqs;
  int nextId = 0;
  uint64_t ops = 0, prefixHits = 0, cow = 0, preemptions = 0, oom = 0;

  int64_t pick(int64_t n) { return int64_t(rng() % uint64_t(n)); }

  static uint64_t prefixHash(const std::vector<int64_t> &t, int64_t end) {
    uint64_t h = 1469598103934665603ull;
    for (int64_t i = 0; i < end; ++i)
      h = (h ^ uint64_t(t[size_t(i)])) * 1099511628211ull;
    return h;
  }

  void releaseAll(Seq &s) {
    for (int32_t b : s.table)
      m.release(b);
    for (int32_t b : s.ring)
      local.release(b);
    s.table.clear();
    s.ring.clear();
    s.cached = 0;
  }

  /// Writes tokens [cached, cached + n) into the caches, allocating blocks
  /// (and copying a shared last block first); false when out of blocks.
  bool write(Seq &s, int64_t n) {
    if (s.ring.empty() && ringBlocks > 0) {
      for (int64_t i = 0; i < ringBlocks; ++i) {
        auto b = local.allocate();
        if (!b)
          return false;
        s.ring.push_back(*b);
      }
    }
    for (int64_t k = 0; k < n; ++k) {
      int64_t pos = s.cached;
      size_t lb = size_t(pos / kBlockSize);
      if (lb == s.table.size()) {
        // Prefix cache: a full block whose contents another sequence published.
        auto b = m.allocate();
        if (!b)
          return false;
        s.table.push_back(*b);
      } else if (m.refCount(s.table[lb]) > 1) {
        // Copy-on-write: the last block is shared with a fork.
        auto b = m.allocate();
        if (!b)
          return false;
        for (int64_t o = 0; o < kBlockSize; ++o)
          cache[size_t(*b * kBlockSize + o)] = cache[size_t(s.table[lb] * kBlockSize + o)];
        m.release(s.table[lb]);
        s.table[lb] = *b;
        ++cow;
      }
      cache[size_t(s.table[lb] * kBlockSize + pos % kBlockSize)] = s.tokens[size_t(pos)];
      if (!s.ring.empty()) {
        int32_t rb = s.ring[size_t((pos / kBlockSize) % ringBlocks)];
        localCache[size_t(rb * kBlockSize + pos % kBlockSize)] = s.tokens[size_t(pos)];
      }
      ++s.cached;
      if (s.cached % kBlockSize == 0)
        m.publish(prefixHash(s.tokens, s.cached), s.table[lb]);
    }
    return true;
  }

  /// Adds a sequence; shares the cached blocks of its prompt's prefix.
  void add() {
    Seq s;
    int64_t len = 1 + pick(24);
    // Prompts from a small alphabet with common prefixes, so sharing happens.
    for (int64_t i = 0; i < len; ++i)
      s.tokens.push_back(i < 8 && pick(4) ? i : pick(5));
    for (int64_t end = kBlockSize; end <= len - 1; end += kBlockSize) {
      auto b = m.lookup(prefixHash(s.tokens, end));
      if (!b)
        break;
      m.retain(*b);
      s.table.push_back(*b);
      s.cached = end;
      ++prefixHits;
    }
    if (!s.table.empty() && ringBlocks > 0) {
      // The window's ring is per sequence: rebuild it from position 0.
      for (int32_t b : s.table)
        m.release(b);
      s.table.clear();
      s.cached = 0;
      --prefixHits;
    }
    seqs[nextId++] = std::move(s);
  }

  /// Prefill a chunk, or decode one new token.
  void advance(Seq &s) {
    if (s.preempted)
      return;
    if (s.cached < int64_t(s.tokens.size())) {
      int64_t chunk = std::min<int64_t>(1 + pick(8), int64_t(s.tokens.size()) - s.cached);
      if (!write(s, chunk))
        preempt(s);
      return;
    }
    s.tokens.push_back(pick(50));
    if (!write(s, 1))
      preempt(s);
  }

  void preempt(Seq &s) {
    releaseAll(s);
    s.preempted = true;
    ++preemptions;
    ++oom;
  }

  void fork(const Seq &parent) {
    if (parent.preempted || ringBlocks > 0)
      return; // windows keep one ring per sequence (no forks)
    Seq c;
    c.tokens.assign(parent.tokens.begin(), parent.tokens.begin() + parent.cached);
    c.cached = parent.cached;
    c.table = parent.table;
    for (int32_t b : c.table)
      m.retain(b);
    seqs[nextId++] = std::move(c);
  }

  void step() {
    ++ops;
    int op = int(pick(100));
    if (seqs.empty() || op < 10) {
      if (seqs.size() < 24)
        add();
      return;
    }
    auto it = std::next(seqs.begin(), pick(int64_t(seqs.size())));
    Seq &s = it->second;
    if (op < 75) {
      advance(s);
    } else if (op < 82) {
      fork(s);
    } else if (op < 90) {
      if (s.preempted)
        s.preempted = false; // resume: recompute from the start
    } else if (op < 95 || s.tokens.size() > 40) {
      releaseAll(s); // finish
      seqs.erase(it);
    } else {
      releaseAll(s); // abort mid-prefill or mid-decode
      seqs.erase(it);
    }
  }

  /// The shadow model: reference counts from the live tables.
  void checkCounts() const {
    std::vector<int> want(size_t(m.numBlocks()), 0), wantLocal(size_t(local.numBlocks()), 0);
    for (const auto &[id, s] : seqs) {
      for (int32_t b : s.table)
        ++want[size_t(b)];
      for (int32_t b : s.ring)
        ++wantLocal[size_t(b)];
    }
    int64_t used = 0, usedLocal = 0;
    for (int32_t b = 1; b < m.numBlocks(); ++b) {
      ASSERT_EQ(m.refCount(b), want[size_t(b)]) << "block " << b << " after op " << ops;
      used += want[size_t(b)] > 0;
    }
    for (int32_t b = 1; b < local.numBlocks(); ++b) {
      ASSERT_EQ(local.refCount(b), wantLocal[size_t(b)]) << "local block " << b << " after op " << ops;
      usedLocal += wantLocal[size_t(b)] > 0;
    }
    ASSERT_EQ(m.numUsed(), used) << "after op " << ops;
    ASSERT_EQ(local.numUsed(), usedLocal) << "after op " << ops;
    ASSERT_EQ(m.refCount(0), 1) << "the reserved block was handed out";
  }

  /// Every cached token reads back through its table; the window's last
  /// ringBlocks - 1 blocks through the ring.
  void checkTokens() const {
    for (const auto &[id, s] : seqs)
      for (int64_t p = 0; p < s.cached; ++p) {
        int32_t b = s.table[size_t(p / kBlockSize)];
        ASSERT_EQ(cache[size_t(b * kBlockSize + p % kBlockSize)], s.tokens[size_t(p)])
            << "sequence " << id << " position " << p << " after op " << ops;
        if (!s.ring.empty() && p / kBlockSize > (s.cached - 1) / kBlockSize - ringBlocks) {
          int32_t rb = s.ring[size_t((p / kBlockSize) % ringBlocks)];
          ASSERT_EQ(localCache[size_t(rb * kBlockSize + p % kBlockSize)], s.tokens[size_t(p)])
              << "sequence " << id << " window position " << p << " after op " << ops;
        }
      }
  }
};

void stress(int64_t blocks, int64_t localBlocks, int64_t ring, uint64_t ops, uint32_t seed) {
  Harness h(blocks, localBlocks, ring, seed);
  for (uint64_t i = 0; i < ops; ++i) {
    h.step();
    ASSERT_NO_FATAL_FAILURE(h.checkCounts());
    if (i % 64 == 0)
      ASSERT_NO_FATAL_FAILURE(h.checkTokens());
  }
  ASSERT_NO_FATAL_FAILURE(h.checkTokens());
  // The operations happened (the test would pass vacuously otherwise).
  EXPECT_GT(h.prefixHits + (ring ? 1 : 0), 0u);
  EXPECT_GT(h.cow + (ring ? 1 : 0), 0u);
  EXPECT_GT(h.preemptions, 0u);
  for (auto &[id, s] : h.seqs)
    h.releaseAll(s);
  h.seqs.clear();
  // Nothing leaks: every block but the reserved one is free again.
  EXPECT_EQ(h.m.numFree(), blocks - 1);
  EXPECT_EQ(h.local.numFree(), std::max<int64_t>(localBlocks, 1) - 1);
}

} // namespace

TEST(KvStress, GlobalBlocksForksAndPrefixSharing) {
  // 1M operations over 48 blocks: allocation pressure, preemption, forks.
  stress(48, 1, 0, 1'000'000, 1);
}

TEST(KvStress, SlidingWindowRings) {
  stress(64, 3 * 8 + 1, 3, 500'000, 2);
}
