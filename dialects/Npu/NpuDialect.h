//===- NpuDialect.h - The npu dialect ---------------------------*- C++ -*-===//
#pragma once

#include "dialects/Graph/GraphDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"

#include "dialects/Npu/NpuDialect.h.inc"
#include "dialects/Npu/NpuEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Npu/NpuAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/Npu/NpuOps.h.inc"

namespace rbln::npu {
/// Whether an elementwise kind takes two inputs.
bool isBinary(ElementwiseKind k);
/// A contiguous DRAM memref type of `shape` x `elementType`.
mlir::MemRefType dramBufferType(llvm::ArrayRef<int64_t> shape, mlir::Type elementType);
} // namespace rbln::npu
