//===- Passes.h - graph to npu conversion -----------------------*- C++ -*-===//
#pragma once

#include "dialects/Npu/NpuDialect.h"
#include "mlir/Pass/Pass.h"

namespace rbln {
#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "passes/Conversion/GraphToNpu/Passes.h.inc"
} // namespace rbln
