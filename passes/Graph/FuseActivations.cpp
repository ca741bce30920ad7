//===- FuseActivations.cpp - SiLU, GELU, RMSNorm from their decompositions ===//
#include "passes/Graph/Passes.h"

#include "mlir/IR/Matchers.h"
#include "rbln/Support/Elements.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <cstring>

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHFUSEACTIVATIONS
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

/// The value of a splat floating-point constant, if `v` is one.
std::optional<double> splatValue(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
  if (dense && dense.isSplat() && isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().convertToDouble();
  // A one-element resource constant (exporters write scalars as initializers).
  auto t = cast<RankedTensorType>(c.getType());
  std::vector<char> bytes;
  if (t.getNumElements() == 1 && t.getElementType().isF32() &&
      rbln::getElementBytes(cast<ElementsAttr>(c.getValue()), bytes) && bytes.size() == 4) {
    float f;
    std::memcpy(&f, bytes.data(), 4);
    return f;
  }
  return std::nullopt;
}

bool near(std::optional<double> v, double want) {
  return v && std::fabs(*v - want) <= 1e-3 * std::fabs(want);
}

bool singleUse(Value v) { return v.hasOneUse(); }

/// For a commutative binary op, the operand that is not `known`.
Value other(Operation *op, Value known) {
  return op->getOperand(0) == known ? op->getOperand(1) : op->getOperand(0);
}

Location fused(PatternRewriter &r, ArrayRef<Operation *> ops) {
  SmallVector<Location> locs;
  for (Operation *op : ops)
    locs.push_back(op->getLoc());
  return r.getFusedLoc(locs);
}

/// x * sigmoid(x) -> silu(x).
struct FuseSilu : OpRewritePattern<SigmoidOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SigmoidOp sig, PatternRewriter &r) const override {
    Value x = sig.getInput();
    if (!singleUse(sig))
      return failure();
    auto mul = dyn_cast<MulOp>(*sig->user_begin());
    if (!mul || other(mul, sig) != x || mul.getType() != sig.getType())
      return failure();
    auto silu = SiluOp::create(r, fused(r, {mul, sig}), x.getType(), x);
    r.replaceOp(mul, silu.getResult());
    r.eraseOp(sig);
    return success();
  }
};

/// x * 0.5 * (1 + erf(x / sqrt 2)) -> gelu(x), anchored at the erf.
struct FuseGelu : OpRewritePattern<ErfOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ErfOp erf, PatternRewriter &r) const override {
    Operation *scaleOp = erf.getInput().getDefiningOp();
    Value x;
    if (auto div = dyn_cast_or_null<DivOp>(scaleOp); div && near(splatValue(div.getRhs()), M_SQRT2))
      x = div.getLhs();
    else if (auto mul = dyn_cast_or_null<MulOp>(scaleOp)) {
      if (near(splatValue(mul.getRhs()), M_SQRT1_2)) x = mul.getLhs();
      else if (near(splatValue(mul.getLhs()), M_SQRT1_2)) x = mul.getRhs();
    }
    if (!x || !singleUse(erf.getInput()) || !singleUse(erf))
      return failure();
    auto add = dyn_cast<AddOp>(*erf->user_begin());
    if (!add || !near(splatValue(other(add, erf)), 1.0) || !singleUse(add))
      return failure();
    auto m1 = dyn_cast<MulOp>(*add->user_begin());
    if (!m1)
      return failure();
    Value o = other(m1, add);
    SmallVector<Operation *> chain{scaleOp, erf, add, m1};
    Operation *root = nullptr;
    auto isHalfX = [&](Value v) {
      auto m = v.getDefiningOp<MulOp>();
      return m && singleUse(v) &&
             ((m.getLhs() == x && near(splatValue(m.getRhs()), 0.5)) ||
              (m.getRhs() == x && near(splatValue(m.getLhs()), 0.5)));
    };
    if (isHalfX(o)) { // (x * 0.5) * (1 + erf)
      chain.push_back(o.getDefiningOp());
      root = m1;
    } else if ((o == x || near(splatValue(o), 0.5)) && singleUse(m1)) {
      auto m2 = dyn_cast<MulOp>(*m1->user_begin());
      Value rest = m2 ? other(m2, m1) : Value();
      if (m2 && ((o == x && near(splatValue(rest), 0.5)) || (o != x && rest == x)))
        root = m2;
      chain.push_back(m2);
    }
    if (!root || root->getResult(0).getType() != x.getType())
      return failure();
    auto gelu = GeluOp::create(r, fused(r, chain), x.getType(), x);
    r.replaceOp(root, gelu.getResult());
    return success();
  }
};

