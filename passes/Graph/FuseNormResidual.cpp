//===- FuseNormResidual.cpp - The residual Add into the norm after it -----===//
//
// Transformers normalize a sum: `LayerNorm(x + skip)` after every block of a
// post-norm model (BERT), `RMSNorm(h + attn)` in pre-norm decoders, and the
// embeddings' sum before the first layer. When the sum feeds only the norm,
// the norm kernel reads both rows and adds them in SPM: one kernel and one
// round trip of the sum through memory fewer.
//
// A QDQ model (quantize_static, BERT's form) quantizes the norm's output for
// the next matmuls and adds its dequantized copy as the next norm's
// residual. Both join the norm kernel: the QuantizeLinear of a norm read by
// nothing else becomes its `output_quant` (an 8-bit store: divide, round,
// add the zero point, saturate), and a dequantized 8-bit residual its
// `residual_quant` (read 8-bit, then subtract and multiply in SPM).
//
#include "passes/Graph/Passes.h"

#include "passes/Graph/ConstantValues.h"

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
    auto in = cast<RankedTensorType>(norm.getInput().getType());
    if (!add || norm.getResidual() || !add->hasOneUse() || add.getLhs().getType() != in ||
        add.getRhs().getType() != in)
      return failure();
    auto fused = NormOp::create(rewriter, rewriter.getFusedLoc({norm.getLoc(), add.getLoc()}), norm.getType(),
                                add.getLhs(), norm.getScale(), norm.getBias(), add.getRhs(),
                                norm.getKindAttr(), norm.getAxisAttr(), norm.getEpsilonAttr());
    fused.setOutputQuantAttr(norm.getOutputQuantAttr());
    rewriter.replaceOp(norm, fused.getResult());
    rewriter.eraseOp(add);
    return success();
  }
};

/// The same norm with other residual and result (and their quantization).
NormOp rebuild(PatternRewriter &rewriter, NormOp norm, Location loc, Type type, Value residual,
               DenseF32ArrayAttr residualQuant, DenseF32ArrayAttr outputQuant) {
  auto fused = NormOp::create(rewriter, loc, type, norm.getInput(), norm.getScale(), norm.getBias(), residual,
                              norm.getKindAttr(), norm.getAxisAttr(), norm.getEpsilonAttr());
  fused.setResidualQuantAttr(residualQuant);
  fused.setOutputQuantAttr(outputQuant);
  return fused;
}

/// quantize(norm(x)) with a per-tensor scale and zero point, the norm read
/// by nothing else: the norm stores the 8-bit values.
struct FuseQuantizeIntoNorm : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp q, PatternRewriter &rewriter) const override {
    auto norm = q.getInput().getDefiningOp<NormOp>();
    std::optional<double> s = splatValue(q.getScale()), z = splatValue(q.getZeroPoint());
    if (!norm || !norm->hasOneUse() || norm.getOutputQuant() || !s || !z || !std::isfinite(*s) || *s == 0 ||
        cast<RankedTensorType>(q.getType()).getShape() != norm.getType().getShape())
      return failure();
    NormOp fused = rebuild(rewriter, norm, rewriter.getFusedLoc({norm.getLoc(), q.getLoc()}), q.getType(),
                           norm.getResidual(), norm.getResidualQuantAttr(),
                           rewriter.getDenseF32ArrayAttr({float(*s), float(*z)}));
    rewriter.replaceOp(q, fused.getResult());
    rewriter.eraseOp(norm);
    return success();
  }
};

/// norm(x, residual = (float(q) - z) * s): the norm reads q and dequantizes
/// it as it adds it.
struct FuseDequantizedResidualIntoNorm : OpRewritePattern<NormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NormOp norm, PatternRewriter &rewriter) const override {
    if (!norm.getResidual() || norm.getResidualQuant())
      return failure();
    std::optional<Dequantized> dq = matchDequantized(norm.getResidual());
    if (!dq || cast<RankedTensorType>(dq->q.getType()).getShape() != norm.getType().getShape())
      return failure();
    NormOp fused = rebuild(rewriter, norm, rewriter.getFusedLoc({norm.getLoc(), dq->mul->getLoc()}),
                           norm.getType(), dq->q,
                           rewriter.getDenseF32ArrayAttr({float(dq->scale), float(dq->zeroPoint)}),
                           norm.getOutputQuantAttr());
    rewriter.replaceOp(norm, fused.getResult());
    return success();
  }
};

struct GraphFuseNormResidualPass
    : rbln::graph::impl::GraphFuseNormResidualBase<GraphFuseNormResidualPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseResidualIntoNorm, FuseQuantizeIntoNorm, FuseDequantizedResidualIntoNorm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
