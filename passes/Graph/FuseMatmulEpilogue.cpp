//===- FuseMatmulEpilogue.cpp - Bias, residual and activation into matmul -===//
//
// A matmul's sole consumer -- a bias add, a residual add (a transformer's
// skip connection, after the bias), then ReLU, sigmoid, tanh, SiLU or GELU
// (exact or tanh) -- runs on the output tile before its store. Quantized
// models' matmuls become the tensor engine's INT8 mode here too: for
// quantize_dynamic's MatMulInteger, the cast to float, the scales and the
// bias after the product fold into the epilogue; a QDQ model's dequantized
// activation is read as its 8-bit values, its scale and zero point folded
// into the weights' column scales and the bias; a QuantizeLinear/
// DequantizeLinear pair on the product becomes its output grid, and a
// QuantizeLinear of the finished product its output_quant (an 8-bit store).
//
#include "passes/Graph/Passes.h"

#include "passes/Graph/ConstantValues.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHFUSEMATMULEPILOGUE
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

Value asColumnVector(PatternRewriter &rewriter, Location loc, Value v, RankedTensorType product);

/// A matmul whose only use is `user`, and whose epilogue may grow before
/// an output grid (none yet).
MatmulOp soleProducer(Value v, Operation *user) {
  auto mm = v.getDefiningOp<MatmulOp>();
  if (!mm || !mm->hasOneUse() || *mm->user_begin() != user || mm.getOutputGrid() || mm.getOutputQuant())
    return nullptr;
  return mm;
}

/// A matmul with an output grid whose only use is `user`: a bias (once)
/// and an activation may follow the grid.
MatmulOp soleGridProducer(Value v, Operation *user) {
  auto mm = v.getDefiningOp<MatmulOp>();
  if (!mm || !mm->hasOneUse() || *mm->user_begin() != user || !mm.getOutputGrid() || mm.getOutputQuant())
    return nullptr;
  return mm;
}

