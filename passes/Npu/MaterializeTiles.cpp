//===- MaterializeTiles.cpp - Kernels into tile programs ------------------===//
#include "passes/Kernels/TileBuilder.h"
#include "passes/Npu/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/CSE.h"
#include "llvm/ADT/TypeSwitch.h"

namespace rbln::npu {
#define GEN_PASS_DEF_NPUMATERIALIZETILES
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln::npu;

namespace {

struct NpuMaterializeTilesPass : rbln::npu::impl::NpuMaterializeTilesBase<NpuMaterializeTilesPass> {
  void runOnOperation() override {
    SmallVector<Operation *> kernels;
    getOperation().walk([&](Operation *op) {
      if (llvm::isa<SoftmaxOp, RowsOp, ElementwiseOp, MatmulOp, GatherOp, KvCacheWriteOp, FlashAttentionOp,
                    PagedAttentionOp>(op))
        kernels.push_back(op);
    });
    for (Operation *k : kernels) {
      if (!k->getAttrOfType<TilingAttr>("tiling")) {
        k->emitOpError("has no tiling (run npu-tile-partition)");
        return signalPassFailure();
      }
      OpBuilder b(k);
      LogicalResult r = llvm::TypeSwitch<Operation *, LogicalResult>(k)
                            .Case([&](SoftmaxOp s) { return materializeSoftmax(b, s); })
                            .Case([&](RowsOp r) { return materializeRows(b, r); })
                            .Case([&](ElementwiseOp e) { return materializeElementwise(b, e); })
                            .Case([&](MatmulOp m) { return materializeMatmul(b, m); })
                            .Case([&](GatherOp g) { return materializeGather(b, g); })
                            .Case([&](KvCacheWriteOp w) { return materializeKvCacheWrite(b, w); })
                            .Case([&](FlashAttentionOp f) { return materializeFlash(b, f); })
                            .Case([&](PagedAttentionOp a) { return materializePaged(b, a); });
      if (failed(r))
        return signalPassFailure();
      k->erase();
    }
    // Index arithmetic the builders wrote twice (e.g. a tile's bounds for
    // two uses) once; run-time ops (npu.sem_count, CP loads) are not pure.
    IRRewriter rewriter(&getContext());
    DominanceInfo dom;
    getOperation().walk([&](TileProgramOp p) { eliminateCommonSubExpressions(rewriter, dom, p); });
  }
};

} // namespace
