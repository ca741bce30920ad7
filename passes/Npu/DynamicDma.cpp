//===- DynamicDma.cpp - DMA at run-time indices ---------------------------===//
//
// `npu.dma load %kc[%blk : !npu.reg, %h, %slot, %c0] -> ...` becomes
//
//   %a = npu.cp.address %kc[%blk : !npu.reg, %c0, %c0, %c0]
//   npu.dma load %kc[%c0, %h, %slot, %c0] at(%a) -> ...
//
// right before the DMA: the command processor forms the row's address from
// the register indices, and the DMA engine adds the static offsets of the
// others to that register when the command is dispatched.
//
//===----------------------------------------------------------------------===//
#include "passes/Npu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace rbln::npu {
#define GEN_PASS_DEF_NPUDYNAMICDMA
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln::npu;

namespace {

struct NpuDynamicDmaPass : rbln::npu::impl::NpuDynamicDmaBase<NpuDynamicDmaPass> {
  void runOnOperation() override {
    SmallVector<DmaOp> dmas;
    getOperation().walk([&](DmaOp d) {
      if (llvm::any_of(d->getOperands(), isReg) && !d.getAddress())
        dmas.push_back(d);
    });
    for (DmaOp d : dmas) {
      bool toSpm = spaceOf(d.getDst().getType()) == MemorySpace::Spm;
      Value buf = toSpm ? d.getSrc() : d.getDst();
      MutableOperandRange idx = toSpm ? d.getSrcIndicesMutable() : d.getDstIndicesMutable();
      OpBuilder b(d);
      Location loc = d.getLoc();
      Value zero = d->getParentOfType<TileProgramOp>().getIndexConstant(0);
      SmallVector<Value> atIdx, dmaIdx;
      for (Value i : ValueRange(idx)) {
        bool reg = isReg(i);
        atIdx.push_back(reg ? i : zero);
        dmaIdx.push_back(reg ? zero : i);
      }
      Value at = CpAddressOp::create(b, loc, RegType::get(&getContext()), buf, atIdx);
      idx.assign(dmaIdx);
      d.getAddressMutable().assign(at);
    }
  }
};

} // namespace
