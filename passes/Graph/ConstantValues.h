//===- ConstantValues.h - Values of graph constants, for rewrite patterns --===//
#ifndef RBLN_PASSES_GRAPH_CONSTANTVALUES_H
#define RBLN_PASSES_GRAPH_CONSTANTVALUES_H

#include "dialects/Graph/GraphDialect.h"
#include "rbln/Support/Elements.h"

#include <cstring>
#include <optional>

namespace rbln::graph {

/// The value of a splat floating-point constant, if `v` is one (a dense
/// splat, or a one-element f32 resource: exporters write scalars as
/// initializers).
inline std::optional<double> splatValue(mlir::Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  auto dense = llvm::dyn_cast<mlir::DenseElementsAttr>(c.getValue());
  if (dense && dense.isSplat() && llvm::isa<mlir::FloatType>(dense.getElementType()))
    return dense.getSplatValue<llvm::APFloat>().convertToDouble();
  auto t = llvm::cast<mlir::RankedTensorType>(c.getType());
  std::vector<char> bytes;
  if (t.getNumElements() == 1 && t.getElementType().isF32() &&
      rbln::getElementBytes(llvm::cast<mlir::ElementsAttr>(c.getValue()), bytes) && bytes.size() == 4) {
    float f;
    std::memcpy(&f, bytes.data(), 4);
    return f;
  }
  return std::nullopt;
}

} // namespace rbln::graph

#endif // RBLN_PASSES_GRAPH_CONSTANTVALUES_H
