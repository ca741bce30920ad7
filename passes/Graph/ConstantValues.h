//===- ConstantValues.h - Values of graph constants, for rewrite patterns --===//
#ifndef RBLN_PASSES_GRAPH_CONSTANTVALUES_H
#define RBLN_PASSES_GRAPH_CONSTANTVALUES_H

#include "dialects/Graph/GraphDialect.h"
#include "rbln/Support/Elements.h"

#include <cmath>
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

/// A QDQ model's dequantized 8-bit tensor, as quantize_static's
/// DequantizeLinear imports: (float(q) - zero_point) * scale, q int8, uint8
/// or an 8-bit float (whose zero point is 0), scale and zero_point splat
/// constants (the subtraction absent for a zero point of 0).
struct Dequantized {
  mlir::Value q;
  double scale = 1, zeroPoint = 0;
  mlir::Operation *mul = nullptr; ///< the multiply by the scale (its location)
};
inline std::optional<Dequantized> matchDequantized(mlir::Value v) {
  auto scaled = v.getDefiningOp<MulOp>();
  if (!scaled)
    return std::nullopt;
  for (unsigned i = 0; i < 2; ++i) {
    std::optional<double> s = splatValue(scaled->getOperand(1 - i));
    if (!s || !std::isfinite(*s))
      continue;
    mlir::Value centered = scaled->getOperand(i);
    double z = 0;
    if (auto sub = centered.getDefiningOp<SubOp>()) {
      std::optional<double> zp = splatValue(sub.getRhs());
      if (!zp)
        continue;
      z = *zp, centered = sub.getLhs();
    }
    auto widen = centered.getDefiningOp<CastOp>();
    mlir::Type qt = widen ? llvm::cast<mlir::RankedTensorType>(widen.getInput().getType()).getElementType()
                          : mlir::Type();
    bool float8 = qt && llvm::isa<mlir::FloatType>(qt) && qt.getIntOrFloatBitWidth() == 8;
    if (!widen || !(qt.isInteger(8) || (float8 && z == 0)) || widen.getType() != scaled.getType())
      continue;
    return Dequantized{widen.getInput(), *s, z, scaled};
  }
  return std::nullopt;
}

} // namespace rbln::graph

#endif // RBLN_PASSES_GRAPH_CONSTANTVALUES_H
