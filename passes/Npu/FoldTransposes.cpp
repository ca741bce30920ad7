//===- FoldTransposes.cpp - Head transposes into attention DMA strides ----===//
//
// Exported transformers split heads with Reshape + Transpose before attention
// ([B, S, H*D] -> [B, H, S, D]) and merge them after it. At the npu level each
// transpose is a copy kernel through DRAM or SHM; attention kernels load and
// store whole rows of D elements by DMA, so they can take the [B, S, H, D]
// buffer through strides instead and the copy disappears. The view keeps
// the transpose's location: --op-stats reports the node as moving no data.
//
#include "passes/Kernels/KernelGeometry.h"
#include "passes/Npu/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace rbln::npu {
#define GEN_PASS_DEF_NPUFOLDTRANSPOSES
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln;
using namespace rbln::npu;

namespace {

/// A copy kernel that only permutes (no cast, no broadcast) and keeps the
/// innermost dim (rows stay contiguous, as the kernels' DMA needs): its
/// source and destination, both with the identity layout.
bool isPlainPermute(ElementwiseOp c) {
  if (c.getKind() != ElementwiseKind::Copy || !c.getPerm() || c.getInputs().size() != 1)
    return false;
  auto in = cast<MemRefType>(c.getInputs()[0].getType());
  auto out = cast<MemRefType>(c.getOut().getType());
  return in.getElementType() == out.getElementType() && in.getLayout().isIdentity() &&
         out.getLayout().isIdentity() && in.getRank() == out.getRank() &&
         int64_t(c.getPerm()->size()) == out.getRank() && out.getRank() > 0 &&
         c.getPerm()->back() == out.getRank() - 1;
}

MemRefType stridedType(MemRefType like, ArrayRef<int64_t> shape, ArrayRef<int64_t> strides) {
  return MemRefType::get(shape, like.getElementType(),
                         StridedLayoutAttr::get(like.getContext(), 0, strides), like.getMemorySpace());
}

/// q, k or v of attention kernels only: they read `dst` = permute(src)
/// through a strided view of src.
bool foldIntoReads(ElementwiseOp c) {
  auto dst = c.getOut().getDefiningOp<AllocOp>();
  if (!dst)
    return false;
  for (OpOperand &use : dst->getUses()) {
    if (use.getOwner() == c.getOperation())
      continue;
    auto fa = dyn_cast<FlashAttentionOp>(use.getOwner());
    if (!fa || (&use != &fa.getQMutable() && &use != &fa.getKMutable() && &use != &fa.getVMutable()))
      return false;
  }
  Value src = c.getInputs()[0];
  auto st = cast<MemRefType>(src.getType());
  SmallVector<int64_t> srcStrides = contiguousStridesOf(st.getShape()), strides;
  ArrayRef<int64_t> perm = *c.getPerm();
  for (int64_t p : perm)
    strides.push_back(srcStrides[size_t(p)]);
  OpBuilder b(c);
  auto dt = cast<MemRefType>(dst.getType());
  Value view = ViewOp::create(b, c.getLoc(), stridedType(st, dt.getShape(), strides), src);
  dst.getResult().replaceUsesWithIf(view, [&](OpOperand &u) { return u.getOwner() != c.getOperation(); });
  c.erase();
  dst.erase();
  return true;
}

/// An attention kernel's result that only this copy reads: the kernel writes
/// straight into the copy's destination through a strided view.
bool foldIntoWrites(ElementwiseOp c) {
  Value x = c.getInputs()[0];
  auto xAlloc = x.getDefiningOp<AllocOp>();
  if (!xAlloc || !x.hasNUses(2))
    return false;
  FlashAttentionOp fa;
  for (Operation *user : x.getUsers())
    if (auto f = dyn_cast<FlashAttentionOp>(user))
      fa = f;
  if (!fa || fa.getOut() != x || fa.getQ() == x || fa.getK() == x || fa.getV() == x)
    return false;
  Value y = c.getOut();
  auto yAlloc = y.getDefiningOp<AllocOp>();
  if (!yAlloc && !isa<BlockArgument>(y))
    return false;
  // y's dim d is x's dim perm[d]: x's dim e walks y's stride at perm^-1(e).
  auto yt = cast<MemRefType>(y.getType());
  SmallVector<int64_t> yStrides = contiguousStridesOf(yt.getShape());
  SmallVector<int64_t> strides(yStrides.size());
  ArrayRef<int64_t> perm = *c.getPerm();
  for (auto [d, e] : llvm::enumerate(perm))
    strides[size_t(e)] = yStrides[d];
  if (yAlloc)
    yAlloc->moveBefore(fa);
  OpBuilder b(fa);
  auto xt = cast<MemRefType>(x.getType());
  Value view = ViewOp::create(b, c.getLoc(), stridedType(yt, xt.getShape(), strides), y);
  fa.getOutMutable().assign(view);
  c.erase();
  xAlloc.erase();
  return true;
}

struct NpuFoldTransposesPass : rbln::npu::impl::NpuFoldTransposesBase<NpuFoldTransposesPass> {
  void runOnOperation() override {
    SmallVector<ElementwiseOp> copies;
    getOperation().walk([&](ElementwiseOp c) {
      if (isPlainPermute(c))
        copies.push_back(c);
    });
    for (ElementwiseOp c : copies)
      if (!foldIntoReads(c))
        (void)foldIntoWrites(c);
  }
};

} // namespace
