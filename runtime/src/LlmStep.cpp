//===- LlmStep.cpp - One engine step: programs, padding, checks -----------===//
#include "rbln/runtime/LlmStep.h"


#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

namespace rbln {

namespace {
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

HostTensor tensorOf(DType dt, std::vector<int64_t> shape, const void *data) {
  HostTensor t;
  t.dtype = dt;
  t.shape = std::move(shape);
  t.data.resize(t.numel() * dtypeSize(dt));
  std::memcpy(t.data.data(), data, t.data.size());
  return t;
}

/// Sets input_ids, position_ids, block_tables (and local_block_tables) of a
/// prefill or decode session.
Status setStepInputs(Session &s, const std::vector<int64_t> &ids, const std::vector<int64_t> &pos,
                     const std::vector<int32_t> &table, const std::vector<int32_t> &localTable,
                     int64_t rows, int64_t tokens, int64_t width) {
  if (int iLocal = s.inputIndex("local_block_tables"); iLocal >= 0)
    RBLN_RETURN_IF_ERROR(
        s.setInput(unsigned(iLocal), tensorOf(DType::I32, {rows, width}, localTable.data())));
  int iIds = s.inputIndex("input_ids"), iPos = s.inputIndex("position_ids"),
      iTab = s.inputIndex("block_tables");
  if (iIds < 0 || iPos < 0)
    return makeError("function '{}' lacks input_ids or position_ids", s.function().name());
  RBLN_RETURN_IF_ERROR(s.setInput(unsigned(iIds), tensorOf(DType::I64, {rows, tokens}, ids.data())));
  RBLN_RETURN_IF_ERROR(s.setInput(unsigned(iPos), tensorOf(DType::I64, {rows, tokens}, pos.data())));
  if (iTab < 0)
    return Status::success(); // only sliding-window layers
  return s.setInput(unsigned(iTab), tensorOf(DType::I32, {rows, width}, table.data()));
}

/// Copies row `row` of the [..., vocab] logits output of `s` (f32, or f16 /
/// bf16 for models compiled in those types) to `dst` as f32.
Status copyLogitsRow(Session &s, int64_t vocab, int64_t row, float *dst) {
  int o = s.outputIndex("logits");
  if (o < 0 && s.function().outputs_size() > 0)
    o = 0;
  if (o < 0)
    return makeError("function '{}' has no logits output", s.function().name());
  const HostTensor &t = s.output(unsigned(o));
  bool floatType = t.dtype == DType::F32 || t.dtype == DType::F16 || t.dtype == DType::BF16;
  if (!floatType || t.shape.empty() || t.shape.back() != vocab ||
      uint64_t((row + 1) * vocab) > t.numel())
    return makeError("the logits output of '{}' is not a float [..., {}] tensor", s.function().name(),
                     vocab);
  unsigned es = dtypeSize(t.dtype);
  convertElements(t.data.data() + size_t(row * vocab) * es, t.dtype,
                  reinterpret_cast<uint8_t *>(dst), DType::F32, size_t(vocab));
  return Status::success();
}

/// The oldest logical block the window of a token at `pos` reaches (0 when
/// the model has no window).
int64_t windowStartBlock(int64_t pos, int64_t window, int64_t bs) {
  return window > 0 ? std::max<int64_t>(0, pos - window + 1) / bs : 0;
}

/// A block-table row for the program: the caller's entries of the logical
/// blocks [0, hi), with those before `lo` that are not valid ids made 0
/// (never read), and 0 (the reserved block) past hi, where padding writes.
void copyTableRow(const std::vector<int32_t> &src, int64_t lo, int64_t hi, int64_t numBlocks,
                  int32_t *dst) {
  for (int64_t b = 0; b < hi; ++b) {
    int32_t id = src[size_t(b)];
    dst[b] = b < lo && (id < 0 || id >= numBlocks) ? 0 : id;
  }
}
} // namespace

LlmStepRunner::~LlmStepRunner() = default;

const proto::LlmConfig &LlmStepRunner::config() const { return artifact_->metadata().llm(); }

std::vector<int64_t> LlmStepRunner::decodeBuckets() const {
  std::vector<int64_t> out;
  for (auto &[b, s] : decode_)
    out.push_back(b);
  return out;
}

Session *LlmStepRunner::session(const std::string &function) {
  if (prefill_ && prefill_->function().name() == function)
    return prefill_.get();
  for (auto &[b, s] : decode_)
    if (s->function().name() == function)
      return s.get();
  return nullptr;
}

Expected<std::unique_ptr<LlmStepRunner>> LlmStepRunner::create(std::shared_ptr<Artifact> artifact,
                                                               const StepRunnerOptions &opts) {
  const proto::Metadata &md = artifact->metadata();
  if (!md.has_llm() || md.llm().prefill_function().empty())
    return makeError("'{}' is not a generation artifact (compile a decoder exported with "
                     "past_key_values: rbln-compile --max-seq-len ...)",
                     md.source_model());
  const proto::LlmConfig &c = md.llm();
  if (c.block_size() <= 0 || c.max_seq_len() <= 0 || c.max_seq_len() % c.block_size() ||
      c.prefill_chunk() <= 0 || c.prefill_chunk() > c.max_seq_len() || c.kv_bytes_per_block() < 0 ||
      c.vocab_size() <= 0 || (c.kv_bytes_per_block() == 0 && c.local_kv_bytes_per_block() <= 0) ||
      (c.local_kv_bytes_per_block() > 0 && c.local_ring_blocks() <= 0) ||
      c.decode_batch_sizes_size() != c.decode_functions_size() || c.decode_functions_size() == 0)
    return makeError("the artifact's LLM configuration is inconsistent");
  // Limits far above any real model that keep every product below in range.
  constexpr int64_t kMaxSeqLen = int64_t(1) << 24, kMaxVocab = int64_t(1) << 24,
                    kMaxDecodeBatch = int64_t(1) << 16;
  if (c.max_seq_len() > kMaxSeqLen || c.vocab_size() > kMaxVocab)
    return makeError("the artifact's LLM configuration is implausible: max_seq_len {} (at most "
                     "{}), vocab_size {} (at most {})",
                     c.max_seq_len(), kMaxSeqLen, c.vocab_size(), kMaxVocab);
  for (int64_t b : c.decode_batch_sizes())
    if (b <= 0 || b > kMaxDecodeBatch)
      return makeError("the artifact's LLM configuration has a decode batch size of {} (1..{})", b,
                       kMaxDecodeBatch);
  // (a window's ring: its blocks per sequence; the block counts below are
  // products of these bounds, < 2^41, and are then checked against DRAM)
  if (c.local_ring_blocks() < 0 || c.local_ring_blocks() > kMaxSeqLen)
    return makeError("the artifact's LLM configuration has local_ring_blocks {} (at most {})",
                     c.local_ring_blocks(), kMaxSeqLen);
  if (opts.numBlocks < 0 || opts.numLocalBlocks < 0)
    return makeError("a negative number of KV blocks was asked for");
  std::unique_ptr<LlmStepRunner> r(new LlmStepRunner());
  r->artifact_ = artifact;
  proto::TargetDesc target = opts.session.target ? *opts.session.target : md.target();

  // Weights, then the caches.
  auto mem = DeviceMemory::withWeights(*artifact, target.dram_bytes());
  if (!mem.ok())
    return makeError("{}", mem.error());
  r->mem_ = std::move(*mem);
  int64_t maxBatch = *std::max_element(c.decode_batch_sizes().begin(), c.decode_batch_sizes().end());
  int64_t perSeq = c.max_seq_len() / c.block_size();
  int64_t numBlocks = opts.numBlocks ? opts.numBlocks
                      : opts.kvMemoryBytes && c.kv_bytes_per_block() > 0
                          ? int64_t(opts.kvMemoryBytes / uint64_t(c.kv_bytes_per_block()))
                          : maxBatch * perSeq + 1;
  int64_t numLocal = opts.numLocalBlocks          ? opts.numLocalBlocks
                     : c.local_ring_blocks() > 0 ? maxBatch * c.local_ring_blocks() + 1
                                                 : 1;
  if (numBlocks < 2 && c.kv_bytes_per_block() > 0) {
    if (!opts.numBlocks && opts.kvMemoryBytes)
      return makeError("--kv-memory of {} bytes holds {} KV blocks of {} bytes; at least 2 are "
                       "needed (block 0 is reserved)",
                       opts.kvMemoryBytes, numBlocks, c.kv_bytes_per_block());
    return makeError("{} KV blocks were asked for; at least 2 are needed (block 0 is reserved)",
                     numBlocks);
  }
  if (numLocal < 2 && c.local_kv_bytes_per_block() > 0)
    return makeError("{} sliding-window KV blocks were asked for; at least 2 are needed (block 0 "
                     "is reserved)",
                     numLocal);
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
    if (blockBytes == 0 || uint64_t(n) > target.dram_bytes() / blockBytes)
      return makeError("{} KV blocks of {} bytes for '{}' do not fit the target's {} bytes of DRAM; "
                       "lower the block count or --kv-memory",
                       n, blockBytes, in.name(), target.dram_bytes());
    auto a = r->mem_->grow(blockBytes * uint64_t(n), target.dram_bytes());
    if (!a.ok())
      return makeError("{} KV blocks ({} bytes each over all layers): {}; lower --kv-memory", n,
                       local ? c.local_kv_bytes_per_block() : c.kv_bytes_per_block(), a.error());
    r->mem_->state[in.name()] = {*a, n};
    if (local) {
      r->localKvBytes_ += blockBytes * uint64_t(n);
    } else {
      r->caches_.push_back({*a, blockBytes});
      r->kvBytes_ += blockBytes * uint64_t(n);
    }
  }
  r->numBlocks_ = r->kvBytes_ ? numBlocks : 0;
  r->numLocalBlocks_ = r->localKvBytes_ ? numLocal : 0;