/// w * (x * 1/sqrt(mean(x^2, -1) + eps)) -> norm<rms>, anchored at the mean.
struct FuseRmsNorm : OpRewritePattern<ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceOp mean, PatternRewriter &r) const override {
    auto xt = cast<RankedTensorType>(mean.getInput().getType());
    int64_t last = xt.getRank() - 1;
    if (mean.getKind() != ReduceKind::Mean || mean.getAxes() != ArrayRef<int64_t>{last} ||
        !mean.getKeepdims())
      return failure();
    Operation *sq = mean.getInput().getDefiningOp();
    Value x;
    if (auto p = dyn_cast_or_null<PowOp>(sq); p && near(splatValue(p.getRhs()), 2.0))
      x = p.getLhs();
    else if (auto m = dyn_cast_or_null<MulOp>(sq); m && m.getLhs() == m.getRhs())
      x = m.getLhs();
    if (!x || !singleUse(mean.getInput()) || !singleUse(mean))
      return failure();
    auto add = dyn_cast<AddOp>(*mean->user_begin());
    std::optional<double> eps = add ? splatValue(other(add, mean)) : std::nullopt;
    if (!add || !eps || !singleUse(add))
      return failure();
    auto sqrt = dyn_cast<SqrtOp>(*add->user_begin());
    if (!sqrt || !singleUse(sqrt))
      return failure();
    SmallVector<Operation *> chain{sq, mean, add, sqrt};
    Operation *inv = *sqrt->user_begin();
    Operation *scaled = nullptr; // x * inv(sqrt) or x / sqrt
    if (isa<ReciprocalOp>(inv) || (isa<DivOp>(inv) && inv->getOperand(1) == sqrt &&
                                   near(splatValue(inv->getOperand(0)), 1.0))) {
      if (!singleUse(inv->getResult(0)))
        return failure();
      chain.push_back(inv);
      auto m = dyn_cast<MulOp>(*inv->getUsers().begin());
      if (!m || other(m, inv->getResult(0)) != x)
        return failure();
      scaled = m;
    } else if (auto d = dyn_cast<DivOp>(inv); d && d.getLhs() == x && d.getRhs() == sqrt) {
      scaled = d;
    } else {
      return failure();
    }
    chain.push_back(scaled);
    if (!singleUse(scaled->getResult(0)) || scaled->getResult(0).getType() != xt)
      return failure();
    auto wmul = dyn_cast<MulOp>(*scaled->getUsers().begin());
    if (!wmul)
      return failure();
    Value w = other(wmul, scaled->getResult(0));
    auto wt = cast<RankedTensorType>(w.getType());
    if (wt.getRank() != 1 || wt.getDimSize(0) != xt.getDimSize(last) ||
        wt.getElementType() != xt.getElementType() || wmul.getType() != xt)
      return failure();
    chain.push_back(wmul);
    auto norm = NormOp::create(r, fused(r, chain), xt, x, w, Value(),
                               NormKindAttr::get(r.getContext(), NormKind::Rms),
                               r.getI64IntegerAttr(last), r.getF32FloatAttr(float(*eps)));
    r.replaceOp(wmul, norm.getResult());
    return success();
  }
};

struct GraphFuseActivationsPass : rbln::graph::impl::GraphFuseActivationsBase<GraphFuseActivationsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseSilu, FuseGelu, FuseRmsNorm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
