//===- KernelGeometry.cpp - What every kernel's geometry shares --------------===//
//
// Each kernel's own shapes, tiles and SPM layout are in the file of its name
// in this folder, beside its lowering into instructions.
//
//===----------------------------------------------------------------------===//
#include "passes/Kernels/KernelGeometry.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/bit.h"

#include "dialects/NpuIsa/NpuIsaDialect.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::npu {

MemRefType copiesType(MemRefType one, int64_t copies) {
  SmallVector<int64_t> shape{copies};
  llvm::append_range(shape, one.getShape());
  SmallVector<int64_t> strides = contiguousStridesOf(shape);
  // (in bits: 4-bit elements are two a byte; i1 takes a byte)
  int64_t bits = std::max<int64_t>(one.getElementTypeBitWidth(), 8);
  if (one.getElementType().isInteger(4))
    bits = 4;
  MemRefLayoutAttrInterface layout;
  if (int64_t copy = alignTo(strides[0] * bits, kSpmAlign * 8) / bits; copies > 1 && copy != strides[0]) {
    strides[0] = copy;
    layout = StridedLayoutAttr::get(one.getContext(), 0, strides);
  }
  return MemRefType::get(shape, one.getElementType(), layout, one.getMemorySpace());
}

/// Rows per tile for a row kernel: enough tiles for every NE -- up to
/// kRowTilesPerNe each while a tile keeps kMinRowTileElems elements, so one
/// tile's load and store overlap another's vector work (double buffering) --
/// halved until the layout fits the scratchpad.
FailureOr<int64_t> chooseRowCount(int64_t rows, int64_t len, const TargetDesc &t,
                                  function_ref<int64_t(int64_t)> bytesFor) {
  if (len > kMaxField || rows == 0)
    return failure();
  int64_t perNe = ceilDiv(rows, int64_t(t.num_ne()));
  int64_t pipelined = std::max(ceilDiv(rows, int64_t(t.num_ne()) * kRowTilesPerNe),
                               ceilDiv(kMinRowTileElems, std::max<int64_t>(len, 1)));
  int64_t r = std::min({rows, kMaxField, perNe, pipelined});
  while (r > 0 && uint64_t(bytesFor(r)) > t.spm_bytes())
    r /= 2;
  if (r == 0)
    return failure();
  return r;
}

DType dtypeOf(Type t) {
  auto d = npuisa::toDType(t);
  return d ? *d : DType::F32;
}

SmallVector<int64_t> contiguousStrides(ArrayRef<int64_t> shape) {
  return contiguousStridesOf(shape);
}

SmallVector<int64_t> layoutStrides(MemRefType t) {
  if (t.getLayout().isIdentity())
    return contiguousStrides(t.getShape());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(t.getStridesAndOffset(strides, offset)))
    return contiguousStrides(t.getShape());
  return strides;
}

int64_t layoutOffset(MemRefType t) {
  if (t.getLayout().isIdentity())
    return 0;
  SmallVector<int64_t> strides;
  int64_t offset = 0;
  if (failed(t.getStridesAndOffset(strides, offset)))
    return 0;
  return offset;
}

SmallVector<int64_t> viewStrides(ArrayRef<int64_t> inShape, ArrayRef<int64_t> inStrides,
                                        ArrayRef<int64_t> outShape) {
  SmallVector<int64_t> s(outShape.size(), 0);
  size_t off = outShape.size() - inShape.size();
  for (size_t i = 0; i < inShape.size(); ++i)
    s[off + i] = (inShape[i] == 1 && outShape[off + i] != 1) ? 0 : inStrides[i];
  return s;
}

SmallVector<int64_t> broadcastStrides(ArrayRef<int64_t> inShape, ArrayRef<int64_t> outShape) {
  return viewStrides(inShape, contiguousStrides(inShape), outShape);
}

unsigned argumentRegisters(ValueRange buffers) {
  llvm::SmallPtrSet<Value, 8> args;
  for (Value v : buffers) {
    while (auto view = v.getDefiningOp<ViewOp>())
      v = view.getSource();
    if (llvm::isa<BlockArgument>(v))
      args.insert(v);
  }
  return unsigned(args.size());
}

} // namespace rbln::npu