/// The same matmul with `grid_bias` after its output grid.
MatmulOp withGridBias(PatternRewriter &rewriter, MatmulOp mm, Value gridBias, Location loc) {
  auto fused = MatmulOp::create(rewriter, rewriter.getFusedLoc({mm.getLoc(), loc}), mm.getType(), mm.getLhs(),
                                mm.getRhs(), mm.getBias(), mm.getResidual());
  fused->setAttrs(mm->getAttrs());
  fused.getGridBiasMutable().assign(gridBias);
  return fused;
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
      // After an output grid: one bias per column (before any activation).
      if (MatmulOp mm = soleGridProducer(add->getOperand(i), add)) {
        if (mm.getGridBias() || mm.getActivation() != Activation::None || add.getType() != mm.getType())
          continue;
        Value b = asColumnVector(rewriter, add.getLoc(), add->getOperand(1 - i), mm.getType());
        if (!b || cast<RankedTensorType>(b.getType()).getDimSize(0) != mm.getType().getShape().back())
          continue;
        MatmulOp fused = withGridBias(rewriter, mm, b, add.getLoc());
        rewriter.replaceOp(add, fused.getResult());
        rewriter.eraseOp(mm);
        return success();
      }
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

/// A matmul an activation may follow: a sole producer, with or without an
/// output grid (after a grid the activation applies after it and its bias).
MatmulOp activationProducer(Value v, Operation *user) {
  MatmulOp mm = soleProducer(v, user);
  return mm ? mm : soleGridProducer(v, user);
}

template <typename OpTy, Activation Act> struct FuseActivation : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    MatmulOp mm = activationProducer(op.getInput(), op);
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
// MatMulInteger imports as an i32 matmul of 8-bit activations by int8
// weights (a graph.dequantize with unit column scales), -zero_point x colsum
// its i32 bias; the model then casts the product to float, multiplies it by
// the activations' and weights' scales and adds its bias. All of it folds
// into one matmul: the scale becomes the weights' column scales and scales
// the bias (still integer-valued in i32 until then, so an f16 device never
// holds an unscaled sum), and the model's bias adds to it.

/// A matmul of 8-bit integers by int8 weights (a graph.dequantize rhs)
/// with nothing after the product but a bias: the form scales and biases
/// fold into.
DequantizeOp integerMatmulWeights(MatmulOp mm) {
  auto lhs = cast<RankedTensorType>(mm.getLhs().getType());
  auto deq = mm.getRhs().getDefiningOp<DequantizeOp>();
  if (!lhs.getElementType().isInteger(8) || !deq || deq.getBlockSize() || !deq->hasOneUse() || mm.getResidual() ||
      mm.getActivation() != Activation::None || mm.getAlpha().convertToFloat() != 1.0f ||
      mm.getBeta().convertToFloat() != 1.0f || deq.getAxis() != (mm.getTransposeRhs() ? 0u : 1u))
    return nullptr;
  return deq;
}

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

/// float(i32 product) x s, s a scalar or one per column: the weights' unit
/// column scales become s, the i32 bias is scaled to float by s.
struct FoldIntegerMatmulScale : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp mul, PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      auto toFloat = mul->getOperand(i).getDefiningOp<CastOp>();
      if (!toFloat || !toFloat->hasOneUse() || toFloat.getType() != mul.getType())
        continue;
      MatmulOp mm = soleProducer(toFloat.getInput(), toFloat);
      if (!mm || !mm.getType().getElementType().isSignlessInteger(32))
        continue;
      DequantizeOp deq = integerMatmulWeights(mm);
      if (!deq || splatValue(deq.getScale()) != 1.0 ||
          deq.getScale().getType() != RankedTensorType::get(
                                          {mm.getType().getShape().back()}, mul.getType().getElementType()))
        continue;
      Value bias = mm.getBias();
      auto bt = bias ? cast<RankedTensorType>(bias.getType()) : RankedTensorType();
      if (bias && (bt.getRank() != 1 || bt.getDimSize(0) != mm.getType().getShape().back()))
        continue;
      Location loc = mul.getLoc();
      Value s = asColumnVector(rewriter, loc, mul->getOperand(1 - i), mul.getType());
      if (!s)
        continue;
      auto scaleType = cast<RankedTensorType>(deq.getScale().getType());
      Value scale = MulOp::create(rewriter, loc, scaleType, deq.getScale(), s);
      Value w = DequantizeOp::create(rewriter, deq.getLoc(), deq.getType(), deq.getInput(), scale,
                                     deq.getAxisAttr());
      if (bias)
        bias = DequantizeOp::create(rewriter, loc, scaleType, bias, scale, rewriter.getI64IntegerAttr(0));
      auto fused = MatmulOp::create(rewriter, rewriter.getFusedLoc({mm.getLoc(), toFloat.getLoc(), loc}),
                                    mul.getType(), mm.getLhs(), w, bias, Value());
      fused.setTransposeLhs(mm.getTransposeLhs());
      fused.setTransposeRhs(mm.getTransposeRhs());
      rewriter.replaceOp(mul, fused.getResult());
      rewriter.eraseOp(toFloat);
      rewriter.eraseOp(mm);
      return success();
    }
    return failure();
  }
};

/// Replaces `mm` by the same matmul (its epilogue, residual and result
/// type kept) reading the quantized activation `dq.q` itself, times
/// `weights` (their scales joined to the activation's) plus `bias`.
void replaceReadingQuantized(PatternRewriter &rewriter, MatmulOp mm, const Dequantized &dq, Value weights,
                             Value bias) {
  auto fused = MatmulOp::create(rewriter, rewriter.getFusedLoc({mm.getLoc(), dq.mul->getLoc()}), mm.getType(),
                                dq.q, weights, bias, mm.getResidual());
  mm.copyEpilogueTo(fused);
  rewriter.replaceOp(mm, fused.getResult());
}

