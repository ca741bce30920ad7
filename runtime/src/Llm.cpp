//===- Llm.cpp - Paged KV blocks, scheduling and sampling -----------------===//
#include "rbln/runtime/Llm.h"

#include "../sim/Simulator.h"

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

const proto::LlmConfig &LlmEngine::config() const { return artifact_->metadata().llm(); }

Expected<std::unique_ptr<LlmEngine>> LlmEngine::create(std::shared_ptr<Artifact> artifact,
                                                       const LlmOptions &opts) {
  const proto::Metadata &md = artifact->metadata();
  if (!md.has_llm() || md.llm().prefill_function().empty())
    return makeError("'{}' is not a generation artifact (compile a decoder exported with "
                     "past_key_values: rbln-compile --max-seq-len ...)",
                     md.source_model());
  const proto::LlmConfig &c = md.llm();
  if (c.block_size() <= 0 || c.max_seq_len() <= 0 || c.max_seq_len() % c.block_size() ||
      c.prefill_chunk() <= 0 || c.kv_bytes_per_block() < 0 || c.vocab_size() <= 0 ||
      (c.kv_bytes_per_block() == 0 && c.local_kv_bytes_per_block() <= 0) ||
      (c.local_kv_bytes_per_block() > 0 && c.local_ring_blocks() <= 0) ||
      c.decode_batch_sizes_size() != c.decode_functions_size() || c.decode_functions_size() == 0)
    return makeError("the artifact's LLM configuration is inconsistent");
  std::unique_ptr<LlmEngine> e(new LlmEngine());
  e->artifact_ = artifact;
  proto::TargetDesc target = opts.session.target ? *opts.session.target : md.target();

  // Weights, then the caches sized from the memory budget.
  auto mem = DeviceMemory::withWeights(*artifact, target.dram_bytes());
  if (!mem.ok())
    return makeError("{}", mem.error());
  e->mem_ = std::move(*mem);
  int64_t maxBatch = *std::max_element(c.decode_batch_sizes().begin(), c.decode_batch_sizes().end());
  int64_t perSeq = c.max_seq_len() / c.block_size();
  int64_t numBlocks = opts.kvMemoryBytes && c.kv_bytes_per_block() > 0
                          ? int64_t(opts.kvMemoryBytes / uint64_t(c.kv_bytes_per_block()))
                          : maxBatch * perSeq + 1;
  // Sliding-window layers: a ring per sequence of the largest batch.
  int64_t numLocal = c.local_ring_blocks() > 0 ? maxBatch * c.local_ring_blocks() + 1 : 1;
  if (numBlocks < 2 && c.kv_bytes_per_block() > 0)
    return makeError("--kv-memory of {} bytes holds {} KV blocks of {} bytes; at least 2 are "
                     "needed (one is reserved)",
                     opts.kvMemoryBytes, numBlocks, c.kv_bytes_per_block());
  int fi = artifact->findFunction(c.prefill_function());
  if (fi < 0)
    return makeError("the artifact has no function '{}'", c.prefill_function());
  for (const proto::TensorSig &in : md.functions(fi).inputs()) {
    if (!in.state())
      continue;
    uint64_t blockBytes = dtypeSize(DType(in.dtype()));
    for (int i = 1; i < in.shape_size(); ++i)
      blockBytes *= uint64_t(in.shape(i));
    bool local = in.window() > 0;
    int64_t n = local ? numLocal : numBlocks;
    auto a = e->mem_->grow(blockBytes * uint64_t(n), target.dram_bytes());
    if (!a.ok())
      return makeError("{} KV blocks ({} bytes each over all layers): {}; lower --kv-memory",
                       n, local ? c.local_kv_bytes_per_block() : c.kv_bytes_per_block(), a.error());
    e->mem_->state[in.name()] = {*a, n};
    if (local) {
      e->localKvBytes_ += blockBytes * uint64_t(n);
    } else {
      e->caches_.push_back({*a, blockBytes});
      e->kvBytes_ += blockBytes * uint64_t(n);
    }
  }
  e->blocks_ = BlockManager(numBlocks);
  e->localBlocks_ = BlockManager(numLocal);

  SessionOptions so = opts.session;
  so.memory = e->mem_;
  so.function = c.prefill_function();
  auto p = Session::create(artifact, so);
  if (!p.ok())
    return makeError("{}", p.error());
  e->prefill_ = std::move(*p);
  for (int i = 0; i < c.decode_functions_size(); ++i) {
    so.function = c.decode_functions(i);
    auto d = Session::create(artifact, so);
    if (!d.ok())
      return makeError("{}", d.error());
    e->decode_[c.decode_batch_sizes(i)] = std::move(*d);
  }
  return e;
}

Session *LlmEngine::session(const std::string &function) {
  if (prefill_ && prefill_->function().name() == function)
    return prefill_.get();
  for (auto &[b, s] : decode_)
    if (s->function().name() == function)
      return s.get();
  return nullptr;
}

