//===- Passes.h - npu to npuisa conversion ----------------------*- C++ -*-===//
#pragma once

#include "dialects/Npu/NpuDialect.h"
#include "dialects/NpuIsa/NpuIsaDialect.h"
#include "mlir/Pass/Pass.h"

namespace rbln {
#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "passes/Conversion/NpuToIsa/Passes.h.inc"
} // namespace rbln