/// A QDQ model's activations times int8 weights: matmul((float(q) - z) * s,
/// dequantize(W, v)) with q 8-bit and z, s constant per-tensor values, as
/// quantize_static writes around MatMul. The matmul reads q itself in the
/// INT8 mode: the weights' column scales become v * s and the bias gains
/// -z * s * v * colsum(W) (constants computed here).
struct FoldStaticQuantizedActivation : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp mm, PatternRewriter &rewriter) const override {
    auto deq = mm.getRhs().getDefiningOp<DequantizeOp>();
    auto rt = cast<RankedTensorType>(mm.getType());
    // The epilogue's float type (an 8-bit result's, output_quant, is rhs's).
    Type ft = deq ? cast<RankedTensorType>(deq.getType()).getElementType() : Type();
    if (!deq || deq.getBlockSize() || mm.getTransposeLhs() || mm.getTransposeRhs() || mm.getAlpha().convertToFloat() != 1.0f ||
        mm.getBeta().convertToFloat() != 1.0f || deq.getAxis() != 1 || !ft.isF32() ||
        (rt.getElementType() != ft && !mm.getOutputQuant()) || cast<RankedTensorType>(deq.getType()).getRank() != 2)
      return failure();
    std::optional<Dequantized> dq = matchDequantized(mm.getLhs());
    if (!dq || !cast<RankedTensorType>(dq->q.getType()).getElementType().isInteger(8) ||
        !cast<RankedTensorType>(deq.getInput().getType()).getElementType().isSignlessInteger(8))
      return failure();
    float z = float(dq->zeroPoint);
    double s = dq->scale;
    // The constants: W's column sums, v.
    auto wc = deq.getInput().getDefiningOp<ConstantOp>();
    auto vc = deq.getScale().getDefiningOp<ConstantOp>();
    std::vector<char> w, v;
    if (!wc || !vc || !rbln::getElementBytes(cast<ElementsAttr>(wc.getValue()), w) ||
        !rbln::getElementBytes(cast<ElementsAttr>(vc.getValue()), v))
      return failure();
    auto vt = cast<RankedTensorType>(deq.getScale().getType());
    if (!vt.getElementType().isF32())
      return failure();
    Value bias = mm.getBias();
    int64_t k = cast<RankedTensorType>(deq.getType()).getDimSize(0), n = vt.getDimSize(0);
    if (bias && (cast<RankedTensorType>(bias.getType()) != RankedTensorType::get({n}, ft)))
      return failure();
    const auto *wq = reinterpret_cast<const int8_t *>(w.data());
    const auto *vf = reinterpret_cast<const float *>(v.data());
    SmallVector<int64_t> sums = rbln::int8ColumnSums(wq, k, n);
    SmallVector<float> scale(static_cast<size_t>(n), 0.0f), corr(static_cast<size_t>(n), 0.0f);
    for (int64_t c = 0; c < n; ++c) {
      scale[size_t(c)] = float(vf[c] * s);
      corr[size_t(c)] = float(-double(z) * double(scale[size_t(c)]) * double(sums[size_t(c)]));
    }
    Location loc = mm.getLoc();
    Value sv = ConstantOp::create(rewriter, loc, DenseElementsAttr::get(vt, ArrayRef<float>(scale)));
    Value wd = DequantizeOp::create(rewriter, deq.getLoc(), deq.getType(), deq.getInput(), sv, deq.getAxisAttr());
    Value newBias;
    if (z != 0.0f) {
      newBias = ConstantOp::create(rewriter, loc, DenseElementsAttr::get(vt, ArrayRef<float>(corr)));
      if (bias)
        newBias = AddOp::create(rewriter, loc, vt, bias, newBias);
    } else {
      newBias = bias;
    }
    replaceReadingQuantized(rewriter, mm, *dq, wd, newBias);
    return success();
  }
};

