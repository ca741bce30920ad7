//===- TilePartition.cpp - Tile sizes from the target ---------------------===//
#include "passes/Kernels/KernelGeometry.h"
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
    MLIRContext *ctx = &getContext();
    const int64_t allNe = int64_t(t.num_ne());
    auto tiling = [&](ArrayRef<int64_t> tile, int64_t bytes, int64_t ne = 0, int64_t splits = 1,
                      KvResidency kv = KvResidency::Streamed) {
      return TilingAttr::get(ctx, tile, ne ? ne : allNe, bytes, splits, kv);
    };
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
        mm.setTilingAttr(tiling({l->tm, l->tn, l->tk}, l->bytes));
        bool rowsOnce = l->tm >= g.m, colsOnce = l->tn >= g.n;
        mm.setReuseAttr(MatmulReuseAttr::get(&getContext(), rowsOnce && colsOnce ? MatmulReuse::BothOnce
                                                             : rowsOnce ? MatmulReuse::WeightsOnce
                                                             : colsOnce ? MatmulReuse::ActivationsOnce
                                                                        : MatmulReuse::Tiled));
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
        ew.setTilingAttr(tiling({l->rows, l->cols}, l->bytes));
      } else if (auto rk = dyn_cast<RowsOp>(op)) {
        RowsGeometry g = RowsGeometry::get(rk);
        auto l = chooseRowsTiles(g, t);
        if (failed(l)) {
          tooBig(op, layoutRows(g, 1).bytes);
          return WalkResult::interrupt();
        }
        rk.setTilingAttr(tiling({l->rows}, l->bytes));
      } else if (auto fa = dyn_cast<FlashAttentionOp>(op)) {
        FlashGeometry g = FlashGeometry::get(fa);
        auto l = chooseFlashTiles(g, t, kvPartitionLen);
        if (failed(l)) {
          tooBig(op, layoutFlash(g, 1, kvPartitionLen > 0 ? std::min(kvPartitionLen.getValue(), g.sk) : 1,
                                 false).bytes);
          return WalkResult::interrupt();
        }
        fa.setTilingAttr(tiling({l->tq, l->tk}, l->bytes, 0, 1,
                                l->kvDouble     ? KvResidency::DoubleBuffered
                                : l->kvResident ? KvResidency::Resident
                                                : KvResidency::Streamed));
      } else if (auto pa = dyn_cast<PagedAttentionOp>(op)) {
        PagedGeometry g = PagedGeometry::get(pa);
        // SHM the function's intermediates leave (npu-plan-memory).
        int64_t shmUsed = 0;
        if (auto fn = pa->getParentOfType<func::FuncOp>())
          if (auto a = fn->getAttrOfType<IntegerAttr>("rbln.shm_scratch_bytes"))
            shmUsed = a.getInt();
        auto l = choosePagedTiles(g, t, kvPartitionLen, int64_t(t.shm_bytes()) - shmUsed);
        if (failed(l)) {
          tooBig(op, layoutPaged(g, 1, g.blockSize).bytes);
          return WalkResult::interrupt();
        }
        int64_t ne = pagedNeCount(pa, t);
        PagedLayout fl = finalizePagedTiles(g, *l, pa.getWindow(), ne);
        pa.setTilingAttr(tiling({fl.tq, fl.tk}, fl.bytes, ne, fl.splits));
      } else if (auto kw = dyn_cast<KvCacheWriteOp>(op)) {
        KvCacheWriteLayout l = layoutKvCacheWrite(kw);
        if (uint64_t(l.bytes) > t.spm_bytes()) {
          op->emitError("one token's K/V row (")
              << l.rowBytes << " bytes) does not fit the " << t.spm_bytes()
              << "-byte scratchpad of target '" << t.name() << "'";
          return WalkResult::interrupt();
        }
        kw.setTilingAttr(tiling({1}, l.bytes));
      } else if (auto ga = dyn_cast<GatherOp>(op)) {
        GatherGeometry g = GatherGeometry::get(ga);
        auto l = chooseGatherTiles(g, t);
        if (failed(l)) {
          tooBig(op, layoutGather(g, 1).bytes);
          return WalkResult::interrupt();
        }
        ga.setTilingAttr(tiling({l->rows}, l->bytes));
      } else if (auto sm = dyn_cast<SoftmaxOp>(op)) {
        SoftmaxGeometry g = SoftmaxGeometry::get(sm);
        auto l = chooseSoftmaxTiles(g, t);
        if (failed(l)) {
          tooBig(op, layoutSoftmax(g, 1).bytes);
          return WalkResult::interrupt();
        }
        sm.setTilingAttr(tiling({l->rows}, l->bytes));
      }
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
