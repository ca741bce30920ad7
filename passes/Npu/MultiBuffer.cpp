//===- MultiBuffer.cpp - Copies of per-item buffers: pipelining -----------===//
//
// A kernel written one work item at a time allocates the scratchpad buffers
// each item fills afresh as `item_local`. When more than one engine touches
// such a buffer (a DMA fills it, the vector engine works on it, a DMA stores
// it), the next item's transfer could overlap this item's work only in
// another copy: the buffer becomes `buffers` copies, and every access gains a
// leading index `%iter mod buffers` (the NE's item count, so its items use
// the copies in turn). npu-insert-sync then orders an item's accesses after
// those of the item that last used the same copy. A buffer one engine alone
// touches keeps one copy: its engine runs the items in order. The tile
// choosers reserve two copies of every per-item buffer (SpmSize), so more
// buffers than two need the tiling to reserve them (npu-allocate-scratchpad
// refuses a program that outgrows its tiling). A buffer each step of an item
// cut into steps fills afresh (`step_local`: a matmul's operand tiles) gets
// its copies by the step instead: `%step mod buffers`.
//
//===----------------------------------------------------------------------===//
#include "passes/Kernels/KernelGeometry.h"
#include "passes/Npu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallBitVector.h"

namespace rbln::npu {
#define GEN_PASS_DEF_NPUMULTIBUFFER
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln::npu;

namespace {

/// Prepends `slot` to the indices of every tile of `op` in `buf`.
void prependSlot(EngineOp op, Value buf, Value slot) {
  SmallVector<TileAccess> tiles;
  op.getTileAccesses(tiles);
  size_t n = llvm::count_if(tiles, [&](const TileAccess &t) { return t.buf == buf; });
  for (size_t k = 0; k < n; ++k) {
    // Afresh each time: changing one operand list moves the others.
    tiles.clear();
    op.getTileAccesses(tiles);
    auto mine = llvm::make_filter_range(tiles, [&](const TileAccess &t) { return t.buf == buf; });
    TileAccess &t = *std::next(mine.begin(), k);
    SmallVector<Value> v{slot};
    llvm::append_range(v, ValueRange(t.indices));
    t.indices.assign(v);
  }
}

struct NpuMultiBuffer : rbln::npu::impl::NpuMultiBufferBase<NpuMultiBuffer> {
  using Base::Base;

  void runOnOperation() override {
    if (buffers < 1) {
      getOperation().emitError("npu-multi-buffer: buffers must be at least 1, got ") << int64_t(buffers);
      return signalPassFailure();
    }
    SmallVector<AllocOp> todo;
    getOperation().walk([&](AllocOp a) {
      if (a.getItemLocal() || a.getStepLocal())
        todo.push_back(a);
    });
    // per distribute and kind: %iter (or %step) mod buffers
    DenseMap<std::pair<Operation *, unsigned>, Value> slots;
    for (AllocOp a : todo)
      if (failed(multiBuffer(a, slots)))
        return signalPassFailure();
  }

  LogicalResult multiBuffer(AllocOp a, DenseMap<std::pair<Operation *, unsigned>, Value> &slots) {
    bool perStep = a.getStepLocal();
    StringRef kind = perStep ? "step-local" : "item-local";
    // Every use: an engine op in one distribute's items.
    DistributeOp dist;
    SetVector<Operation *> users; // an op may use the buffer twice
    llvm::SmallBitVector engines(kNumEngines);
    for (Operation *u : a->getUsers()) {
      auto e = dyn_cast<EngineOp>(u);
      auto d = u->getParentOfType<DistributeOp>();
      if (!e || !d)
        return u->emitOpError("uses ")
               << kind << " buffer '" << a.getName().value_or("") << "' outside the commands of a work item";
      if (dist && d != dist)
        return a.emitOpError("is ") << kind << " but two distributes use it";
      dist = d;
      engines.set(unsigned(e.getEngine()));
      users.insert(u);
    }
    a.removeItemLocalAttr();
    a.removeStepLocalAttr();
    if (!dist || engines.count() < 2 || buffers == 1)
      return success(); // one engine runs the items in order: one copy
    auto one = cast<MemRefType>(a.getType());
    if (!one.getLayout().isIdentity())
      return a.emitOpError("is ") << kind << " but not contiguous";
    a.getResult().setType(copiesType(one, buffers));
    perStep = perStep && dist.getSteps() > 1; // else the step is the item
    Value &slot = slots[{dist.getOperation(), unsigned(perStep)}];
    if (!slot) {
      Value n = dist->getParentOfType<TileProgramOp>().getIndexConstant(buffers);
      OpBuilder b = OpBuilder::atBlockBegin(&dist.getBody().front());
      slot = arith::RemSIOp::create(b, dist.getLoc(), perStep ? dist.getStep() : dist.getIter(), n);
    }
    for (Operation *u : users)
      prependSlot(cast<EngineOp>(u), a.getResult(), slot);
    return success();
  }
};

} // namespace
