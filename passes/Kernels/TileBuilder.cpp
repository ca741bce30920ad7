//===- TileBuilder.cpp - Writing a kernel as a tile program ---------------===//
#include "passes/Kernels/TileBuilder.h"

using namespace mlir;

namespace rbln::npu {

Value asRows(OpBuilder &b, Location loc, Value buf, int64_t rows, int64_t len) {
  auto type = cast<MemRefType>(buf.getType());
  if (type.getRank() == 2 && type.getDimSize(0) == rows && type.getDimSize(1) == len)
    return buf;
  auto to = MemRefType::get({rows, len}, type.getElementType(), MemRefLayoutAttrInterface(),
                            type.getMemorySpace());
  return ViewOp::create(b, loc, to, buf);
}

Value asFlat(OpBuilder &b, Location loc, Value buf) {
  auto type = cast<MemRefType>(buf.getType());
  if (type.getRank() == 1 && type.getLayout().isIdentity())
    return buf;
  auto to = MemRefType::get({type.getNumElements()}, type.getElementType(),
                            MemRefLayoutAttrInterface(), type.getMemorySpace());
  return ViewOp::create(b, loc, to, buf);
}

Value asView(OpBuilder &b, Location loc, Value buf, ArrayRef<int64_t> shape,
             ArrayRef<int64_t> strides) {
  auto type = cast<MemRefType>(buf.getType());
  int64_t offset = layoutOffset(type);
  bool contiguous = offset == 0 && type.getLayout().isIdentity() &&
                    type.getNumElements() == ShapedType::getNumElements(shape) &&
                    ArrayRef<int64_t>(contiguousStridesOf(shape)) == strides;
  if (contiguous && type.getShape() == shape)
    return buf;
  MemRefLayoutAttrInterface layout;
  if (!contiguous)
    layout = StridedLayoutAttr::get(b.getContext(), offset, strides);
  auto to = MemRefType::get(shape, type.getElementType(), layout, type.getMemorySpace());
  return ViewOp::create(b, loc, to, buf);
}

} // namespace rbln::npu
