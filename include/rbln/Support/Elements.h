//===- Elements.h - Raw bytes of constant tensors ---------------*- C++ -*-===//
#pragma once

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"
#include "rbln/runtime/DType.h"

#include <memory>
#include <optional>
#include <vector>

namespace rbln {
/// The runtime's element type of an MLIR element type (ui8 before i8:
/// signless and signed 8-bit integers are I8; i4 is packed weights), or
/// nullopt for one the NPU does not carry.
inline std::optional<DType> elementDType(mlir::Type t) {
  if (t.isF32()) return DType::F32;
  if (t.isF16()) return DType::F16;
  if (t.isBF16()) return DType::BF16;
  if (t.isInteger(32)) return DType::I32;
  if (t.isInteger(64)) return DType::I64;
  if (t.isUnsignedInteger(8)) return DType::U8;
  if (t.isInteger(8)) return DType::I8;
  if (t.isInteger(1)) return DType::Bool;
  if (t.isInteger(4)) return DType::I4;
  if (llvm::isa<mlir::Float8E4M3FNType>(t)) return DType::F8E4M3FN;
  if (llvm::isa<mlir::Float8E5M2Type>(t)) return DType::F8E5M2;
  if (llvm::isa<mlir::Float8E4M3FNUZType>(t)) return DType::F8E4M3FNUZ;
  if (llvm::isa<mlir::Float8E5M2FNUZType>(t)) return DType::F8E5M2FNUZ;
  return std::nullopt;
}
/// The row-major bytes of a constant (dense or dense_resource), with splats
/// expanded. Returns false if the attribute holds no data (e.g. a resource
/// whose blob was dropped).
bool getElementBytes(mlir::ElementsAttr attr, std::vector<char> &out);
/// The bytes of a dense_resource constant in place (no copy), or nullopt for
/// other attributes (use getElementBytes).
std::optional<llvm::ArrayRef<char>> getElementData(mlir::ElementsAttr attr);
/// A dense_resource constant of `type` whose blob is `bytes` in place: no
/// copy; `keepAlive` owns the memory (a mapped file, a buffer) until the
/// context drops the blob.
mlir::ElementsAttr makeResourceElementsView(mlir::ShapedType type, llvm::StringRef name,
                                            llvm::ArrayRef<char> bytes,
                                            std::shared_ptr<const void> keepAlive);
/// Makes a dense_resource constant named after `name` that owns a copy of
/// `bytes` (no second copy is kept in the IR).
mlir::ElementsAttr makeResourceElements(mlir::ShapedType type, llvm::StringRef name,
                                        llvm::ArrayRef<char> bytes);
/// The column sums of a row-major [k, n] int8 matrix (an integer matmul's
/// zero-point correction: (a - z) B = aB - z colsum(B)).
llvm::SmallVector<int64_t> int8ColumnSums(const int8_t *w, int64_t k, int64_t n);
} // namespace rbln
