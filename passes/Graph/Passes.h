//===- Passes.h - Graph-level passes ----------------------------*- C++ -*-===//
#pragma once

#include "dialects/Graph/GraphDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace rbln::graph {
#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph
