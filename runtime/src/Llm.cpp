//===- Llm.cpp - Paged KV blocks, scheduling and sampling -----------------===//
#include "rbln/runtime/Llm.h"


#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <numeric>
#include <random>

namespace rbln {

// --- BlockManager --------------------------------------------------------------

BlockManager::BlockManager(int64_t numBlocks) : refs_(size_t(std::max<int64_t>(numBlocks, 1)), 0) {
  refs_[0] = 1; // reserved
  for (int64_t b = int64_t(refs_.size()) - 1; b >= 1; --b)
    free_.push_back(int32_t(b)); // lowest ids first
}

std::optional<int32_t> BlockManager::allocate() {
  if (free_.empty())
    return std::nullopt;
  int32_t b = free_.back();
  free_.pop_back();
  refs_[size_t(b)] = 1;
  return b;
}

void BlockManager::retain(int32_t block) { ++refs_[size_t(block)]; }

void BlockManager::release(int32_t block) {
  if (block <= 0 || --refs_[size_t(block)] > 0)
    return;
  if (auto h = hashOf_.find(block); h != hashOf_.end()) {
    cached_.erase(h->second);
    hashOf_.erase(h);
  }
  free_.push_back(block);
}

std::optional<int32_t> BlockManager::lookup(uint64_t prefixHash) const {
  auto it = cached_.find(prefixHash);
  if (it == cached_.end())
    return std::nullopt;
  return it->second;
}

void BlockManager::publish(uint64_t prefixHash, int32_t block) {
  if (cached_.count(prefixHash) || hashOf_.count(block))
    return;
  cached_[prefixHash] = block;
  hashOf_[block] = prefixHash;
}

// --- LlmEngine -------------------------------------------------------------------

namespace {
uint64_t mix(uint64_t h, uint64_t v) { // splitmix64 over a running hash
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
double elapsed(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
} // namespace

struct LlmEngine::Seq {
  size_t index = 0;
  std::vector<int64_t> tokens; ///< prompt, then generated
  size_t promptLen = 0;
  std::vector<int32_t> blocks;
  std::vector<int32_t> ring; ///< sliding-window layers' blocks, reused in turn
  bool finished = false;
  SequenceOutput out;
  std::mt19937_64 rng;
};

LlmEngine::~LlmEngine() = default;

const proto::LlmConfig &LlmEngine::config() const { return runner_->config(); }

Expected<std::unique_ptr<LlmEngine>> LlmEngine::create(std::shared_ptr<Artifact> artifact,
                                                       const LlmOptions &opts) {
  StepRunnerOptions ro;
  ro.kvMemoryBytes = opts.kvMemoryBytes;
  ro.numBlocks = opts.numBlocks;
  ro.numLocalBlocks = opts.numLocalBlocks;
  ro.session = opts.session;
  auto r = LlmStepRunner::create(std::move(artifact), ro);
  if (!r.ok())
    return r.status();
  std::unique_ptr<LlmEngine> e(new LlmEngine());
  e->runner_ = std::move(*r);
  e->blocks_ = BlockManager(std::max<int64_t>(e->runner_->numBlocks(), 1));
  e->localBlocks_ = BlockManager(std::max<int64_t>(e->runner_->numLocalBlocks(), 1));
  return e;
}

namespace {
/// The chained hashes naming the first `n` full blocks of `tokens` (the
/// prefix cache's keys: a block's hash covers every token up to its end).
std::vector<uint64_t> prefixHashes(const std::vector<int64_t> &tokens, int64_t n, int64_t bs) {
  std::vector<uint64_t> out;
  uint64_t h = 0;
  for (int64_t b = 0; (b + 1) * bs <= n; ++b) {
    for (int64_t i = b * bs; i < (b + 1) * bs; ++i)
      h = mix(h, uint64_t(tokens[size_t(i)]));
    out.push_back(h);
  }
  return out;
}
} // namespace

Expected<StepOutput> LlmEngine::runStep(const std::vector<Seq *> &batch, bool prefill,
                                        int64_t start, int64_t limit) {
  const proto::LlmConfig &c = config();
  int64_t width = c.max_seq_len() / c.block_size();
  std::vector<StepSequence> step(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Seq &q = *batch[i];
    StepSequence &s = step[i];
    s.start = prefill ? start : int64_t(q.tokens.size()) - 1;
    int64_t end = prefill ? std::min<int64_t>(int64_t(q.tokens.size()), start + limit)
                          : int64_t(q.tokens.size());
    s.tokens.assign(q.tokens.begin() + s.start, q.tokens.begin() + end);
    s.blockTable = q.blocks;
    // A sliding-window layer's logical block b lives in ring[b % R].
    for (int64_t b = 0; !q.ring.empty() && b < width; ++b)
      s.localBlockTable.push_back(q.ring[size_t(b) % q.ring.size()]);
  }
  return runner_->step(step);
}

namespace {
int64_t sample(const std::vector<float> &logits, const SamplingOptions &o, std::mt19937_64 &rng) {
  size_t n = logits.size();
  if (o.temperature <= 0) // greedy: the first maximum, as numpy.argmax
    return int64_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return logits[a] > logits[b]; });
  size_t keep = o.topK > 0 ? std::min(n, size_t(o.topK)) : n;
  std::vector<double> p(keep);
  double mx = logits[idx[0]], sum = 0;
  for (size_t i = 0; i < keep; ++i)
    sum += p[i] = std::exp((double(logits[idx[i]]) - mx) / o.temperature);
  if (o.topP < 1) { // the smallest prefix whose mass reaches top_p
    double acc = 0;
    size_t k = 0;
    while (k < keep && acc < o.topP * sum)
      acc += p[k++];
    keep = std::max<size_t>(k, 1);
    p.resize(keep);
  }
  std::discrete_distribution<size_t> d(p.begin(), p.end());
  return int64_t(idx[d(rng)]);
}
} // namespace

Expected<std::vector<SequenceOutput>>
LlmEngine::generate(const std::vector<std::vector<int64_t>> &prompts, const SamplingOptions &opts,
                    GenerateStats *statsOut, const std::function<void(const StepInfo &)> &onStep) {
  const proto::LlmConfig &c = config();
  auto t0 = std::chrono::steady_clock::now();
  int64_t bs = c.block_size(), chunk = c.prefill_chunk(), maxLen = c.max_seq_len();
  int64_t maxBatch = runner_->decodeBuckets().back();
  // Validate every prompt before touching any cache.
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty())
      return makeInvalidInput("prompt {} is empty", i);
    if (int64_t(prompts[i].size()) > maxLen)
      return makeInvalidInput("prompt {} has {} tokens; the model was compiled for --max-seq-len={}", i,
                       prompts[i].size(), maxLen);
    for (int64_t t : prompts[i])
      if (t < 0 || t >= c.vocab_size())
        return makeInvalidInput("prompt {}: token id {} is outside the vocabulary [0, {})", i, t,
                         c.vocab_size());
  }
  std::vector<Seq> seqs(prompts.size());
  std::deque<Seq *> waiting;
  for (size_t i = 0; i < prompts.size(); ++i) {
    seqs[i].index = i;
    seqs[i].tokens = prompts[i];
    seqs[i].promptLen = prompts[i].size();
    seqs[i].rng.seed(opts.seed + i);
    waiting.push_back(&seqs[i]);
  }
  GenerateStats st;
  st.numBlocks = blocks_.numBlocks();
  st.numLocalBlocks = hasLocalLayers() ? localBlocks_.numBlocks() : 0;
  bool global = hasGlobalLayers();
  int64_t ringSize = hasLocalLayers() ? c.local_ring_blocks() : 0;
  st.blockSize = bs;
  double liveSlots = 0, allocSlots = 0;
  std::vector<Seq *> running;
  Seq *prefilling = nullptr;
  int64_t prefillAt = 0;
  auto releaseAll = [&](Seq &s) {
    for (int32_t b : s.blocks)
      blocks_.release(b);
    for (int32_t b : s.ring)
      localBlocks_.release(b);
    s.ring.clear();
    s.blocks.clear();
  };
  auto stepStart = std::chrono::steady_clock::now();
  auto step = [&](const char *kind, int64_t n, int64_t bucket, double secs) {
    st.peakBlocksInUse = std::max(st.peakBlocksInUse, blocks_.numUsed());
    st.peakLocalBlocksInUse = std::max(st.peakLocalBlocksInUse, ringSize ? localBlocks_.numUsed() : 0);
    if (onStep)
      onStep({kind, n, bucket, secs, elapsed(stepStart), blocks_.numUsed(),
              ringSize ? localBlocks_.numUsed() : 0});
  };
  auto finish = [&](Seq &s, int64_t tok) {
    s.tokens.push_back(tok);
    s.out.tokens.push_back(tok);
    ++st.generatedTokens;
    if (std::find(opts.stopTokens.begin(), opts.stopTokens.end(), tok) != opts.stopTokens.end())
      s.out.finish = "stop";
    else if (int64_t(s.out.tokens.size()) >= opts.maxNewTokens)
      s.out.finish = "length";
    else if (int64_t(s.tokens.size()) >= maxLen)
      s.out.finish = "max-seq-len";
    if (!s.out.finish.empty()) {
      s.finished = true;
      releaseAll(s);
    }
  };
  // Preempts the most recently admitted running sequence; false if none.
  auto preemptOne = [&](Seq *keep) {
    for (auto it = running.rbegin(); it != running.rend(); ++it) {
      if (*it == keep)
        continue;
      Seq *v = *it;
      releaseAll(*v);
      ++v->out.preemptions;
      ++st.preemptions;
      running.erase(std::next(it).base());
      waiting.push_front(v);
      return true;
    }
    return false;
  };
  if (opts.maxNewTokens <= 0)
    for (Seq &s : seqs)
      s.finished = true, s.out.finish = "length";

  while (true) {
    waiting.erase(std::remove_if(waiting.begin(), waiting.end(), [](Seq *s) { return s->finished; }),
                  waiting.end());
    // Admit the next waiting sequence: share its cached prefix blocks, take
    // blocks for the rest of its prompt.
    if (!prefilling && !waiting.empty() && int64_t(running.size()) < maxBatch) {
      Seq &s = *waiting.front();
      int64_t n = int64_t(s.tokens.size());
      std::vector<int32_t> shared;
      // Shared prefixes need every layer's K/V of the prefix: not with
      // sliding-window layers, whose rings hold only a window.
      if (opts.sharePrefixes && !ringSize)
        for (uint64_t h : prefixHashes(s.tokens, n, bs)) {
          auto blk = blocks_.lookup(h);
          if (!blk)
            break;
          shared.push_back(*blk);
        }
      // Recompute at least the last token (its logits are needed).
      int64_t start = std::min<int64_t>(int64_t(shared.size()) * bs, n - 1);
      int64_t need = global ? ceilDiv(n, bs) - int64_t(shared.size()) : 0;
      // The last shared block is written when the last token is recomputed
      // in it: copy it first (copy-on-write).
      bool cow = !shared.empty() && start < int64_t(shared.size()) * bs;
      need += cow ? 1 : 0;
      // Running sequences are not preempted to admit a new one: it waits.
      if (blocks_.numFree() < need || localBlocks_.numFree() < ringSize) {
        // (Only global blocks can run short: there is a ring for every
        // sequence of the largest batch.)
        if (running.empty())
          return makeError("prompt {} needs {} KV blocks; only {} exist (raise --kv-memory)",
                           s.index, need + int64_t(shared.size()), blocks_.numBlocks() - 1);
      } else {
        waiting.pop_front();
        for (int32_t b : shared)
          blocks_.retain(b);
        s.blocks = shared;
        if (cow) {
          int32_t fresh = *blocks_.allocate();
          RBLN_RETURN_IF_ERROR(runner_->copyBlock(s.blocks.back(), fresh));
          blocks_.release(s.blocks.back());
          s.blocks.back() = fresh;
        }
        while (global && int64_t(s.blocks.size()) < ceilDiv(n, bs))
          s.blocks.push_back(*blocks_.allocate());
        for (int64_t k = 0; k < ringSize; ++k)
          s.ring.push_back(*localBlocks_.allocate());
        s.out.cachedPromptTokens = start;
        prefilling = &s;
        prefillAt = start;
      }
    }
    // One prefill chunk.
    if (prefilling) {
      Seq &s = *prefilling;
      bool last = prefillAt + chunk >= int64_t(s.tokens.size());
      stepStart = std::chrono::steady_clock::now();
      auto o = runStep({&s}, true, prefillAt, chunk);
      if (!o.ok())
        return o.status();
      st.deviceSeconds += o->deviceSeconds;
      ++st.prefillSteps;
      step("prefill", 1, 1, o->deviceSeconds);
      prefillAt += chunk;
      if (last) {
        std::vector<float> logits(o->row(0), o->row(0) + o->vocab);
        // Publish the prompt's full blocks.
        if (global && !ringSize) {
          std::vector<uint64_t> hashes = prefixHashes(s.tokens, int64_t(s.promptLen), bs);
          for (size_t b = 0; b < hashes.size(); ++b)
            blocks_.publish(hashes[b], s.blocks[b]);
        }
        prefilling = nullptr;
        if (opts.recordLogits)
          s.out.logits.push_back(logits);
        finish(s, sample(logits, opts, s.rng));
        if (!s.finished)
          running.push_back(&s);
      }
    }
    // One decode step for every running sequence (in buckets), unless
    // prefills go first and another sequence can still be admitted.
    bool admitMore = opts.prefillFirst && (prefilling || (!waiting.empty() &&
                                                          int64_t(running.size()) < maxBatch));
    if (!running.empty() && !(admitMore && blocks_.numFree() > 0)) {
      // A block for each sequence's next position; preempt when none is left.
      for (size_t i = 0; i < running.size(); ++i) {
        Seq *s = running[i];
        int64_t p = int64_t(s->tokens.size()) - 1;
        while (global && int64_t(s->blocks.size()) <= p / bs) {
          if (auto b = blocks_.allocate()) {
            s->blocks.push_back(*b);
            continue;
          }
          if (!preemptOne(s)) {
            if (!prefilling)
              return makeError("sequence {} needs a KV block and none is free (raise --kv-memory)",
                               s->index);
            break;
          }
          i = std::find(running.begin(), running.end(), s) - running.begin();
        }
      }
      std::vector<Seq *> ready;
      for (Seq *s : running)
        if (!global || int64_t(s->blocks.size()) > (int64_t(s->tokens.size()) - 1) / bs)
          ready.push_back(s);
      for (size_t at = 0; at < ready.size(); at += size_t(maxBatch)) {
        std::vector<Seq *> batch(ready.begin() + at,
                                 ready.begin() + std::min(ready.size(), at + size_t(maxBatch)));
        for (Seq *s : batch) {
          liveSlots += double(s->tokens.size());
          allocSlots += double(s->blocks.size() * size_t(bs));
        }
        stepStart = std::chrono::steady_clock::now();
        auto o = runStep(batch, false, 0, 1);
        if (!o.ok())
          return o.status();
        st.deviceSeconds += o->deviceSeconds;
        ++st.decodeSteps;
        step("decode", int64_t(batch.size()), o->runs.back().padded, o->deviceSeconds);
        for (size_t r = 0; r < batch.size(); ++r) {
          Seq &s = *batch[r];
          std::vector<float> logits(o->row(int64_t(r)), o->row(int64_t(r)) + o->vocab);
          if (opts.recordLogits)
            s.out.logits.push_back(logits);
          finish(s, sample(logits, opts, s.rng));
        }
      }
      running.erase(std::remove_if(running.begin(), running.end(), [](Seq *s) { return s->finished; }),
                    running.end());
    }
    if (!prefilling && running.empty() && waiting.empty())
      break;
  }
  st.wallSeconds = elapsed(t0);
  st.kvUtilization = allocSlots > 0 ? liveSlots / allocSlots : 0;
  if (statsOut)
    *statsOut = st;
  std::vector<SequenceOutput> out;
  for (Seq &s : seqs)
    out.push_back(std::move(s.out));
  return out;
}

} // namespace rbln
