//===- Passes.h - Every rbln pass and the named pipelines -------*- C++ -*-===//
#pragma once

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace rbln {

struct PipelineOptions : mlir::PassPipelineOptions<PipelineOptions> {
  Option<std::string> target{*this, "target",
                             llvm::cl::desc("target name or file (default: module's rbln.target)"),
                             llvm::cl::init("")};
  Option<std::string> computeType{*this, "compute-type",
                                  llvm::cl::desc("f32, f16 or bf16"), llvm::cl::init("f32")};
  Option<unsigned> optLevel{*this, "opt-level", llvm::cl::desc("0: no graph fusion"),
                            llvm::cl::init(2)};
  Option<std::string> attnImpl{*this, "attn-impl",
                               llvm::cl::desc("flash (FlashAttention kernel) or eager "
                                              "(matmul/softmax kernels)"),
                               llvm::cl::init("flash")};
  Option<int64_t> kvPartitionLen{*this, "kv-partition-len",
                                 llvm::cl::desc("KV tile length of attention (0: from the target)"),
                                 llvm::cl::init(0)};
  Option<int64_t> kvBlockSize{*this, "kv-block-size",
                              llvm::cl::desc("LLM mode: tokens per paged KV block; past_key_values "
                                             "become paged caches (0: off)"),
                              llvm::cl::init(0)};
  Option<int64_t> maxSeqLen{*this, "max-seq-len",
                            llvm::cl::desc("LLM mode: longest sequence"), llvm::cl::init(2048)};
  Option<int64_t> slidingWindow{*this, "sliding-window",
                                llvm::cl::desc("LLM mode: window of the sliding-window layers"),
                                llvm::cl::init(0)};
  ListOption<int64_t> slidingWindowLayers{*this, "sliding-window-layers",
                                          llvm::cl::desc("LLM mode: layers with the window (default all)")};
  Option<std::string> kvCacheDtype{*this, "kv-cache-dtype",
                                   llvm::cl::desc("LLM mode: the KV caches' element type: auto (the "
                                                  "compute type) or fp8 (E4M3FN, scale 1)"),
                                   llvm::cl::init("auto")};
  Option<std::string> weightDtype{*this, "weight-dtype",
                                  llvm::cl::desc("matmul weights: float (as the model), int8 "
                                                 "(per-column scales, w8a16), int4 (group-wise "
                                                 "scales, w4a16) or fp8 (E4M3FN, per-column scales)"),
                                  llvm::cl::init("")};
  Option<int64_t> weightGroupSize{*this, "weight-group-size",
                                  llvm::cl::desc("int4 weights: rows of a column per scale"),
                                  llvm::cl::init(128)};
};

/// graph -> graph: canonicalization and fusion (skipped at -O0).
void buildGraphPipeline(mlir::OpPassManager &pm, const PipelineOptions &o);
/// graph -> npu: bufferization, tile partition, memory planning.
void buildNpuPipeline(mlir::OpPassManager &pm, const PipelineOptions &o);
/// npu -> npuisa: kernel expansion.
void buildIsaPipeline(mlir::OpPassManager &pm, const PipelineOptions &o);

/// Registers every rbln pass and the pipelines `rbln-graph`, `rbln-to-npu`
/// and `rbln-compile` (all three stages, as rbln-compile runs them).
void registerRblnPasses();

} // namespace rbln