Status LlmEngine::copyBlock(int32_t from, int32_t to) {
  // Every layer's K and V rows of the block (a device-side copy).
  for (const Cache &c : caches_)
    std::memmove(mem_->bytes.data() + c.addr + uint64_t(to) * c.blockBytes,
                 mem_->bytes.data() + c.addr + uint64_t(from) * c.blockBytes, c.blockBytes);
  return Status::success();
}

namespace {
/// A sequence's row of block_tables and of local_block_tables: its blocks
/// (0, the reserved block, past them), and the ring rotated over every
/// logical block of a sliding-window layer (block b is ring[b % R]).
void fillTableRows(const std::vector<int32_t> &blocks, const std::vector<int32_t> &ring,
                   int32_t *table, int32_t *localTable, int64_t width) {
  std::copy(blocks.begin(), blocks.end(), table);
  for (int64_t b = 0; !ring.empty() && b < width; ++b)
    localTable[b] = ring[size_t(b) % ring.size()];
}

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

HostTensor tensorOf(DType dt, std::vector<int64_t> shape, const void *data) {
  HostTensor t;
  t.dtype = dt;
  t.shape = std::move(shape);
  t.data.resize(t.numel() * dtypeSize(dt));
  std::memcpy(t.data.data(), data, t.data.size());
  return t;
}

/// Sets input_ids, position_ids and block_tables of a prefill/decode session.
Status setStepInputs(Session &s, const std::vector<int64_t> &ids, const std::vector<int64_t> &pos,
                     const std::vector<int32_t> &table, const std::vector<int32_t> &localTable,
                     int64_t rows, int64_t tokens, int64_t width) {
  if (int iLocal = s.inputIndex("local_block_tables"); iLocal >= 0)
    RBLN_RETURN_IF_ERROR(
        s.setInput(unsigned(iLocal), tensorOf(DType::I32, {rows, width}, localTable.data())));
  int iIds = s.inputIndex("input_ids"), iPos = s.inputIndex("position_ids"),
      iTab = s.inputIndex("block_tables");
  if (iIds < 0 || iPos < 0 || iTab < 0)
    return makeError("function '{}' lacks input_ids, position_ids or block_tables",
                     s.function().name());
  RBLN_RETURN_IF_ERROR(s.setInput(unsigned(iIds), tensorOf(DType::I64, {rows, tokens}, ids.data())));
  RBLN_RETURN_IF_ERROR(s.setInput(unsigned(iPos), tensorOf(DType::I64, {rows, tokens}, pos.data())));
  return s.setInput(unsigned(iTab), tensorOf(DType::I32, {rows, width}, table.data()));
}

const float *logitsOf(Session &s, int64_t vocab, int64_t row, std::string &err) {
  int o = s.outputIndex("logits");
  if (o < 0)
    o = 0;
  const HostTensor &t = s.output(unsigned(o));
  if (t.dtype != DType::F32 || t.shape.empty() || t.shape.back() != vocab ||
      uint64_t((row + 1) * vocab) > t.numel()) {
    err = "the logits output is not f32 [..., vocab]";
    return nullptr;
  }
  return reinterpret_cast<const float *>(t.data.data()) + row * vocab;
}
} // namespace

Status LlmEngine::runPrefillChunk(Seq &s, int64_t start, std::vector<float> *lastLogits,
                                  double &secs) {
  const proto::LlmConfig &c = config();
  int64_t chunk = c.prefill_chunk(), width = c.max_seq_len() / c.block_size();
  int64_t n = int64_t(s.tokens.size());
  std::vector<int64_t> ids(size_t(chunk), 0), pos(size_t(chunk), 0);
  for (int64_t i = 0; i < chunk; ++i) {
    pos[size_t(i)] = start + i; // padding rows continue the positions
    if (start + i < n)
      ids[size_t(i)] = s.tokens[size_t(start + i)];
  }
  std::vector<int32_t> table(size_t(width), 0), localTable(size_t(width), 0);
  fillTableRows(s.blocks, s.ring, table.data(), localTable.data(), width);
  RBLN_RETURN_IF_ERROR(setStepInputs(*prefill_, ids, pos, table, localTable, 1, chunk, width));
  // The row of the chunk's last prompt token, when the LM head reads only it.
  int64_t lastRow = std::clamp<int64_t>(n - 1 - start, 0, chunk - 1);
  int iIdx = prefill_->inputIndex("logits_index");
  if (iIdx >= 0)
    RBLN_RETURN_IF_ERROR(prefill_->setInput(unsigned(iIdx), tensorOf(DType::I64, {1}, &lastRow)));
  RBLN_RETURN_IF_ERROR(prefill_->run());
  secs += prefill_->stats().deviceSeconds + prefill_->stats().hostLaunchSeconds;
  if (lastLogits) {
    std::string err;
    const float *l = logitsOf(*prefill_, c.vocab_size(), iIdx >= 0 ? 0 : lastRow, err);
    if (!l)
      return makeError("{}", err);
    lastLogits->assign(l, l + c.vocab_size());
  }
  return Status::success();
}

