//===- GraphDialect.h - The graph dialect -----------------------*- C++ -*-===//
#pragma once

#include "rbln/Support/Shapes.h"

#include <string>

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Graph/GraphDialect.h.inc"
#include "dialects/Graph/GraphEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Graph/GraphAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/Graph/GraphOps.h.inc"

namespace rbln::graph {
/// The NumPy broadcast of two static shapes, or failure if incompatible.
/// Why q/k/v/mask/result types cannot form a graph.attention ("" if they can);
/// the verifier's check, also used by passes before they build one.
std::string attentionTypeError(mlir::RankedTensorType q, mlir::RankedTensorType k,
                               mlir::RankedTensorType v, mlir::RankedTensorType mask,
                               mlir::RankedTensorType result);
using ::rbln::broadcastShapes; // (rbln/Support/Shapes.h)
} // namespace rbln::graph
