//===- Passes.h - npu-level passes ------------------------------*- C++ -*-===//
#pragma once

#include "dialects/Npu/NpuDialect.h"
#include "mlir/Pass/Pass.h"

namespace rbln::npu {
#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu
