//===- LlmStep.h - One engine step over a generation artifact ---*- C++ -*-===//
//
// The step-level API a serving engine drives (a vLLM worker, or rbln's own
// LlmEngine): the caller owns scheduling and the KV block tables; a step runs
// exactly the batch it is handed. Each sequence of a step brings the tokens
// to process (a prefill chunk at any start position, or one decode token),
// the position of its first token and its block-table rows; prefill chunks
// and decode tokens of different sequences may share one step. The runner
// picks the compiled programs (the prefill program per chunk, decode
// programs by batch bucket), pads, runs them in order and reports what ran.
//
// Block ids: id 0 is reserved in both the global and the sliding-window
// (local) cache, as vLLM reserves block 0 as its null block. Padding rows
// and padding positions write there, so a caller never hands block 0 to a
// sequence; table entries past the blocks a step touches are ignored.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "rbln/runtime/Runtime.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rbln {

/// One sequence of a step: tokens at positions start .. start + n - 1.
struct StepSequence {
  std::vector<int64_t> tokens;
  /// Tokens of this sequence already in the KV cache (the first token's position).
  int64_t start = 0;
  /// Global (full-attention) layers: logical block b of the sequence is KV
  /// block blockTable[b]. At least ceil((start + n) / block_size) entries.
  std::vector<int32_t> blockTable;
  /// Sliding-window layers, the same for their own (local) cache; entries
  /// before the oldest block any token's window reaches are not read.
  std::vector<int32_t> localBlockTable;
  /// Logits of every token (they run as decode rows), not only of the last.
  bool allLogits = false;
};

/// One program run of a step.
struct StepRun {
  std::string function; ///< prefill or decode_bN
  int64_t rows = 0;     ///< real tokens (prefill) or real rows (decode)
  int64_t padded = 0;   ///< tokens or rows the program took
  double deviceSeconds = 0;
  double wallSeconds = 0;
};

struct StepOutput {
  /// Row-major [rows, vocab]: for each sequence in order, its last token's
  /// logits (or every token's, with allLogits); firstRow[i] is its first row.
  std::vector<float> logits;
  std::vector<int64_t> firstRow;
  int64_t vocab = 0;
  std::vector<StepRun> runs;
  double deviceSeconds = 0; ///< modeled, every run of the step
  double wallSeconds = 0;   ///< simulator wall time of the step
  const float *row(int64_t r) const { return logits.data() + r * vocab; }
};

struct StepRunnerOptions {
  /// Global KV cache: numBlocks blocks if set, else as many as kvMemoryBytes
  /// holds, else enough for the largest decode batch at max_seq_len; block 0
  /// is reserved and counted.
  int64_t numBlocks = 0;
  uint64_t kvMemoryBytes = 0;
  /// Sliding-window (local) cache: numLocalBlocks if set, else a ring of
  /// local_ring_blocks for every sequence of the largest decode batch (+1).
  int64_t numLocalBlocks = 0;
  SessionOptions session; ///< target, compute, threads (function is ignored)
};

class LlmStepRunner {
public:
  static Expected<std::unique_ptr<LlmStepRunner>> create(std::shared_ptr<Artifact> artifact,
                                                         const StepRunnerOptions &opts = {});
  ~LlmStepRunner();
  const proto::LlmConfig &config() const;
  int64_t numBlocks() const { return numBlocks_; }
  int64_t numLocalBlocks() const { return numLocalBlocks_; }
  bool hasGlobalLayers() const { return kvBytes_ > 0; }
  bool hasLocalLayers() const { return localKvBytes_ > 0; }
  /// Device bytes of the global and of the local caches.
  uint64_t kvBytes() const { return kvBytes_; }
  uint64_t localKvBytes() const { return localKvBytes_; }
  /// Decode batch buckets, ascending.
  std::vector<int64_t> decodeBuckets() const;

  /// Runs one step. Every sequence is checked first (tokens in the
  /// vocabulary, positions within max_seq_len, block ids in range, tables
  /// long enough, no KV slot written twice); a bad one is refused, naming
  /// it, before any cache is touched.
  Expected<StepOutput> step(const std::vector<StepSequence> &seqs);

  /// Copies global KV block `from` to `to` in every layer (copy-on-write).
  Status copyBlock(int32_t from, int32_t to);
  /// The session of one entry function (prefill or decode_bN); null if none.
  Session *session(const std::string &function);

private:
  LlmStepRunner() = default;
  Status validate(const std::vector<StepSequence> &seqs) const;

  std::shared_ptr<Artifact> artifact_;
  std::shared_ptr<DeviceMemory> mem_;
  std::unique_ptr<Session> prefill_;
  std::map<int64_t, std::unique_ptr<Session>> decode_; ///< by batch size
  int64_t numBlocks_ = 0, numLocalBlocks_ = 0;
  uint64_t kvBytes_ = 0, localKvBytes_ = 0;
  struct Cache {
    uint64_t addr, blockBytes;
  };
  std::vector<Cache> caches_; ///< global layers' K and V
};

} // namespace rbln
