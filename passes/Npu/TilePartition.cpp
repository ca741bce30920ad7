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

/// The loop nest a flash attention kernel expands into, for --compile-to=npu
/// (the command stream itself appears at the isa level).
std::string flashLoops(const FlashGeometry &g, const FlashLayout &l, FlashAttentionOp op,
                       const TargetDesc &t) {
  int64_t qTiles = ceilDiv(g.sq, l.tq), kTiles = ceilDiv(g.sk, l.tk);
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "parallel (b, h, q-tile) in " << g.b << "x" << g.hq << "x" << qTiles << " over " << t.num_ne()
     << " NEs { load Q[" << l.tq << "x" << g.d << "]; m = -inf, l = 0; for kv-tile in 0.." << kTiles;
  if (op.getCausal())
    os << " up to the diagonal (tiles above it skipped)";
  if (op.getWindow() > 0)
    os << " from the first window (tiles before it skipped)";
  os << " { " << (l.kvDouble     ? "K/V resident per (b, kv-head), the next one's fetched meanwhile"
                  : l.kvResident ? "K/V resident per (b, kv-head)"
                                 : "load K, V[" + std::to_string(l.tk) + " rows]")
     << "; S = Q K^T; " << (op.getCausal() ? "mask_upper on the diagonal tile; " : "")
     << (op.getWindow() > 0 ? "mask_lower on the window edge; " : "")
     << (op.getMask() ? "S += mask; " : "") << "softmax_step(S) -> P, m, l, alpha; O = alpha O + P V }; O /= l; store O }";
  return s;
}

std::string pagedLoops(const PagedGeometry &g, const PagedLayout &l, PagedAttentionOp op,
                       const TargetDesc &t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  int64_t parts = ceilDiv(g.maxSeqLen(), l.tk);
  if (g.decode())
    os << "parallel (seq, kv-head" << (l.splits > 1 ? ", split of " + std::to_string(l.splits) : std::string())
       << ") in " << g.b << "x" << g.hkv << (l.splits > 1 ? "x" + std::to_string(l.splits) : std::string())
       << " over " << t.num_ne() << " NEs { rows = " << g.hq / g.hkv << " query heads; ";
  else
    os << "parallel (seq, head, q-tile) in " << g.b << "x" << g.hq << "x" << ceilDiv(g.s, l.tq) << " over "
       << t.num_ne() << " NEs { rows = " << l.tq << " tokens; ";
  os << "pos = ld positions; for partition in ";
  if (op.getWindow() > 0)
    os << "the window [pos - " << op.getWindow() - 1 << ", pos] (start in a register)";
  else
    os << "0.." << parts << " while partition start <= pos (branch, skipped signals by empty commands)";
  os << " { for block in partition: id = ld.i32 block_table[(start + block) / " << g.blockSize
     << "]; dma K, V from cache + id * block bytes; S = Q K^T; mask keys > pos"
     << (op.getWindow() > 0 ? " and < pos - window + 1" : "") << "; softmax_step; O = alpha O + P V }"
     << (l.splits > 1 ? "; store O, m, l to SHM } combine the splits: O = sum w O_s / sum w l_s }"
                      : "; O /= l; store O }");
  return s;
}

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
        bool rowsOnce = l->tm >= g.m, colsOnce = l->tn >= g.n;
        mm.setReuseAttr(MatmulReuseAttr::get(&getContext(), rowsOnce && colsOnce ? MatmulReuse::BothOnce
                                                             : rowsOnce ? MatmulReuse::WeightsOnce
                                                             : colsOnce ? MatmulReuse::ActivationsOnce
                                                                        : MatmulReuse::Tiled));
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
        fa.setTileAttr(b.getDenseI64ArrayAttr({l->tq, l->tk, l->kvDouble ? 2 : l->kvResident ? 1 : 0}));
        op->setAttr("loops", b.getStringAttr(flashLoops(g, *l, fa, t)));
        op->setAttr("spm_bytes", b.getI64IntegerAttr(l->bytes));
      } else if (auto pa = dyn_cast<PagedAttentionOp>(op)) {
        PagedGeometry g = PagedGeometry::get(pa);
        auto l = choosePagedTiles(g, t, kvPartitionLen);
        if (failed(l)) {
          tooBig(op, layoutPaged(g, 1, g.blockSize).bytes);
          return WalkResult::interrupt();
        }
        pa.setTileAttr(b.getDenseI64ArrayAttr({l->tq, l->tk, l->splits}));
        op->setAttr("loops", b.getStringAttr(pagedLoops(g, *l, pa, t)));
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