  SessionOptions so = opts.session;
  so.memory = r->mem_;
  so.function = c.prefill_function();
  auto p = Session::create(artifact, so);
  if (!p.ok())
    return makeError("{}", p.error());
  r->prefill_ = std::move(*p);
  for (int i = 0; i < c.decode_functions_size(); ++i) {
    so.function = c.decode_functions(i);
    auto d = Session::create(artifact, so);
    if (!d.ok())
      return makeError("{}", d.error());
    r->decode_[c.decode_batch_sizes(i)] = std::move(*d);
  }
  return r;
}

Status LlmStepRunner::copyBlock(int32_t from, int32_t to) {
  if (from <= 0 || to <= 0 || from >= numBlocks_ || to >= numBlocks_)
    return makeError("copy of KV block {} to {}: ids must be in [1, {})", from, to, numBlocks_);
  for (const Cache &c : caches_) // every layer's K and V rows of the block
    std::memmove(mem_->bytes.data() + c.addr + uint64_t(to) * c.blockBytes,
                 mem_->bytes.data() + c.addr + uint64_t(from) * c.blockBytes, c.blockBytes);
  return Status::success();
}

Status LlmStepRunner::validate(const std::vector<StepSequence> &seqs) const {
  const proto::LlmConfig &c = config();
  int64_t bs = c.block_size(), maxLen = c.max_seq_len(), window = c.sliding_window();
  // Which sequence writes each KV block (a block written twice in one step
  // would hold whichever write came last).
  std::unordered_map<int32_t, size_t> writer, localWriter;
  auto checkTable = [&](size_t i, const char *what, const std::vector<int32_t> &table, int64_t lo,
                        int64_t hi, int64_t count, int64_t firstWritten,
                        std::unordered_map<int32_t, size_t> &writers) -> Status {
    if (int64_t(table.size()) < hi)
      return makeInvalidInput("sequence {}: its {} has {} entries; positions up to {} need {}", i, what,
                       table.size(), hi * bs - 1, hi);
    for (int64_t b = lo; b < hi; ++b) {
      int32_t id = table[size_t(b)];
      if (id <= 0 || id >= count)
        return makeInvalidInput("sequence {}: {}[{}] = {} is not a KV block id in [1, {}) (block 0 is "
                         "reserved)",
                         i, what, b, id, count);
      if (b < firstWritten)
        continue;
      auto [it, fresh] = writers.emplace(id, i);
      if (!fresh)
        return makeInvalidInput("sequence {} writes KV block {} ({}[{}]), which sequence {} writes too", i,
                         id, what, b, it->second);
    }
    return Status::success();
  };
  for (size_t i = 0; i < seqs.size(); ++i) {
    const StepSequence &s = seqs[i];
    int64_t n = int64_t(s.tokens.size());
    if (n == 0)
      return makeInvalidInput("sequence {} has no tokens to process", i);
    if (s.start < 0 || s.start > maxLen - n)
      return makeInvalidInput("sequence {}: positions {}..{} pass the compiled --max-seq-len={}", i,
                       s.start, s.start + n - 1, maxLen);
    for (int64_t t : s.tokens)
      if (t < 0 || t >= c.vocab_size())
        return makeInvalidInput("sequence {}: token id {} is outside the vocabulary [0, {})", i, t,
                         c.vocab_size());
    int64_t hi = ceilDiv(s.start + n, bs), firstWritten = s.start / bs;
    if (hasGlobalLayers())
      RBLN_RETURN_IF_ERROR(
          checkTable(i, "block table", s.blockTable, 0, hi, numBlocks_, firstWritten, writer));
    if (hasLocalLayers())
      RBLN_RETURN_IF_ERROR(checkTable(i, "local block table", s.localBlockTable,
                                      windowStartBlock(s.start, window, bs), hi, numLocalBlocks_,
                                      firstWritten, localWriter));
  }
  return Status::success();
}

