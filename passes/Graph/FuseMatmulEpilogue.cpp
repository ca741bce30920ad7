//===- FuseMatmulEpilogue.cpp - Bias, residual and activation into matmul -===//
//
// A matmul's sole consumer -- a bias add, a residual add (a transformer's
// skip connection, after the bias), then ReLU, sigmoid, tanh, SiLU or GELU
// (exact or tanh) -- runs on the output tile before its store; for the
// integer matmuls of dynamically quantized models, the casts, scales and bias
// after the product as well.
//
#include "passes/Graph/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHFUSEMATMULEPILOGUE
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

/// A matmul whose only use is `user` and that has room for `what`.
MatmulOp soleProducer(Value v, Operation *user) {
  auto mm = v.getDefiningOp<MatmulOp>();
  if (!mm || !mm->hasOneUse() || *mm->user_begin() != user)
    return nullptr;
  return mm;
}

/// Replaces `add` of `mm`'s product by `mm` with `bias` and `residual` (the
/// fused op carries both ops' locations).
void replaceWithFused(PatternRewriter &rewriter, MatmulOp mm, AddOp add, Value bias, Value residual) {
  auto fused = MatmulOp::create(rewriter, rewriter.getFusedLoc({mm.getLoc(), add.getLoc()}), mm.getType(),
                                mm.getLhs(), mm.getRhs(), bias, residual);
  fused.setTransposeLhs(mm.getTransposeLhs());
  fused.setTransposeRhs(mm.getTransposeRhs());
  fused.setAlpha(mm.getAlpha());
  fused.setBeta(mm.getBeta());
  rewriter.replaceOp(add, fused.getResult());
  rewriter.eraseOp(mm);
}

/// An add of a sole matmul's product: the first becomes its bias (any
/// operand that broadcasts to the product), a second one of the product's
/// type its residual (a skip connection: the kernel starts the accumulator
/// from it).
struct FuseAdd : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      MatmulOp mm = soleProducer(add->getOperand(i), add);
      Value other = add->getOperand(1 - i);
      // The operand must broadcast to the product's shape, not widen it.
      if (!mm || mm.getResidual() || mm.getActivation() != Activation::None || add.getType() != mm.getType())
        continue;
      if (!mm.getBias()) {
        replaceWithFused(rewriter, mm, add, other, Value());
        return success();
      }
      if (mm.getAlpha().convertToFloat() == 1.0f && other.getType() == mm.getType()) {
        replaceWithFused(rewriter, mm, add, mm.getBias(), other);
        return success();
      }
    }
    return failure();
  }
};

template <typename OpTy, Activation Act> struct FuseActivation : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    MatmulOp mm = soleProducer(op.getInput(), op);
    if (!mm || mm.getActivation() != Activation::None)
      return failure();
    rewriter.modifyOpInPlace(mm, [&] {
      mm.setActivation(Act);
      mm->setLoc(rewriter.getFusedLoc({mm.getLoc(), op.getLoc()}));
    });
    rewriter.replaceOp(op, mm.getResult());
    return success();
  }
};

// --- the integer matmuls of onnxruntime.quantization's quantize_dynamic ----
//
// MatMulInteger imports as a matmul of 8-bit activations by int8 weights
// (graph.dequantize with a scale of 1 per column) plus -zero_point x colsum
// as its bias, cast to i32; the model then casts back to float, multiplies
// by the activations' and weights' scales and adds its bias. The three fold
// into the matmul: the round trip through i32 is the identity on its
// integer-valued product, the scale joins the weights' column scales (and
// scales the bias), and the model's bias adds to the bias.

