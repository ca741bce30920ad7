//===- Emitter.h - npuisa module to .rbln contents --------------*- C++ -*-===//
#pragma once

#include <optional>

#include "mlir/IR/BuiltinOps.h"
#include "rbln/runtime/Artifact.h"

namespace rbln {

struct EmitOptions {
  std::string sourceModel;
  std::vector<std::pair<std::string, std::string>> options; ///< recorded in metadata
  std::vector<proto::OpStat> opStats;
  std::optional<proto::LlmConfig> llm; ///< generation artifacts
};

/// Translates a module at the npuisa level (every function fully lowered)
/// into the sections of an artifact. Errors are emitted as diagnostics.
mlir::FailureOr<ArtifactContents> emitArtifact(mlir::ModuleOp module, const proto::TargetDesc &target,
                                               const EmitOptions &opts);

/// What one ONNX node became.
struct NodePlacement {
  std::string node, op;  ///< node name, op type (domain-qualified if not default)
  std::string placement; ///< engine and kernel, "fused into ...", "folded at compile time"
  std::string kernel;    ///< the nodes that share its kernel ("+"-joined), if any
};
/// Per node, in model order, from a module at the npu level.
std::vector<NodePlacement> collectNodePlacements(mlir::ModuleOp npuModule);
/// The same, counted per (op type, placement).
std::vector<proto::OpStat> collectOpStats(const std::vector<NodePlacement> &nodes);

} // namespace rbln