Expected<StepOutput> LlmStepRunner::step(const std::vector<StepSequence> &seqs) {
  RBLN_RETURN_IF_ERROR(validate(seqs));
  auto t0 = std::chrono::steady_clock::now();
  const proto::LlmConfig &c = config();
  int64_t bs = c.block_size(), chunk = c.prefill_chunk(), maxLen = c.max_seq_len(),
          width = maxLen / bs, vocab = c.vocab_size(), window = c.sliding_window();
  int64_t maxBatch = decode_.rbegin()->first;
  StepOutput out;
  out.vocab = vocab;
  int64_t rows = 0;
  for (const StepSequence &s : seqs) {
    out.firstRow.push_back(rows);
    rows += s.allLogits ? int64_t(s.tokens.size()) : 1;
  }
  out.logits.assign(size_t(rows * vocab), 0.f);

  auto record = [&](Session &sess, int64_t real, int64_t padded) {
    const Stats &st = sess.stats();
    double secs = st.deviceSeconds + st.hostLaunchSeconds;
    out.deviceSeconds += secs;
    out.runs.push_back({sess.function().name(), real, padded, secs, 0});
  };
  auto fillRows = [&](const StepSequence &s, int64_t firstPos, int64_t endPos, int32_t *table,
                      int32_t *local) {
    int64_t hi = ceilDiv(endPos, bs);
    if (hasGlobalLayers())
      copyTableRow(s.blockTable, 0, hi, numBlocks_, table);
    if (hasLocalLayers())
      copyTableRow(s.localBlockTable, windowStartBlock(firstPos, window, bs), hi, numLocalBlocks_,
                   local);
  };

  // Prefill chunks first (one program run each); what is left of a sequence
  // (one decode token, logits wanted for every token, or a last chunk whose
  // padding would pass max_seq_len) runs as rows of the decode programs.
  struct Row {
    const StepSequence *seq;
    int64_t k;      ///< index into seq->tokens
    int64_t outRow; ///< logits row, or -1
  };
  std::vector<Row> decodeRows;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const StepSequence &s = seqs[i];
    int64_t n = int64_t(s.tokens.size()), k = 0;
    for (; n > 1 && !s.allLogits && k < n && s.start + k + chunk <= maxLen; k += chunk) {
      auto tr = std::chrono::steady_clock::now();
      int64_t m = std::min(chunk, n - k), cs = s.start + k;
      std::vector<int64_t> ids(size_t(chunk), 0), pos(size_t(chunk), 0);
      for (int64_t j = 0; j < chunk; ++j)
        pos[size_t(j)] = cs + j; // padding continues the positions (its K/V go to block 0)
      std::copy(s.tokens.begin() + k, s.tokens.begin() + k + m, ids.begin());
      std::vector<int32_t> table(size_t(width), 0), local(size_t(width), 0);
      fillRows(s, cs, cs + m, table.data(), local.data());
      RBLN_RETURN_IF_ERROR(setStepInputs(*prefill_, ids, pos, table, local, 1, chunk, width));
      // The LM head reads only the row of the chunk's last real token.
      int64_t lastRow = m - 1;
      int iIdx = prefill_->inputIndex("logits_index");
      if (iIdx >= 0)
        RBLN_RETURN_IF_ERROR(prefill_->setInput(unsigned(iIdx), tensorOf(DType::I64, {1}, &lastRow)));
      RBLN_RETURN_IF_ERROR(prefill_->run());
      record(*prefill_, m, chunk);
      out.runs.back().wallSeconds = since(tr);
      if (k + m == n) {
        RBLN_RETURN_IF_ERROR(copyLogitsRow(*prefill_, vocab, iIdx >= 0 ? 0 : lastRow,
                                           out.logits.data() + out.firstRow[i] * vocab));
      }
    }
    for (; k < n; ++k)
      decodeRows.push_back({&s, k, s.allLogits ? out.firstRow[i] + k : k == n - 1 ? out.firstRow[i] : -1});
  }

  for (size_t at = 0; at < decodeRows.size(); at += size_t(maxBatch)) {
    auto tr = std::chrono::steady_clock::now();
    size_t r0 = at, r1 = std::min(decodeRows.size(), at + size_t(maxBatch));
    int64_t real = int64_t(r1 - r0);
    auto it = decode_.lower_bound(real);
    int64_t bucket = it->first;
    Session &sess = *it->second;
    // Padding rows: token 0 at position 0 of the reserved block 0.
    std::vector<int64_t> ids(size_t(bucket), 0), pos(size_t(bucket), 0);
    std::vector<int32_t> table(size_t(bucket * width), 0), local(size_t(bucket * width), 0);
    for (int64_t r = 0; r < real; ++r) {
      const Row &row = decodeRows[r0 + size_t(r)];
      int64_t p = row.seq->start + row.k;
      ids[size_t(r)] = row.seq->tokens[size_t(row.k)];
      pos[size_t(r)] = p;
      fillRows(*row.seq, p, p + 1, table.data() + r * width, local.data() + r * width);
    }
    RBLN_RETURN_IF_ERROR(setStepInputs(sess, ids, pos, table, local, bucket, 1, width));
    RBLN_RETURN_IF_ERROR(sess.run());
    record(sess, real, bucket);
    for (int64_t r = 0; r < real; ++r) {
      const Row &row = decodeRows[r0 + size_t(r)];
      if (row.outRow < 0)
        continue;
      RBLN_RETURN_IF_ERROR(copyLogitsRow(sess, vocab, r, out.logits.data() + row.outRow * vocab));
    }
    out.runs.back().wallSeconds = since(tr);
  }
  out.wallSeconds = since(t0);
  return out;
}

} // namespace rbln
