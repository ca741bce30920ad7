//===- Emitter.h - npuisa module to .rbln contents --------------*- C++ -*-===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "rbln/runtime/Artifact.h"

namespace rbln {

struct EmitOptions {
  std::string sourceModel;
  std::vector<std::pair<std::string, std::string>> options; ///< recorded in metadata
  std::vector<proto::OpStat> opStats;
};

/// Translates a module at the npuisa level (every function fully lowered)
/// into the sections of an artifact. Errors are emitted as diagnostics.
mlir::FailureOr<ArtifactContents> emitArtifact(mlir::ModuleOp module, const proto::TargetDesc &target,
                                               const EmitOptions &opts);

/// What each ONNX node became, from a module at the npu level.
std::vector<proto::OpStat> collectOpStats(mlir::ModuleOp npuModule);

} // namespace rbln
