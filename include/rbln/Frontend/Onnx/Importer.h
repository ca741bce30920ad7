//===- Importer.h - ONNX to the graph dialect -------------------*- C++ -*-===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rbln::onnx_import {

/// How symbolic (dynamic) input dimensions become static ones.
struct ImportOptions {
  /// Full shapes by input name (`--input-shape=input_ids=1x128`).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Values of named dims (`--dim=batch=1`), for every input that uses them.
  std::map<std::string, int64_t> dims;
  /// Inputs fixed to a value at compile time (`--bind-value=axes=@axes.npy`):
  /// they become constants, e.g. shape operands that feed Reshape or Expand.
  struct Value {
    int32_t onnxType; ///< onnx::TensorProto::DataType
    std::vector<int64_t> shape;
    std::vector<char> bytes;
  };
  std::map<std::string, Value> boundValues;
  /// Consulted for inputs not in `inputShapes`: given the input's name and
  /// its declared dims (-1 where symbolic), returns its shape, or nothing to
  /// fall back to `dims`.
  std::function<std::optional<std::vector<int64_t>>(const std::string &name,
                                                     const std::vector<int64_t> &declared)>
      shapeOf;
  /// Called first with the names of the model's inputs, to specialize a
  /// copy of these options to the model (e.g. bind an input it has).
  std::function<void(const std::vector<std::string> &inputs, ImportOptions &opts)> prepare;
  /// LLM mode: the step's token positions are the int64 [batch, tokens]
  /// input `position_ids`, added as a function argument when the model has
  /// none (exporters that fuse rotary embeddings into GroupQueryAttention
  /// derive positions from the attention mask instead). Ops that compute
  /// positions themselves read this input, since the mask and past lengths
  /// are compile-time stand-ins in LLM mode. An added input that nothing
  /// reads is an error: the model's positions come from somewhere rbln
  /// cannot make run-time values.
  std::optional<std::vector<int64_t>> stepPositionsShape;
  /// LLM mode: the past length the caches' shapes stand in with. Values
  /// folded from it (the caches' shapes, the bound attention mask) are
  /// step-dependent; those that are the step's positions (past + i) become
  /// the position_ids input instead of constants.
  int64_t stepPast = 0;
  /// Name of the imported function.
  std::string functionName = "main";
  /// The largest tensor (input, initializer or any node's result) in bytes;
  /// the driver sets the target's DRAM size. Element counts are limited to
  /// 2^40 regardless (rbln/runtime/Checked.h).
  uint64_t maxTensorBytes = UINT64_MAX;
};

/// Imports an ONNX model (`.onnx` protobuf, or ONNX text format when the file
/// ends in `.onnxtxt`) into a module holding `func.func @main` in the graph
/// dialect. Node names become locations. On failure, diagnostics naming the
/// node, op, domain and opset have been emitted and the result is null.
mlir::OwningOpRef<mlir::ModuleOp> importFile(mlir::MLIRContext &ctx, const std::string &path,
                                             const ImportOptions &opts = {});

/// The same from bytes already in memory; `path` is used for locations.
mlir::OwningOpRef<mlir::ModuleOp> importBuffer(mlir::MLIRContext &ctx, llvm::StringRef data,
                                               const std::string &path, bool textFormat,
                                               const ImportOptions &opts = {});

} // namespace rbln::onnx_import
