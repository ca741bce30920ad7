//===- Elements.cpp - Raw bytes of constant tensors -----------------------===//
#include "rbln/Support/Elements.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

namespace rbln {

/// Bytes a constant's elements take: i1 a byte each, i4 two to a byte
/// (ONNX's INT4 packing, low nibble first), others their width.
static size_t storageBytes(ShapedType type) {
  Type t = type.getElementType();
  size_t n = size_t(type.getNumElements());
  if (t.isInteger(1))
    return n;
  unsigned bits = t.getIntOrFloatBitWidth();
  return bits < 8 ? (n * bits + 7) / 8 : n * (bits / 8);
}

bool getElementBytes(ElementsAttr attr, std::vector<char> &out) {
  auto type = cast<ShapedType>(attr.getType());
  size_t bytes = storageBytes(type);
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != bytes)
      return false;
    ArrayRef<char> d = blob->getData();
    out.assign(d.begin(), d.end());
    return true;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (type.getElementType().isInteger(4)) // (MLIR stores these a byte each: unpacked)
      return false;
    if (type.getElementType().isInteger(1)) {
      out.clear();
      for (bool b : dense.getValues<bool>())
        out.push_back(char(b));
      return true;
    }
    ArrayRef<char> raw = dense.getRawData();
    if (dense.isSplat()) {
      out.clear();
      out.reserve(bytes);
      for (int64_t i = 0; i < type.getNumElements(); ++i)
        out.insert(out.end(), raw.begin(), raw.end());
      return true;
    }
    out.assign(raw.begin(), raw.end());
    return out.size() == bytes;
  }
  return false;
}

std::optional<ArrayRef<char>> getElementData(ElementsAttr attr) {
  auto res = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!res)
    return std::nullopt;
  auto type = cast<ShapedType>(attr.getType());
  size_t bytes = storageBytes(type);
  AsmResourceBlob *blob = res.getRawHandle().getBlob();
  if (!blob || blob->getData().size() != bytes)
    return std::nullopt;
  return blob->getData();
}

ElementsAttr makeResourceElementsView(ShapedType type, StringRef name, ArrayRef<char> bytes,
                                      std::shared_ptr<const void> keepAlive) {
  // The blob's alignment is what the address has (capped at 64).
  uintptr_t addr = reinterpret_cast<uintptr_t>(bytes.data());
  size_t align = 64;
  while (align > 1 && addr % align)
    align /= 2;
  AsmResourceBlob blob(bytes, align,
                       [keep = std::move(keepAlive)](void *, size_t, size_t) mutable { keep.reset(); },
                       /*dataIsMutable=*/false);
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

ElementsAttr makeResourceElements(ShapedType type, StringRef name, ArrayRef<char> bytes) {
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64);
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

llvm::SmallVector<int64_t> int8ColumnSums(const int8_t *w, int64_t k, int64_t n) {
  llvm::SmallVector<int64_t> sums(static_cast<size_t>(n), 0);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c)
      sums[size_t(c)] += w[r * n + c];
  return sums;
}

} // namespace rbln
