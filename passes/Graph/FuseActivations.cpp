//===- FuseActivations.cpp - SiLU, GELU, Layer/RMSNorm from decompositions ===//
#include "passes/Graph/Passes.h"
#include "passes/Graph/ConstantValues.h"

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

/// The rest of a GELU after its erf/tanh `t`: (1 + t) times x * 0.5 in any
/// association. Appends the ops to `chain`; returns the op whose result is
/// the GELU, or null.
Operation *geluTail(Operation *t, Value x, SmallVectorImpl<Operation *> &chain) {
  if (!singleUse(t->getResult(0)))
    return nullptr;
  auto add = dyn_cast<AddOp>(*t->user_begin());
  if (!add || !near(splatValue(other(add, t->getResult(0))), 1.0) || !singleUse(add))
    return nullptr;
  auto m1 = dyn_cast<MulOp>(*add->user_begin());
  if (!m1)
    return nullptr;
  chain.append({add, m1});
  Value o = other(m1, add);
  Operation *root = nullptr;
  auto isHalfX = [&](Value v) {
    auto m = v.getDefiningOp<MulOp>();
    return m && singleUse(v) &&
           ((m.getLhs() == x && near(splatValue(m.getRhs()), 0.5)) ||
            (m.getRhs() == x && near(splatValue(m.getLhs()), 0.5)));
  };
  if (isHalfX(o)) { // (x * 0.5) * (1 + t)
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
    return nullptr;
  return root;
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
    if (!x || !singleUse(erf.getInput()))
      return failure();
    SmallVector<Operation *> chain{scaleOp, erf};
    Operation *root = geluTail(erf, x, chain);
    if (!root)
      return failure();
    auto gelu = GeluOp::create(r, fused(r, chain), x.getType(), x);
    r.replaceOp(root, gelu.getResult());
    return success();
  }
};

/// x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) -> gelu(x, tanh),
/// anchored at the tanh (GPT-2's `gelu_new`, as torch.onnx.export writes it).
struct FuseGeluTanh : OpRewritePattern<TanhOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TanhOp tanh, PatternRewriter &r) const override {
    auto scale = tanh.getInput().getDefiningOp<MulOp>();
    constexpr double kSqrt2OverPi = 0.7978845608028654;
    if (!scale || !singleUse(scale))
      return failure();
    Value inner = near(splatValue(scale.getRhs()), kSqrt2OverPi)   ? scale.getLhs()
                  : near(splatValue(scale.getLhs()), kSqrt2OverPi) ? scale.getRhs()
                                                                   : Value();
    auto add = inner ? inner.getDefiningOp<AddOp>() : AddOp();
    if (!add || !singleUse(add))
      return failure();
    // One side is x, the other 0.044715 * x^3 (x^3 as Pow(x, 3) or x*x*x).
    for (int side = 0; side < 2; ++side) {
      Value x = add->getOperand(side), cubic = add->getOperand(1 - side);
      auto cm = cubic.getDefiningOp<MulOp>();
      if (!cm || !singleUse(cm))
        continue;
      Value cube = near(splatValue(cm.getRhs()), 0.044715)   ? cm.getLhs()
                   : near(splatValue(cm.getLhs()), 0.044715) ? cm.getRhs()
                                                             : Value();
      if (!cube || !singleUse(cube))
        continue;
      Operation *cubeOp = cube.getDefiningOp();
      bool isCube = false;
      if (auto p = dyn_cast_or_null<PowOp>(cubeOp))
        isCube = p.getLhs() == x && near(splatValue(p.getRhs()), 3.0);
      else if (auto m = dyn_cast_or_null<MulOp>(cubeOp)) {
        auto sq = [&](Value v) {
          auto mm = v.getDefiningOp<MulOp>();
          return mm && singleUse(v) && mm.getLhs() == x && mm.getRhs() == x;
        };
        isCube = (m.getLhs() == x && sq(m.getRhs())) || (m.getRhs() == x && sq(m.getLhs()));
      }
      if (!isCube)
        continue;
      SmallVector<Operation *> chain{cubeOp, cm, add, scale, tanh};
      Operation *root = geluTail(tanh, x, chain);
      if (!root)
        return failure();
      auto gelu = GeluOp::create(r, fused(r, chain), x.getType(), x, r.getBoolAttr(true));
      r.replaceOp(root, gelu.getResult());
      return success();
    }
    return failure();
  }
};

/// An RMS normalization of x - mean(x) over the same last dim is a layer
/// normalization of x (FuseRmsNorm matches the variance part of a decomposed
/// LayerNorm first: (x-m) / sqrt(mean((x-m)^2) + eps) * w).
struct FuseLayerNorm : OpRewritePattern<NormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NormOp norm, PatternRewriter &r) const override {
    auto xt = cast<RankedTensorType>(norm.getType());
    int64_t last = xt.getRank() - 1;
    if (norm.getKind() != NormKind::Rms || int64_t(norm.getAxis()) != last || norm.getBias())
      return failure();
    auto sub = norm.getInput().getDefiningOp<SubOp>();
    if (!sub || !singleUse(sub) || sub.getLhs().getType() != xt)
      return failure();
    auto mean = sub.getRhs().getDefiningOp<ReduceOp>();
    if (!mean || !singleUse(mean) || mean.getKind() != ReduceKind::Mean ||
        mean.getInput() != sub.getLhs() || mean.getAxes() != ArrayRef<int64_t>{last} ||
        !mean.getKeepdims())
      return failure();
    auto ln = NormOp::create(r, fused(r, {mean, sub, norm}), xt, sub.getLhs(), norm.getScale(),
                             Value(), Value(), NormKindAttr::get(r.getContext(), NormKind::Layer),
                             norm.getAxisAttr(), norm.getEpsilonAttr());
    r.replaceOp(norm, ln.getResult());
    return success();
  }
};

