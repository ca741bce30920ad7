//===- TargetInfo.h - The target as the compiler sees it --------*- C++ -*-===//
#pragma once

#include "mlir/IR/Operation.h"
#include "rbln/runtime/Target.h"

namespace rbln {

/// The module attribute naming the target (a built-in name or a file).
constexpr const char *kTargetAttrName = "rbln.target";

/// Loads the target for a pass: `option` if non-empty, else the module's
/// `rbln.target`, else "atom". Emits an error on `op` and fails if the target
/// cannot be loaded.
mlir::FailureOr<TargetDesc> lookupTarget(mlir::Operation *op, llvm::StringRef option);

} // namespace rbln
