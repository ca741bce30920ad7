//===- TilePartition.cpp - Tile sizes from the target ---------------------===//
#include "passes/Npu/KernelGeometry.h"
#include "passes/Npu/Passes.h"
#include "rbln/Target/TargetInfo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace rbln::npu {
#define GEN_PASS_DEF_NPUTILEPARTITION
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln;
using namespace rbln::npu;

namespace {
struct NpuTilePartitionPass : rbln::npu::impl::NpuTilePartitionBase<NpuTilePartitionPass> {
  using Base::Base;
  void runOnOperation() override {
    auto target = lookupTarget(getOperation(), this->target);
    if (failed(target))
      return signalPassFailure();
    const TargetDesc &t = *target;
    Builder b(&getContext());
    auto tooBig = [&](Operation *op, int64_t need) {
      op->emitError("no tiling of this kernel fits the ")
          << t.spm_bytes() << "-byte scratchpad of target '" << t.name() << "'"
          << (need ? " (the smallest tile needs " + std::to_string(need) + " bytes)" : "");
    };
    WalkResult r = getOperation().walk([&](Operation *op) {
      if (auto mm = dyn_cast<MatmulOp>(op)) {
        MatmulGeometry g = MatmulGeometry::get(mm);
        auto l = chooseMatmulTiles(g, t);
        if (failed(l)) {
          tooBig(op, layoutMatmul(g, std::min<int64_t>(g.m, t.tensor().array_rows()),
                                  std::min<int64_t>(g.n, t.tensor().array_cols()),
                                  std::min<int64_t>(g.k, 16)).bytes);
          return WalkResult::interrupt();
        }
        mm.setTileAttr(b.getDenseI64ArrayAttr({l->tm, l->tn, l->tk}));
        op->setAttr("spm_bytes", b.getI64IntegerAttr(l->bytes));
      } else if (auto ew = dyn_cast<ElementwiseOp>(op)) {
        auto g = ElementwiseGeometry::get(ew);
        if (failed(g)) {
          op->emitError("this elementwise kernel needs more than the 4 strided dims of a DMA "
                        "descriptor, even after merging contiguous dims");
          return WalkResult::interrupt();
        }
        auto l = chooseElementwiseTiles(*g, t);
        if (failed(l)) {
          tooBig(op, 0);
          return WalkResult::interrupt();
        }
        ew.setTileAttr(b.getDenseI64ArrayAttr({l->rows, l->cols}));
        op->setAttr("spm_bytes", b.getI64IntegerAttr(l->bytes));
      } else if (auto rk = dyn_cast<RowsOp>(op)) {
        RowsGeometry g = RowsGeometry::get(rk);
        auto l = chooseRowsTiles(g, t);
        if (failed(l)) {
          tooBig(op, layoutRows(g, 1).bytes);
          return WalkResult::interrupt();
        }
        rk.setTileAttr(b.getDenseI64ArrayAttr({l->rows}));
        op->setAttr("spm_bytes", b.getI64IntegerAttr(l->bytes));
      } else if (auto fa = dyn_cast<FlashAttentionOp>(op)) {
        FlashGeometry g = FlashGeometry::get(fa);
        auto l = chooseFlashTiles(g, t, kvPartitionLen);
        if (failed(l)) {
          tooBig(op, layoutFlash(g, 1, kvPartitionLen > 0 ? std::min(kvPartitionLen.getValue(), g.sk) : 1,
                                 false).bytes);
          return WalkResult::interrupt();
        }
        fa.setTileAttr(b.getDenseI64ArrayAttr({l->tq, l->tk, l->kvResident ? 1 : 0}));
        op->setAttr("spm_bytes", b.getI64IntegerAttr(l->bytes));
      } else if (auto pa = dyn_cast<PagedAttentionOp>(op)) {
        PagedGeometry g = PagedGeometry::get(pa);
        auto l = choosePagedTiles(g, t, kvPartitionLen);
        if (failed(l)) {
          tooBig(op, layoutPaged(g, 1, g.blockSize).bytes);
          return WalkResult::interrupt();
        }
        pa.setTileAttr(b.getDenseI64ArrayAttr({l->tq, l->tk, l->splits}));
        op->setAttr("spm_bytes", b.getI64IntegerAttr(l->bytes));
      } else if (auto ga = dyn_cast<GatherOp>(op)) {
        GatherGeometry g = GatherGeometry::get(ga);
        auto l = chooseGatherTiles(g, t);
        if (failed(l)) {
          tooBig(op, layoutGather(g, 1).bytes);
          return WalkResult::interrupt();
        }
        ga.setTileAttr(b.getDenseI64ArrayAttr({l->rows}));
        op->setAttr("spm_bytes", b.getI64IntegerAttr(l->bytes));
      } else if (auto sm = dyn_cast<SoftmaxOp>(op)) {
        SoftmaxGeometry g = SoftmaxGeometry::get(sm);
        auto l = chooseSoftmaxTiles(g, t);
        if (failed(l)) {
          tooBig(op, layoutSoftmax(g, 1).bytes);
          return WalkResult::interrupt();
        }
        sm.setTileAttr(b.getDenseI64ArrayAttr({l->rows}));
        op->setAttr("spm_bytes", b.getI64IntegerAttr(l->bytes));
      }
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
