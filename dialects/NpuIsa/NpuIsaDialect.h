//===- NpuIsaDialect.h - The npuisa dialect ---------------------*- C++ -*-===//
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "rbln/runtime/Isa.h"

#include "dialects/NpuIsa/NpuIsaDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/NpuIsa/NpuIsaOps.h.inc"

namespace rbln::npuisa {
/// The instruction an `npuisa.inst` stands for, or an error message.
Expected<isa::Inst> toInst(InstOp op);
/// Creates the op for `inst` at `loc`.
InstOp createInst(mlir::OpBuilder &b, mlir::Location loc, const isa::Inst &inst);
/// The ISA element type code of an MLIR type, if it has one.
std::optional<DType> toDType(mlir::Type t);
} // namespace rbln::npuisa
