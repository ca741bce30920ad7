//===- HostValue.h - Tensors the importer evaluates on the host -----------===//
//
// What constant folding computes with (ConstantFolding.cpp): a constant's
// elements as int64 or double, loaded from a Symbol's bytes and stored back
// in the element type, with NumPy broadcasting for elementwise folds.
//
//===----------------------------------------------------------------------===//
#ifndef RBLN_LIB_FRONTEND_ONNX_HOSTVALUE_H
#define RBLN_LIB_FRONTEND_ONNX_HOSTVALUE_H

#include "ImporterImpl.h"

#include <numeric>
#include <vector>

namespace rbln::onnx_import::host {

/// A host tensor: integers (incl. bool) in `i`, floats in `f`.
struct HostValue {
  mlir::Type type;
  llvm::SmallVector<int64_t> shape;
  std::vector<int64_t> i;
  std::vector<double> f;
  bool isFloat() const { return mlir::isa<mlir::FloatType>(type); }
  int64_t numel() const {
    return std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<int64_t>());
  }
  double at(int64_t k) const { return isFloat() ? f[size_t(k)] : double(i[size_t(k)]); }
  /// Element k as an integer: exact for integer tensors, saturated for floats.
  int64_t atInt(int64_t k) const;
};

/// x as an int64, saturated (NaN: 0).
int64_t saturate(double x);
/// Bytes per element of an integer, bool or float type.
unsigned byteWidth(mlir::Type t);
/// A constant symbol's elements.
mlir::FailureOr<HostValue> load(const Symbol &s);
/// `v`'s elements as bytes of its element type.
std::vector<char> store(const HostValue &v);
/// A zero tensor of `type` and `shape`.
HostValue make(mlir::Type type, llvm::ArrayRef<int64_t> shape);
/// Element k of `v` set to x (integers saturate).
void set(HostValue &v, int64_t k, double x);
/// Element k of `v` read at output index `idx` under NumPy broadcasting.
double bcastAt(const HostValue &v, llvm::ArrayRef<int64_t> idx);
/// `fn` of the broadcast elements of `in`, as `outType` (an error at the
/// node when the shapes do not broadcast or the result is too large).
mlir::FailureOr<HostValue> elementwise(NodeContext &nc, llvm::ArrayRef<HostValue> in, mlir::Type outType,
                                       llvm::function_ref<double(llvm::ArrayRef<double>)> fn);

} // namespace rbln::onnx_import::host

#endif // RBLN_LIB_FRONTEND_ONNX_HOSTVALUE_H
