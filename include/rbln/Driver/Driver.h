//===- Driver.h - The pipeline rbln-compile runs ----------------*- C++ -*-===//
#pragma once

#include "mlir/IR/MLIRContext.h"
#include "rbln/Frontend/Onnx/Importer.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace rbln {

struct CompileOptions {
  std::string input;
  std::string output;           ///< .rbln path (for --compile-to=binary)
  std::string target = "atom";  ///< built-in name or a target file
  std::string dtype = "fp32";   ///< fp32, fp16 or bf16
  std::string weightDtype;      ///< "" (the model's), "int8", "int4" or "fp8": narrow matmul weights
  int64_t weightGroupSize = 128; ///< int4: rows of a column per scale
  std::string kvCacheDtype = "auto"; ///< LLM mode: "auto" (the compute type) or "fp8" (E4M3FN caches)
  std::string compileTo = "binary"; ///< graph, npu, isa or binary
  unsigned optLevel = 2;
  std::string attnImpl = "flash"; ///< flash or eager
  int64_t kvPartitionLen = 0;     ///< attention KV tile length; 0: from the target
  bool progress = true;         ///< progress lines on stderr
  onnx_import::ImportOptions import; ///< bindings of dynamic dims
  std::string opStatsFormat;    ///< "", "text" or "json": print the placement report
  /// LLM mode (a decoder exported with past_key_values): prefill + decode
  /// entry functions over paged KV caches.
  int64_t maxSeqLen = 2048;
  int64_t kvBlockSize = 0;      ///< 0: min(128, max-seq-len)
  int64_t prefillChunk = 0;     ///< 0: min(128, max-seq-len)
  std::vector<int64_t> decodeBatchSizes; ///< empty: {batchSize}
  int64_t batchSize = 1;
  int64_t slidingWindow = 0;             ///< window of the sliding-window layers (0: none)
  std::vector<int64_t> slidingWindowLayers; ///< empty: every layer
};

/// Registers the dialects the compiler uses (and nothing else).
void registerRblnDialects(mlir::DialectRegistry &registry);

/// Imports, lowers and emits. IR for --compile-to goes to `irOut`.
/// Diagnostics go through the context's handlers.
mlir::LogicalResult compile(mlir::MLIRContext &ctx, const CompileOptions &opts,
                            llvm::raw_ostream &irOut);

} // namespace rbln