/// layer_norm(x) + beta (beta over the normalized dim) -> the norm's bias.
struct FuseNormBias : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &r) const override {
    for (int side = 0; side < 2; ++side) {
      auto norm = add->getOperand(side).getDefiningOp<NormOp>();
      Value beta = add->getOperand(1 - side);
      if (!norm || norm.getKind() != NormKind::Layer || norm.getBias() || !singleUse(norm) ||
          add.getType() != norm.getType())
        continue;
      auto xt = cast<RankedTensorType>(norm.getType());
      auto bt = cast<RankedTensorType>(beta.getType());
      if (int64_t(norm.getAxis()) != xt.getRank() - 1 || bt.getRank() != 1 ||
          bt.getDimSize(0) != xt.getShape().back() || bt.getElementType() != xt.getElementType())
        continue;
      auto ln = NormOp::create(r, fused(r, {norm, add}), xt, norm.getInput(), norm.getScale(), beta,
                               norm.getResidual(), norm.getKindAttr(), norm.getAxisAttr(), norm.getEpsilonAttr());
      r.replaceOp(add, ln.getResult());
      return success();
    }
    return failure();
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
    auto norm = NormOp::create(r, fused(r, chain), xt, x, w, Value(), Value(),
                               NormKindAttr::get(r.getContext(), NormKind::Rms),
                               r.getI64IntegerAttr(last), r.getF32FloatAttr(float(*eps)));
    r.replaceOp(wmul, norm.getResult());
    return success();
  }
};

/// Whether `v` is the first (second = false) or second half of x's last dim,
/// as a view (the importer's form of Slice/Split).
bool isHalf(Value v, Value x, bool second) {
  auto view = v.getDefiningOp<ViewOp>();
  if (!view || view.getInput() != x)
    return false;
  auto xt = cast<RankedTensorType>(x.getType());
  auto vt = cast<RankedTensorType>(v.getType());
  int64_t d = xt.getShape().back(), h = d / 2;
  if (d % 2 || vt.getShape().drop_back() != xt.getShape().drop_back() || vt.getShape().back() != h)
    return false;
  SmallVector<int64_t> strides(xt.getRank(), 1);
  for (int64_t i = xt.getRank() - 2; i >= 0; --i)
    strides[size_t(i)] = strides[size_t(i) + 1] * xt.getDimSize(i + 1);
  return view.getStrides() == ArrayRef<int64_t>(strides) && view.getOffset() == (second ? h : 0);
}

/// x * cos + concat(-x2, x1) * sin -> rotary(x, cos, sin), anchored at the
/// concat of the rotate-half (as torch.onnx.export writes Llama's
/// apply_rotary_pos_emb).
struct FuseRotary : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp cat, PatternRewriter &r) const override {
    auto ct = cast<RankedTensorType>(cat.getType());
    if (cat.getInputs().size() != 2 || cat.getAxis() != ct.getRank() - 1 || !singleUse(cat))
      return failure();
    auto neg = cat.getInputs()[0].getDefiningOp<NegOp>();
    if (!neg || !singleUse(neg))
      return failure();
    auto firstHalf = cat.getInputs()[1].getDefiningOp<ViewOp>();
    Value x = firstHalf ? firstHalf.getInput() : Value();
    if (!x || x.getType() != ct || !isHalf(cat.getInputs()[1], x, false) ||
        !isHalf(neg.getInput(), x, true))
      return failure();
    auto sinMul = dyn_cast<MulOp>(*cat->user_begin());
    if (!sinMul || !singleUse(sinMul) || sinMul.getType() != ct)
      return failure();
    Value sin = other(sinMul, cat);
    auto add = dyn_cast<AddOp>(*sinMul->user_begin());
    if (!add || add.getType() != ct)
      return failure();
    auto cosMul = other(add, sinMul).getDefiningOp<MulOp>();
    if (!cosMul || !singleUse(cosMul) || (cosMul.getLhs() != x && cosMul.getRhs() != x))
      return failure();
    Value cos = other(cosMul, x);
    for (Value table : {cos, sin}) {
      auto tt = cast<RankedTensorType>(table.getType());
      auto b = broadcastShapes(tt.getShape(), ct.getShape());
      if (tt.getElementType() != ct.getElementType() || failed(b) || ArrayRef<int64_t>(*b) != ct.getShape())
        return failure();
    }
    SmallVector<Operation *> chain{cosMul, firstHalf, neg.getInput().getDefiningOp(), neg, cat,
                                   sinMul, add};
    auto rot = RotaryOp::create(r, fused(r, chain), ct, x, cos, sin);
    r.replaceOp(add, rot.getResult());
    return success();
  }
};

struct GraphFuseActivationsPass : rbln::graph::impl::GraphFuseActivationsBase<GraphFuseActivationsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseSilu, FuseGelu, FuseGeluTanh, FuseRmsNorm, FuseLayerNorm, FuseNormBias,
                 FuseRotary>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
