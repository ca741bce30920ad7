//===- ExpandAttention.cpp - graph.attention as matmul/softmax kernels ----===//
#include "passes/Graph/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHEXPANDATTENTION
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

Value scalar(PatternRewriter &r, Location loc, Type et, double v) {
  auto t = RankedTensorType::get({}, et);
  return ConstantOp::create(r, loc, DenseElementsAttr::get(t, r.getFloatAttr(et, v)));
}

struct Expand : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &r) const override {
    // Every kernel made here is tagged as part of this attention (op-stats).
    Location loc = FusedLoc::get(r.getContext(), {op.getLoc()}, r.getStringAttr("attention"));
    auto qt = cast<RankedTensorType>(op.getQ().getType());
    auto kt = cast<RankedTensorType>(op.getK().getType());
    auto vt = cast<RankedTensorType>(op.getV().getType());
    Type et = qt.getElementType();
    int64_t b = qt.getDimSize(0), hq = qt.getDimSize(1), sq = qt.getDimSize(2), d = qt.getDimSize(3);
    int64_t hkv = kt.getDimSize(1), sk = kt.getDimSize(2), dv = vt.getDimSize(3), g = hq / hkv;
    auto type = [&](ArrayRef<int64_t> shape) { return RankedTensorType::get(shape, et); };
    auto reshape = [&](Value v, ArrayRef<int64_t> shape) -> Value {
      return ReshapeOp::create(r, loc, type(shape), v);
    };
    // Query heads of one KV head are adjacent: [B, Hq, Sq, D] is
    // [B, Hkv, G*Sq, D] without moving data, and the matmul broadcasts K.
    Value s = MatmulOp::create(r, loc, type({b, hkv, g * sq, sk}), reshape(op.getQ(), {b, hkv, g * sq, d}),
                               op.getK(), Value(), Value());
    auto mm = s.getDefiningOp<MatmulOp>();
    mm.setTransposeRhs(true);
    mm.setAlpha(op.getScale());
    s = reshape(s, {b, hq, sq, sk});
    auto scores = type({b, hq, sq, sk});
    if (float c = op.getSoftcap().convertToFloat(); c > 0) {
      s = MulOp::create(r, loc, scores, s, scalar(r, loc, et, 1.0 / c));
      s = TanhOp::create(r, loc, scores, s);
      s = MulOp::create(r, loc, scores, s, scalar(r, loc, et, c));
    }
    Value negInf = scalar(r, loc, et, -std::numeric_limits<double>::infinity());
    bool masked = false;
    if (Value m = op.getMask()) {
      masked = true;
      if (cast<RankedTensorType>(m.getType()).getElementType().isInteger(1))
        s = SelectOp::create(r, loc, scores, m, s, negInf);
      else
        s = AddOp::create(r, loc, scores, s, m);
    }
    if (op.getCausal()) {
      masked = true;
      int64_t off = op.getCausalOffset(), window = int64_t(op.getWindow());
      SmallVector<bool> keep;
      for (int64_t i = 0; i < sq; ++i)
        for (int64_t j = 0; j < sk; ++j)
          keep.push_back(j <= i + off && (window == 0 || j > i + off - window));
      auto mt = RankedTensorType::get({sq, sk}, r.getI1Type());
      Value cm = ConstantOp::create(r, loc, DenseElementsAttr::get(mt, ArrayRef<bool>(keep)));
      s = SelectOp::create(r, loc, scores, cm, s, negInf);
    }
    Value p = SoftmaxOp::create(r, loc, scores, s, r.getI64IntegerAttr(3));
    if (masked) { // a query with every key masked gets zeros, not NaN
      Value nan = IsNanOp::create(r, loc, RankedTensorType::get({b, hq, sq, sk}, r.getI1Type()), p);
      p = SelectOp::create(r, loc, scores, nan, scalar(r, loc, et, 0.0), p);
    }
    Value o = MatmulOp::create(r, loc, type({b, hkv, g * sq, dv}), reshape(p, {b, hkv, g * sq, sk}),
                               op.getV(), Value(), Value());
    o = reshape(o, {b, hq, sq, dv});
    if (auto oq = op.getOutputQuant()) // the 8-bit result as its own kernel
      o = QuantizeOp::create(r, loc, op.getType(), o, scalar(r, loc, r.getF32Type(), (*oq)[0]),
                             scalar(r, loc, r.getF32Type(), (*oq)[1]));
    r.replaceOp(op, o);
    return success();
  }
};

struct GraphExpandAttentionPass
    : rbln::graph::impl::GraphExpandAttentionBase<GraphExpandAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<Expand>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
