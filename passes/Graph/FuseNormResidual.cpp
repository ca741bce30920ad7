//===- FuseNormResidual.cpp - The residual Add into the norm after it -----===//
//
// Transformers normalize a sum: `LayerNorm(x + skip)` after every block of a
// post-norm model (BERT), `RMSNorm(h + attn)` in pre-norm decoders, and the
// embeddings' sum before the first layer. When the sum feeds only the norm,
// the norm kernel reads both rows and adds them in SPM: one kernel and one
// round trip of the sum through memory fewer.
//
#include "passes/Graph/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHFUSENORMRESIDUAL
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

struct FuseResidualIntoNorm : OpRewritePattern<NormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NormOp norm, PatternRewriter &rewriter) const override {
    auto add = norm.getInput().getDefiningOp<AddOp>();
    if (!add || norm.getResidual() || !add->hasOneUse() || add.getLhs().getType() != norm.getType() ||
        add.getRhs().getType() != norm.getType())
      return failure();
    auto fused = NormOp::create(rewriter, rewriter.getFusedLoc({norm.getLoc(), add.getLoc()}), norm.getType(),
                                add.getLhs(), norm.getScale(), norm.getBias(), add.getRhs(),
                                norm.getKindAttr(), norm.getAxisAttr(), norm.getEpsilonAttr());
    rewriter.replaceOp(norm, fused.getResult());
    rewriter.eraseOp(add);
    return success();
  }
};

struct GraphFuseNormResidualPass
    : rbln::graph::impl::GraphFuseNormResidualBase<GraphFuseNormResidualPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseResidualIntoNorm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