Status LlmEngine::runDecode(std::vector<Seq *> &batch, std::vector<std::vector<float>> &logits,
                            double &secs) {
  const proto::LlmConfig &c = config();
  int64_t width = c.max_seq_len() / c.block_size(), rows = int64_t(batch.size());
  auto it = decode_.lower_bound(rows);
  if (it == decode_.end())
    return makeError("no decode program for {} sequences", rows);
  int64_t bucket = it->first;
  Session &s = *it->second;
  // Padding rows: token 0 at position 0 of the reserved block 0.
  std::vector<int64_t> ids(size_t(bucket), 0), pos(size_t(bucket), 0);
  std::vector<int32_t> table(size_t(bucket * width), 0), localTable(size_t(bucket * width), 0);
  for (int64_t r = 0; r < rows; ++r) {
    Seq &q = *batch[size_t(r)];
    ids[size_t(r)] = q.tokens.back();
    pos[size_t(r)] = int64_t(q.tokens.size()) - 1;
    fillTableRows(q.blocks, q.ring, table.data() + r * width, localTable.data() + r * width, width);
  }
  RBLN_RETURN_IF_ERROR(setStepInputs(s, ids, pos, table, localTable, bucket, 1, width));
  RBLN_RETURN_IF_ERROR(s.run());
  secs += s.stats().deviceSeconds + s.stats().hostLaunchSeconds;
  logits.resize(size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    std::string err;
    const float *l = logitsOf(s, c.vocab_size(), r, err);
    if (!l)
      return makeError("{}", err);
    logits[size_t(r)].assign(l, l + c.vocab_size());
  }
  return Status::success();
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
  int64_t maxBatch = decode_.rbegin()->first;
  // Validate every prompt before touching any cache.
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty())
      return makeError("prompt {} is empty", i);
    if (int64_t(prompts[i].size()) > maxLen)
      return makeError("prompt {} has {} tokens; the model was compiled for --max-seq-len={}", i,
                       prompts[i].size(), maxLen);
    for (int64_t t : prompts[i])
      if (t < 0 || t >= c.vocab_size())
        return makeError("prompt {}: token id {} is outside the vocabulary [0, {})", i, t,
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
  int64_t prefillAt = 0, prefillEnd = 0;
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
    // blocks for the rest of its (chunk-padded) prefill.
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
      // Recompute at least the last token (its logits are needed), and keep
      // the padded chunks inside --max-seq-len.
      auto startFor = [&](size_t k) { return std::min<int64_t>(int64_t(k) * bs, n - 1); };
      while (!shared.empty() && startFor(shared.size()) + ceilDiv(n - startFor(shared.size()), chunk) * chunk > maxLen)
        shared.pop_back();
      int64_t start = shared.empty() ? 0 : startFor(shared.size());
      int64_t end = start + ceilDiv(n - start, chunk) * chunk; // padded
      int64_t need = global ? ceilDiv(end, bs) - int64_t(shared.size()) : 0;
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
          RBLN_RETURN_IF_ERROR(copyBlock(s.blocks.back(), fresh));
          blocks_.release(s.blocks.back());
          s.blocks.back() = fresh;
        }
        while (global && int64_t(s.blocks.size()) < ceilDiv(end, bs))
          s.blocks.push_back(*blocks_.allocate());
        for (int64_t k = 0; k < ringSize; ++k)
          s.ring.push_back(*localBlocks_.allocate());
        s.out.cachedPromptTokens = start;
        prefilling = &s;
        prefillAt = start;
        prefillEnd = end;
      }
    }
    // One prefill chunk.
    if (prefilling) {
      Seq &s = *prefilling;
      bool last = prefillAt + chunk >= prefillEnd;
      std::vector<float> logits;
      double secs = 0;
      stepStart = std::chrono::steady_clock::now();
      RBLN_RETURN_IF_ERROR(runPrefillChunk(s, prefillAt, last ? &logits : nullptr, secs));
      st.deviceSeconds += secs;
      ++st.prefillSteps;
      step("prefill", 1, 1, secs);
      prefillAt += chunk;
      if (last) {
        int64_t n = int64_t(s.tokens.size());
        // Publish the prompt's full blocks; free the padding's.
        if (global && !ringSize) {
          std::vector<uint64_t> hashes = prefixHashes(s.tokens, int64_t(s.promptLen), bs);
          for (size_t b = 0; b < hashes.size(); ++b)
            blocks_.publish(hashes[b], s.blocks[b]);
        }
        while (global && int64_t(s.blocks.size()) > ceilDiv(n, bs)) {
          blocks_.release(s.blocks.back());
          s.blocks.pop_back();
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
        std::vector<std::vector<float>> logits;
        double secs = 0;
        stepStart = std::chrono::steady_clock::now();
        RBLN_RETURN_IF_ERROR(runDecode(batch, logits, secs));
        st.deviceSeconds += secs;
        ++st.decodeSteps;
        step("decode", int64_t(batch.size()), decode_.lower_bound(int64_t(batch.size()))->first, secs);
        for (size_t r = 0; r < batch.size(); ++r) {
          Seq &s = *batch[r];
          if (opts.recordLogits)
            s.out.logits.push_back(logits[r]);
          finish(s, sample(logits[r], opts, s.rng));
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