/// Whether `v` holds only integers (exactly, as floats): integral
/// constants, casts from integers, and sums, differences and products of
/// such values.
bool integerValued(Value v, unsigned depth = 0) {
  if (depth > 8)
    return false;
  Operation *op = v.getDefiningOp();
  if (!op)
    return false;
  if (auto c = dyn_cast<ConstantOp>(op)) {
    auto d = dyn_cast<DenseElementsAttr>(c.getValue());
    if (!d)
      return false;
    if (!isa<FloatType>(d.getElementType()))
      return d.getElementType().isIntOrIndex();
    return llvm::all_of(d.getValues<APFloat>(), [](const APFloat &f) { return f.isInteger(); });
  }
  if (auto c = dyn_cast<CastOp>(op))
    return cast<RankedTensorType>(c.getInput().getType()).getElementType().isIntOrIndex();
  if (isa<ReshapeOp, NegOp>(op))
    return integerValued(op->getOperand(0), depth + 1);
  if (isa<AddOp, SubOp, MulOp>(op))
    return integerValued(op->getOperand(0), depth + 1) && integerValued(op->getOperand(1), depth + 1);
  return false;
}

/// A matmul of 8-bit integers by int8 weights (a graph.dequantize rhs)
/// with nothing after the product but a bias: the form the scale and bias
/// fold into.
DequantizeOp integerMatmulWeights(MatmulOp mm) {
  auto lhs = cast<RankedTensorType>(mm.getLhs().getType());
  auto deq = mm.getRhs().getDefiningOp<DequantizeOp>();
  if (!lhs.getElementType().isInteger(8) || !deq || !deq->hasOneUse() || mm.getResidual() ||
      mm.getActivation() != Activation::None || mm.getAlpha().convertToFloat() != 1.0f ||
      mm.getBeta().convertToFloat() != 1.0f)
    return nullptr;
  return deq;
}

/// cast<f32>(cast<i32>(product)) of an integer matmul whose product and
/// bias are integers: the product itself.
struct FoldIntegerRoundTrip : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastOp outer, PatternRewriter &rewriter) const override {
    auto inner = outer.getInput().getDefiningOp<CastOp>();
    if (!inner || !inner->hasOneUse() ||
        !cast<RankedTensorType>(inner.getType()).getElementType().isInteger(32))
      return failure();
    auto mm = inner.getInput().getDefiningOp<MatmulOp>();
    if (!mm || !mm->hasOneUse() || mm.getType() != outer.getType())
      return failure();
    DequantizeOp deq = integerMatmulWeights(mm);
    if (!deq || !integerValued(deq.getScale()) || (mm.getBias() && !integerValued(mm.getBias())))
      return failure();
    rewriter.modifyOpInPlace(mm, [&] {
      mm->setLoc(rewriter.getFusedLoc({mm.getLoc(), inner.getLoc(), outer.getLoc()}));
    });
    rewriter.replaceOp(outer, mm.getResult());
    return success();
  }
};

/// `v` as a per-column vector of the product's N columns, when it
/// broadcasts to the product as a scalar or as one row.
Value asColumnVector(PatternRewriter &rewriter, Location loc, Value v, RankedTensorType product) {
  auto t = cast<RankedTensorType>(v.getType());
  int64_t n = product.getShape().back();
  if (t.getRank() > product.getRank() || t.getElementType() != product.getElementType())
    return Value();
  for (int64_t d = 0; d + 1 < t.getRank(); ++d)
    if (t.getDimSize(d) != 1)
      return Value();
  int64_t last = t.getRank() ? t.getShape().back() : 1;
  if (last != 1 && last != n)
    return Value();
  auto vt = RankedTensorType::get({last}, t.getElementType());
  return t == vt ? v : ReshapeOp::create(rewriter, loc, vt, v).getResult();
}