/// A QDQ model's FP8 activations times FP8 weights: matmul(float(q) * s,
/// dequantize(W, v)) with q and W of one 8-bit float type (zero points are
/// 0 for them) and s a per-tensor constant. The matmul reads q itself, the
/// weights' column scales become v * s: on a target with an FP8 tensor
/// mode it multiplies the 8-bit operands (convert-graph-to-npu), else the
/// DMA widens q.
struct FoldFloat8Activation : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp mm, PatternRewriter &rewriter) const override {
    auto deq = mm.getRhs().getDefiningOp<DequantizeOp>();
    if (!deq || deq.getBlockSize() || !deq->hasOneUse() || mm.getTransposeLhs() || mm.getTransposeRhs() ||
        mm.getAlpha().convertToFloat() != 1.0f || mm.getBeta().convertToFloat() != 1.0f ||
        deq.getAxis() != 1 || cast<RankedTensorType>(deq.getType()).getRank() != 2)
      return failure();
    std::optional<Dequantized> dq = matchDequantized(mm.getLhs());
    Type wt = cast<RankedTensorType>(deq.getInput().getType()).getElementType();
    if (!dq || !isa<FloatType>(wt) || wt.getIntOrFloatBitWidth() != 8 ||
        cast<RankedTensorType>(dq->q.getType()).getElementType() != wt)
      return failure();
    auto vt = cast<RankedTensorType>(deq.getScale().getType());
    Location loc = mm.getLoc();
    Value s = ConstantOp::create(rewriter, loc,
                                 DenseElementsAttr::get(RankedTensorType::get({}, vt.getElementType()),
                                                        rewriter.getFloatAttr(vt.getElementType(), dq->scale)));
    Value scale = MulOp::create(rewriter, loc, vt, deq.getScale(), s);
    Value w = DequantizeOp::create(rewriter, deq.getLoc(), deq.getType(), deq.getInput(), scale, deq.getAxisAttr());
    replaceReadingQuantized(rewriter, mm, *dq, w, mm.getBias());
    return success();
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

/// A QDQ model's QuantizeLinear/DequantizeLinear pair on a matmul's
/// product -- (float(quantize(y, s, z)) - z) * s with s, z constant scalars
/// -- as the matmul's output grid: the kernel rounds its f32 tile to the
/// grid in SPM instead of storing y, quantizing it in one kernel and
/// widening it in another.
struct FoldOutputGrid : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp mul, PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      std::optional<double> s = splatValue(mul->getOperand(1 - i));
      Value centered = mul->getOperand(i);
      std::optional<double> z = 0.0;
      SubOp sub = centered.getDefiningOp<SubOp>();
      if (sub) {
        z = splatValue(sub.getRhs());
        centered = sub.getLhs();
      }
      auto widen = centered.getDefiningOp<CastOp>();
      auto q = widen ? widen.getInput().getDefiningOp<QuantizeOp>() : QuantizeOp();
      if (!s || !z || !std::isfinite(*s) || *s <= 0 || !q || !q->hasOneUse() || !widen->hasOneUse() ||
          (sub && !sub->hasOneUse()) || widen.getType() != mul.getType())
        continue;
      std::optional<double> qs = splatValue(q.getScale()), qz = splatValue(q.getZeroPoint());
      if (!qs || !qz || float(*qs) != float(*s) || float(*qz) != float(*z))
        continue;
      MatmulOp mm = soleProducer(q.getInput(), q);
      if (!mm || mm.getType() != mul.getType() || mm.getActivation() != Activation::None)
        continue;
      Type qt = cast<RankedTensorType>(q.getType()).getElementType();
      float lo = qt.isUnsignedInteger(8) ? 0.0f : -128.0f, hi = qt.isUnsignedInteger(8) ? 255.0f : 127.0f;
      SmallVector<Location> locs{mm.getLoc(), q.getLoc(), widen.getLoc()};
      if (sub)
        locs.push_back(sub.getLoc());
      locs.push_back(mul.getLoc());
      rewriter.modifyOpInPlace(mm, [&] {
        mm.setOutputGrid(ArrayRef<float>{float(*s), float(*z), lo, hi});
        mm->setLoc(rewriter.getFusedLoc(locs));
      });
      rewriter.replaceOp(mul, mm.getResult());
      if (sub)
        rewriter.eraseOp(sub);
      rewriter.eraseOp(widen);
      rewriter.eraseOp(q);
      return success();
    }
    return failure();
  }
};

/// An 8-bit float QDQ model's pair on a matmul's product -- QuantizeLinear
/// to E4M3FN/E5M2 imports as a divide and a saturating cast, the
/// DequantizeLinear as the widening cast and a multiply (zero point 0) --
/// as the matmul's output grid of that type: the tile is divided, cast to
/// it and back in SPM, and multiplied.
struct FoldFloat8OutputGrid : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp mul, PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      std::optional<double> s = splatValue(mul->getOperand(1 - i));
      auto widen = mul->getOperand(i).getDefiningOp<CastOp>();
      auto narrow = widen ? widen.getInput().getDefiningOp<CastOp>() : CastOp();
      auto div = narrow ? narrow.getInput().getDefiningOp<DivOp>() : DivOp();
      if (!s || !std::isfinite(*s) || *s <= 0 || !div || !narrow.getSaturate() || !widen->hasOneUse() ||
          !narrow->hasOneUse() || !div->hasOneUse() || widen.getType() != mul.getType())
        continue;
      auto f8 = dyn_cast<FloatType>(cast<RankedTensorType>(narrow.getType()).getElementType());
      std::optional<double> ds = splatValue(div.getRhs());
      if (!f8 || f8.getWidth() != 8 || !ds || float(*ds) != float(*s))
        continue;
      MatmulOp mm = soleProducer(div.getLhs(), div);
      if (!mm || mm.getType() != mul.getType() || mm.getActivation() != Activation::None)
        continue;
      float big = float(APFloat::getLargest(f8.getFloatSemantics()).convertToDouble());
      rewriter.modifyOpInPlace(mm, [&] {
        mm.setOutputGrid(ArrayRef<float>{float(*s), 0.0f, -big, big});
        mm.setGridType(f8);
        mm->setLoc(rewriter.getFusedLoc({mm.getLoc(), div.getLoc(), narrow.getLoc(), widen.getLoc(), mul.getLoc()}));
      });
      rewriter.replaceOp(mul, mm.getResult());
      rewriter.eraseOp(widen);
      rewriter.eraseOp(narrow);
      rewriter.eraseOp(div);
      return success();
    }
    return failure();
  }
};

