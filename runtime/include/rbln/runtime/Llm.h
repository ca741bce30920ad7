//===- Llm.h - Generation over a paged KV cache -----------------*- C++ -*-===//
//
// Runs a generation artifact (rbln-compile on a decoder exported with
// past_key_values) as a client of the step API (LlmStep.h), which owns the
// device memory, programs and caches. A BlockManager hands out KV
// blocks (reference counted: sequences with a common prompt prefix share its
// full blocks, copy-on-write), and a scheduler runs many sequences together:
// they join and leave between decode steps (continuous batching), prefill
// chunks interleave with decode steps, and a sequence that finds no free
// block is preempted (its blocks freed) and later recomputed, never
// corrupted.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "rbln/runtime/LlmStep.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rbln {

/// KV blocks by id. Block 0 is reserved: padding rows of a decode batch
/// write there, so it is never handed out.
class BlockManager {
public:
  explicit BlockManager(int64_t numBlocks);
  int64_t numBlocks() const { return int64_t(refs_.size()); }
  int64_t numFree() const { return int64_t(free_.size()); }
  /// Blocks held by at least one sequence (the reserved block not counted).
  int64_t numUsed() const { return numBlocks() - 1 - numFree(); }
  std::optional<int32_t> allocate();
  void retain(int32_t block);
  /// Drops one reference; the block is free when none is left.
  void release(int32_t block);
  int refCount(int32_t block) const { return refs_[size_t(block)]; }
  /// Prefix cache: a full block's contents named by the hash of every token
  /// up to its end. A cached block stays valid while it is held.
  std::optional<int32_t> lookup(uint64_t prefixHash) const;
  void publish(uint64_t prefixHash, int32_t block);

private:
  std::vector<int> refs_;
  std::vector<int32_t> free_;
  std::map<uint64_t, int32_t> cached_;
  std::map<int32_t, uint64_t> hashOf_;
};

struct LlmOptions {
  /// Device memory for the KV caches; 0: enough for the largest decode batch
  /// at --max-seq-len (plus the reserved block).
  uint64_t kvMemoryBytes = 0;
  /// Explicit block counts (incl. the reserved block) instead: see
  /// StepRunnerOptions.
  int64_t numBlocks = 0, numLocalBlocks = 0;
  SessionOptions session; ///< target, compute, trace (function is ignored)
};

struct SamplingOptions {
  int64_t maxNewTokens = 16;
  float temperature = 0; ///< 0: greedy
  int64_t topK = 0;      ///< 0: all tokens
  float topP = 1;
  uint64_t seed = 0;
  std::vector<int64_t> stopTokens;
  bool sharePrefixes = true; ///< reuse cached blocks of a common prompt prefix
  bool recordLogits = false; ///< keep each step's logits in the output
  /// Admit and prefill every waiting sequence that fits before the next
  /// decode step (default: one prefill chunk between decode steps).
  bool prefillFirst = false;
};

struct SequenceOutput {
  std::vector<int64_t> tokens;            ///< generated tokens
  std::string finish;                     ///< "length", "stop" or "max-seq-len"
  std::vector<std::vector<float>> logits; ///< per generated token, when recorded
  int preemptions = 0;
  int64_t cachedPromptTokens = 0;         ///< prompt tokens found in shared blocks
};

struct StepInfo {
  std::string kind;          ///< "prefill" or "decode"
  int64_t sequences = 0;     ///< real rows of the batch
  int64_t bucket = 0;        ///< batch size of the program run
  double deviceSeconds = 0;  ///< modeled
  double wallSeconds = 0;    ///< simulator wall time of the step
  int64_t blocksInUse = 0;
  int64_t localBlocksInUse = 0;
};

struct GenerateStats {
  double deviceSeconds = 0, wallSeconds = 0;
  int64_t generatedTokens = 0, prefillSteps = 0, decodeSteps = 0, preemptions = 0;
  int64_t peakBlocksInUse = 0, numBlocks = 0, blockSize = 0;
  /// Sliding-window layers: their ring blocks (local), apart from the rest.
  int64_t peakLocalBlocksInUse = 0, numLocalBlocks = 0;
  /// Over the decode steps: KV slots holding live tokens / slots allocated.
  double kvUtilization = 0;
};

class LlmEngine {
public:
  static Expected<std::unique_ptr<LlmEngine>> create(std::shared_ptr<Artifact> artifact,
                                                     const LlmOptions &opts = {});
  ~LlmEngine();
  const proto::LlmConfig &config() const;
  const BlockManager &blocks() const { return blocks_; }
  const BlockManager &localBlocks() const { return localBlocks_; }
  /// Device bytes of the global layers' caches and of the sliding-window
  /// layers' (local) caches.
  uint64_t kvBytes() const { return runner_->kvBytes(); }
  uint64_t localKvBytes() const { return runner_->localKvBytes(); }
  bool hasLocalLayers() const { return runner_->hasLocalLayers(); }
  bool hasGlobalLayers() const { return runner_->hasGlobalLayers(); }
  /// The step runner underneath (its sessions run single steps by hand).
  LlmStepRunner &runner() { return *runner_; }

  /// Generates for every prompt (token ids), scheduled together. Errors
  /// (a token outside the vocabulary, a prompt longer than --max-seq-len)
  /// name the prompt and leave no sequence's cache touched.
  Expected<std::vector<SequenceOutput>> generate(const std::vector<std::vector<int64_t>> &prompts,
                                                 const SamplingOptions &opts,
                                                 GenerateStats *stats = nullptr,
                                                 const std::function<void(const StepInfo &)> &onStep = {});

private:
  LlmEngine() : blocks_(1), localBlocks_(1) {}
  struct Seq;
  /// One step over `batch`: each sequence's tokens from `start` on (a
  /// prefill chunk of up to `limit` tokens, or its one decode token).
  Expected<StepOutput> runStep(const std::vector<Seq *> &batch, bool prefill, int64_t start,
                               int64_t limit);

  std::unique_ptr<LlmStepRunner> runner_;
  BlockManager blocks_, localBlocks_;
};

} // namespace rbln