/// product x s, with s a scalar or a per-column row: the weights' column
/// scales times s, and the bias times s.
struct FoldIntegerMatmulScale : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp mul, PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      MatmulOp mm = soleProducer(mul->getOperand(i), mul);
      if (!mm || mm.getType() != mul.getType())
        continue;
      DequantizeOp deq = integerMatmulWeights(mm);
      if (!deq || deq.getAxis() != (mm.getTransposeRhs() ? 0u : 1u))
        continue;
      Location loc = mul.getLoc();
      Value s = asColumnVector(rewriter, loc, mul->getOperand(1 - i), mm.getType());
      if (!s)
        continue;
      auto scaleType = cast<RankedTensorType>(deq.getScale().getType());
      Value scale = MulOp::create(rewriter, loc, scaleType, deq.getScale(), s);
      Value w = DequantizeOp::create(rewriter, deq.getLoc(), deq.getType(), deq.getInput(), scale,
                                     deq.getAxisAttr());
      Value bias = mm.getBias();
      if (bias) {
        auto bt = cast<RankedTensorType>(bias.getType());
        auto st = cast<RankedTensorType>(s.getType());
        Value sb = s;
        if (bt.getRank() == 0 && st.getDimSize(0) != 1)
          return failure();
        if (bt.getRank() >= 1 && bt.getShape().back() == 1 && st.getDimSize(0) != 1)
          continue; // a bias per row times a scale per column: not a row
        bias = MulOp::create(rewriter, loc, bt, bias, sb);
      }
      auto fused = MatmulOp::create(rewriter, rewriter.getFusedLoc({mm.getLoc(), loc}), mm.getType(),
                                    mm.getLhs(), w, bias, Value());
      fused.setTransposeLhs(mm.getTransposeLhs());
      fused.setTransposeRhs(mm.getTransposeRhs());
      rewriter.replaceOp(mul, fused.getResult());
      rewriter.eraseOp(mm);
      return success();
    }
    return failure();
  }
};

/// An add of a row (or scalar) to an integer matmul that has a bias
/// already: the two biases summed.
struct FoldIntegerMatmulBias : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      MatmulOp mm = soleProducer(add->getOperand(i), add);
      if (!mm || !mm.getBias() || mm.getType() != add.getType() || !integerMatmulWeights(mm))
        continue;
      Value other = asColumnVector(rewriter, add.getLoc(), add->getOperand(1 - i), mm.getType());
      auto bt = cast<RankedTensorType>(mm.getBias().getType());
      if (!other || bt.getRank() > 1 || (bt.getRank() == 1 && bt.getDimSize(0) != mm.getType().getShape().back()))
        continue;
      int64_t n = mm.getType().getShape().back();
      Value sum = AddOp::create(rewriter, add.getLoc(), RankedTensorType::get({n}, bt.getElementType()),
                                mm.getBias(), other);
      replaceWithFused(rewriter, mm, add, sum, Value());
      return success();
    }
    return failure();
  }
};

/// GELU, exact or tanh-approximated, as the matmul's activation.
struct FuseGelu : OpRewritePattern<GeluOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GeluOp op, PatternRewriter &rewriter) const override {
    MatmulOp mm = soleProducer(op.getInput(), op);
    if (!mm || mm.getActivation() != Activation::None || mm.getType() != op.getType())
      return failure();
    rewriter.modifyOpInPlace(mm, [&] {
      mm.setActivation(op.getTanhApproximation() ? Activation::GeluTanh : Activation::Gelu);
      mm->setLoc(rewriter.getFusedLoc({mm.getLoc(), op.getLoc()}));
    });
    rewriter.replaceOp(op, mm.getResult());
    return success();
  }
};

struct GraphFuseMatmulEpiloguePass
    : rbln::graph::impl::GraphFuseMatmulEpilogueBase<GraphFuseMatmulEpiloguePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldIntegerRoundTrip, FoldIntegerMatmulScale, FoldIntegerMatmulBias>(&getContext(),
                                                                                      /*benefit=*/2);
    patterns.add<FuseAdd, FuseActivation<ReluOp, Activation::Relu>,
                 FuseActivation<SigmoidOp, Activation::Sigmoid>,
                 FuseActivation<TanhOp, Activation::Tanh>,
                 FuseActivation<SiluOp, Activation::Silu>, FuseGelu>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
