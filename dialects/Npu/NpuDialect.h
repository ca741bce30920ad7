//===- NpuDialect.h - The npu dialect ---------------------------*- C++ -*-===//
#pragma once

#include "rbln/Support/Shapes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"

#include "dialects/Npu/NpuDialect.h.inc"
#include "dialects/Npu/NpuEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/Npu/NpuTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Npu/NpuAttrs.h.inc"

namespace rbln::npu {
/// The engines of an NE that run commands, each in issue order.
enum class Engine { LoadQueue, StoreQueue, Vector, Tensor };
constexpr unsigned kNumEngines = 4;
/// A scratchpad tile a command reads or writes: the buffer, the indices of
/// its tile (mutable: a pass may index another copy), whether it is written.
struct TileAccess {
  mlir::Value buf;
  mlir::MutableOperandRange indices;
  bool write;
};
} // namespace rbln::npu

#include "dialects/Npu/NpuInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialects/Npu/NpuOps.h.inc"

namespace rbln::npu {
/// Whether an elementwise kind takes two inputs.
bool isBinary(ElementwiseKind k);
/// How many inputs an elementwise kind takes (1, 2, or 3 for select).
unsigned numInputs(ElementwiseKind k);
/// Row-major element strides of a shape.
llvm::SmallVector<int64_t> contiguousStridesOf(llvm::ArrayRef<int64_t> shape);
/// A contiguous DRAM memref type of `shape` x `elementType`.
mlir::MemRefType dramBufferType(llvm::ArrayRef<int64_t> shape, mlir::Type elementType);
/// The buffer's `#npu.space<...>`, if it has one.
std::optional<MemorySpace> spaceOf(mlir::Type memref);
/// Whether the buffer lives in shared memory (npu-plan-memory put it there).
inline bool isShm(mlir::Type memref) { return spaceOf(memref) == MemorySpace::Shm; }
/// The bytes a buffer spans from its start: past its last element through
/// its strides (a multi-buffer's slices as far apart as they are laid out).
int64_t allocatedBytes(mlir::MemRefType t);
/// Whether `v` is a run-time value (a command-processor register).
inline bool isReg(mlir::Value v) { return llvm::isa<RegType>(v.getType()); }
} // namespace rbln::npu
