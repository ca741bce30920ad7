//===- FuseAttentionQuant.cpp - A QDQ model's quantized attention output ---===//
//
// A QDQ model (quantize_static, BERT's form) quantizes each attention's
// output for the output projection's 8-bit matmul, after the heads are
// merged: QuantizeLinear(Reshape(Transpose(attention))). With a scale and
// zero point for the whole tensor, the quantization is the attention
// kernel's: `output_quant` divides, rounds and offsets each finished row in
// SPM and the store saturates to 8 bits, so neither the float output nor a
// separate quantize kernel's pass over it reaches memory. The head merge
// stays a view of the 8-bit result.
//
#include "passes/Graph/Passes.h"

#include "passes/Graph/ConstantValues.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHFUSEATTENTIONQUANT
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

struct FuseQuantizeIntoAttention : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp q, PatternRewriter &rewriter) const override {
    std::optional<double> s = splatValue(q.getScale()), z = splatValue(q.getZeroPoint());
    if (!s || !z || !std::isfinite(*s) || *s == 0)
      return failure();
    // The views between the attention and the quantize, each read once.
    SmallVector<Operation *> views;
    Value v = q.getInput();
    while (isa_and_nonnull<ReshapeOp, TransposeOp>(v.getDefiningOp()) && v.hasOneUse()) {
      views.push_back(v.getDefiningOp());
      v = v.getDefiningOp()->getOperand(0);
    }
    auto att = v.getDefiningOp<AttentionOp>();
    if (!att || !v.hasOneUse() || att.getOutputQuant())
      return failure();
    Type et = cast<RankedTensorType>(q.getType()).getElementType();
    auto narrow = [&](Value x) { return cast<RankedTensorType>(x.getType()).clone(et); };
    auto fused = AttentionOp::create(rewriter, rewriter.getFusedLoc({att.getLoc(), q.getLoc()}),
                                     narrow(att.getResult()), att.getQ(), att.getK(), att.getV(),
                                     att.getMask(), att.getScaleAttr(), att.getCausalAttr(),
                                     att.getCausalOffsetAttr(), att.getSoftcapAttr(), att.getWindowAttr(),
                                     rewriter.getDenseF32ArrayAttr({float(*s), float(*z)}));
    // The same views, of the 8-bit result.
    Value out = fused.getResult();
    for (Operation *view : llvm::reverse(views)) {
      Operation *copy = rewriter.clone(*view);
      copy->setOperand(0, out);
      copy->getResult(0).setType(narrow(view->getResult(0)));
      out = copy->getResult(0);
    }
    rewriter.replaceOp(q, out);
    return success();
  }
};

struct GraphFuseAttentionQuantPass
    : rbln::graph::impl::GraphFuseAttentionQuantBase<GraphFuseAttentionQuantPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseQuantizeIntoAttention>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