/// An 8-bit float QuantizeLinear (a divide and a saturating cast) of a
/// matmul's finished product: the matmul divides in its epilogue and
/// stores the 8-bit floats itself (the store's cast rounds and saturates).
struct FoldFloat8OutputQuant : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastOp narrow, PatternRewriter &rewriter) const override {
    auto f8 = dyn_cast<FloatType>(cast<RankedTensorType>(narrow.getType()).getElementType());
    auto div = narrow.getInput().getDefiningOp<DivOp>();
    // (A cast widened again is an output grid's.)
    if (!f8 || f8.getWidth() != 8 || !narrow.getSaturate() || !div || !div->hasOneUse() ||
        llvm::any_of(narrow->getUsers(), [](Operation *u) { return isa<CastOp>(u); }))
      return failure();
    std::optional<double> s = splatValue(div.getRhs());
    if (!s || !std::isfinite(*s) || *s <= 0)
      return failure();
    MatmulOp mm = activationProducer(div.getLhs(), div);
    if (!mm || mm.getType() != div.getType() || !isa<FloatType>(mm.getType().getElementType()))
      return failure();
    rewriter.modifyOpInPlace(mm, [&] {
      mm.setOutputQuant(ArrayRef<float>{float(*s), 0.0f});
      mm.getResult().setType(cast<RankedTensorType>(narrow.getType()));
      mm->setLoc(rewriter.getFusedLoc({mm.getLoc(), div.getLoc(), narrow.getLoc()}));
    });
    rewriter.replaceOp(narrow, mm.getResult());
    rewriter.eraseOp(div);
    return success();
  }
};

/// A QuantizeLinear of a matmul's finished product (constant scalar scale
/// and zero point; in a QDQ model, after an output grid, its bias and GELU):
/// the matmul stores int8/uint8 itself, rounding in its epilogue and
/// saturating in the store, instead of a quantize kernel re-reading it.
struct FoldOutputQuant : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp q, PatternRewriter &rewriter) const override {
    std::optional<double> s = splatValue(q.getScale()), z = splatValue(q.getZeroPoint());
    // (A quantize a DequantizeLinear widens again is an output grid's.)
    if (!s || !z || !std::isfinite(*s) || *s <= 0 ||
        llvm::any_of(q->getUsers(), [](Operation *u) { return isa<CastOp>(u); }))
      return failure();
    MatmulOp mm = activationProducer(q.getInput(), q);
    if (!mm || !isa<FloatType>(mm.getType().getElementType()))
      return failure();
    rewriter.modifyOpInPlace(mm, [&] {
      mm.setOutputQuant(ArrayRef<float>{float(*s), float(*z)});
      mm.getResult().setType(cast<RankedTensorType>(q.getType()));
      mm->setLoc(rewriter.getFusedLoc({mm.getLoc(), q.getLoc()}));
    });
    rewriter.replaceOp(q, mm.getResult());
    return success();
  }
};

/// GELU, exact or tanh-approximated, as the matmul's activation.
struct FuseGelu : OpRewritePattern<GeluOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GeluOp op, PatternRewriter &rewriter) const override {
    MatmulOp mm = activationProducer(op.getInput(), op);
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
    patterns.add<FoldIntegerMatmulScale, FoldIntegerMatmulBias, FoldStaticQuantizedActivation,
                 FoldFloat8Activation>(&getContext(), /*benefit=*/2);
    patterns.add<FoldOutputGrid, FoldOutputQuant, FoldFloat8OutputGrid, FoldFloat8OutputQuant>(&getContext());
    patterns.add<FuseAdd, FuseActivation<ReluOp, Activation::Relu>,
                 FuseActivation<SigmoidOp, Activation::Sigmoid>,
                 FuseActivation<TanhOp, Activation::Tanh>,
                 FuseActivation<SiluOp, Activation::Silu>, FuseGelu>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
