//===- NpuIsaDialect.h - The npuisa dialect ---------------------*- C++ -*-===//
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "rbln/runtime/Isa.h"

#include <functional>
#include <optional>

#include "dialects/NpuIsa/NpuIsaDialect.h.inc"
#include "dialects/NpuIsa/NpuIsaEnums.h.inc"

namespace rbln::npuisa {
// What every instruction op's print, parse and verify call (NpuIsaBase.td).
void printInst(mlir::OpAsmPrinter &p, mlir::Operation *op);
mlir::ParseResult parseInst(mlir::OpAsmParser &parser, mlir::OperationState &result,
                            isa::Opcode opcode);
llvm::LogicalResult verifyInst(mlir::Operation *op);
} // namespace rbln::npuisa

#include "dialects/NpuIsa/NpuIsaInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialects/NpuIsa/NpuIsaOps.h.inc"

namespace rbln::npuisa {
/// The index of the instruction after label `name`, if the function has it.
using LabelResolver = std::function<std::optional<int64_t>(llvm::StringRef)>;
/// The instruction an instruction op stands for (labels resolved by
/// `labels`; without it every target reads 0), or an error message. Field
/// widths are the encoder's to check (the verifier and the emitter do).
Expected<isa::Inst> toInst(InstOpInterface op, const LabelResolver &labels = {});
/// The label name of an instruction index as builders write it (`L12`).
using LabelNamer = std::function<mlir::StringAttr(int64_t)>;
/// Creates the op of `inst` at `loc`; Label fields named by `labelOf`.
mlir::Operation *createInst(mlir::OpBuilder &b, mlir::Location loc, const isa::Inst &inst,
                            const LabelNamer &labelOf);
/// The ISA element type code of an MLIR type, if it has one.
std::optional<DType> toDType(mlir::Type t);
/// The MLIR type of an ISA element type code.
mlir::Type typeOf(mlir::MLIRContext *ctx, DType d);
} // namespace rbln::npuisa
