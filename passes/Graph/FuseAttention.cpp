//===- FuseAttention.cpp - Decomposed SDPA into graph.attention -----------===//
//
// torch.onnx.export writes scaled-dot-product attention as
//
//   q * s1, transpose(k) * s2 (or (q k^T) / sqrt(d)) -> MatMul -> Add mask
//   (or Where) -> Softmax -> [Where(IsNaN, 0, .)] -> MatMul v
//
// with K transposed either by a Transpose or by Reshape/Transpose/Reshape
// through 3-D, and grouped-query K/V repeated by Unsqueeze/Expand/Reshape.
// This pass recognizes the chain (after import, as graph ops) and replaces
// it with one graph.attention on the un-repeated K/V.
//
//===----------------------------------------------------------------------===//
#include "passes/Graph/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "rbln/Support/Elements.h"
#include "rbln/runtime/DType.h"

#include <cmath>
#include <cstring>

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHFUSEATTENTION
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

RankedTensorType tt(Value v) { return cast<RankedTensorType>(v.getType()); }

/// The elements of a value computed from constants only (defined below).
std::optional<std::vector<double>> evaluateConstant(Value v, int depth = 0);

/// The value of a one-element float constant.
std::optional<double> scalarOf(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c || tt(c).getNumElements() != 1 || !isa<FloatType>(tt(c).getElementType()))
    return std::nullopt;
  if (auto d = dyn_cast<DenseElementsAttr>(c.getValue()))
    return (*d.getValues<APFloat>().begin()).convertToDouble();
  auto e = evaluateConstant(v);
  if (!e || e->size() != 1)
    return std::nullopt;
  return (*e)[0];
}

/// Strips `x * c`, `c * x` or `x / c` (c a scalar constant) off v,
/// multiplying `scale` accordingly; `ops` collects what was stripped.
Value stripScale(Value v, double &scale, SmallVectorImpl<Operation *> &ops) {
  while (true) {
    Operation *op = v.getDefiningOp();
    if (!op || !op->hasOneUse())
      return v;
    if (auto m = dyn_cast<MulOp>(op)) {
      if (auto c = scalarOf(m.getRhs()); c && m.getType() == tt(m.getLhs())) {
        scale *= *c, ops.push_back(op), v = m.getLhs();
        continue;
      }
      if (auto c = scalarOf(m.getLhs()); c && m.getType() == tt(m.getRhs())) {
        scale *= *c, ops.push_back(op), v = m.getRhs();
        continue;
      }
    }
    if (auto d = dyn_cast<DivOp>(op))
      if (auto c = scalarOf(d.getRhs()); c && *c != 0 && d.getType() == tt(d.getLhs())) {
        scale /= *c, ops.push_back(op), v = d.getLhs();
        continue;
      }
    return v;
  }
}

/// A mask's fill value: -inf, or at most the lowest finite value of the
/// narrowest float type exporters fill with (f16's -65504; f32's
/// finfo.min is far below it).
bool isMaskFill(Value v) {
  auto c = scalarOf(v);
  return c && (*c <= -65504.0 || (std::isinf(*c) && *c < 0));
}

/// A cast from a 16-bit float to a wider float (or the reverse, `to`
/// narrower): the f32 round trip exporters put around softmax.
bool isWiderFloat(Value narrow, Value wide) {
  auto n = dyn_cast<FloatType>(tt(narrow).getElementType());
  auto w = dyn_cast<FloatType>(tt(wide).getElementType());
  return n && w && (n.getWidth() != w.getWidth());
}

bool swapsLastTwo(ArrayRef<int64_t> perm) {
  int64_t n = int64_t(perm.size());
  for (int64_t i = 0; i < n; ++i)
    if (perm[size_t(i)] != (i == n - 2 ? n - 1 : i == n - 1 ? n - 2 : i))
      return false;
  return n >= 2;
}

/// Reshape [.., D, S] <- Transpose [N, D, S] <- Reshape [N, S, D] <- k [.., S, D]
Value untransposedThrough3d(Value kT, SmallVectorImpl<Operation *> &ops) {
  auto outer = kT.getDefiningOp<ReshapeOp>();
  auto tr = outer ? outer.getInput().getDefiningOp<TransposeOp>() : TransposeOp();
  auto inner = tr ? tr.getInput().getDefiningOp<ReshapeOp>() : ReshapeOp();
  if (!inner || !swapsLastTwo(tr.getPerm()) || tt(tr).getRank() != 3)
    return {};
  Value k = inner.getInput();
  auto kt = tt(k), kTt = tt(kT);
  if (kt.getRank() != kTt.getRank() || kt.getRank() < 2)
    return {};
  int64_t n = kt.getRank();
  if (kt.getShape().drop_back(2) != kTt.getShape().drop_back(2) ||
      kt.getDimSize(n - 1) != kTt.getDimSize(n - 2) || kt.getDimSize(n - 2) != kTt.getDimSize(n - 1) ||
      tt(inner).getDimSize(1) != kt.getDimSize(n - 2))
    return {};
  ops.append({outer, tr, inner});
  return k;
}

/// k as the transpose of kT's last two dims: a value, or a value and the
/// permutation still to apply to it (when kT permutes more than the last two
/// dims, as the TorchScript exporter's transpose(k_heads, [0, 2, 3, 1]) does).
struct Untransposed {
  Value value;
  SmallVector<int64_t> perm; ///< empty: `value` is k
  RankedTensorType type;     ///< k's type
};

std::optional<Untransposed> untransposed(Value kT, SmallVectorImpl<Operation *> &ops) {
  SmallVector<int64_t> shape(tt(kT).getShape());
  if (shape.size() < 2)
    return std::nullopt;
  std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
  auto kType = RankedTensorType::get(shape, tt(kT).getElementType());
  if (auto t = kT.getDefiningOp<TransposeOp>(); t && t->hasOneUse()) {
    ops.push_back(t);
    if (swapsLastTwo(t.getPerm()))
      return Untransposed{t.getInput(), {}, kType};
    SmallVector<int64_t> perm(t.getPerm());
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    return Untransposed{t.getInput(), perm, kType};
  }
  if (Value k = untransposedThrough3d(kT, ops))
    return Untransposed{k, {}, kType};
  return std::nullopt;
}

/// If x is [B, Hkv, S, D] repeated G times per head (Unsqueeze/Expand/Reshape
/// to [B, Hkv*G, S, D]), the un-repeated value; else x itself.
Value unrepeated(Value x, SmallVectorImpl<Operation *> &ops) {
  auto r2 = x.getDefiningOp<ReshapeOp>();
  auto ex = r2 ? r2.getInput().getDefiningOp<ExpandOp>() : ExpandOp();
  auto r1 = ex ? ex.getInput().getDefiningOp<ReshapeOp>() : ReshapeOp();
  if (!r1)
    return x;
  Value kv = r1.getInput();
  auto kt = tt(kv), e = tt(ex), o = tt(x);
  if (kt.getRank() != 4 || e.getRank() != 5 || o.getRank() != 4)
    return x;
  int64_t b = kt.getDimSize(0), h = kt.getDimSize(1), s = kt.getDimSize(2), d = kt.getDimSize(3);
  SmallVector<int64_t> unsq{b, h, 1, s, d};
  int64_t g = e.getDimSize(2);
  if (tt(r1).getShape() != ArrayRef<int64_t>(unsq) ||
      e.getShape() != ArrayRef<int64_t>({b, h, g, s, d}) ||
      o.getShape() != ArrayRef<int64_t>({b, h * g, s, d}))
    return x;
  ops.append({r2, ex, r1});
  return kv;
}

struct FuseSdpa : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp pv, PatternRewriter &r) const override {
    auto plain = [](MatmulOp m) {
      return m && !m.getBias() && !m.getResidual() && !m.getTransposeLhs() && m.getActivation() == Activation::None &&
             m.getBeta().convertToFloat() == 1.0f && tt(m).getRank() == 4;
    };
    if (!plain(pv) || pv.getTransposeRhs() || pv.getAlpha().convertToFloat() != 1.0f)
      return failure();
    SmallVector<Operation *> ops{pv};
    // P = [select(is_nan(sm), 0, sm)] of sm = softmax(S, last).
    Value p = pv.getLhs();
    if (auto guard = p.getDefiningOp<SelectOp>()) {
      auto nan = guard.getCond().getDefiningOp<IsNanOp>();
      auto zero = scalarOf(guard.getX());
      if (nan && zero && *zero == 0.0 && nan.getInput() == guard.getY() && guard.getType() == tt(guard.getY())) {
        ops.append({guard, nan});
        p = guard.getY();
      }
    }
    // softmax(S) or, as exporters of 16-bit models write it,
    // cast(softmax(cast(S, f32))) back to S's type: the kernel's softmax
    // runs in f32 anyway.
    Value castBack;
    if (auto c = p.getDefiningOp<CastOp>(); c && c->hasOneUse() && isWiderFloat(c.getInput(), c)) {
      castBack = c;
      p = c.getInput();
    }
    auto sm = p.getDefiningOp<SoftmaxOp>();
    if (!sm || sm.getAxis() != 3)
      return failure();
    if (castBack)
      ops.push_back(castBack.getDefiningOp());
    ops.push_back(sm);
    Value s = sm.getInput();
    if (castBack) {
      auto c = s.getDefiningOp<CastOp>();
      if (!c || !c->hasOneUse() || tt(c.getInput()) != tt(castBack))
        return failure();
      ops.push_back(c);
      s = c.getInput();
    }
    Value mask;
    bool invertMask = false; // the condition marks masked keys (masked_fill)
    Value finiteFill;        // a finite fill: an additive mask keeps its rows' meaning
    if (auto add = s.getDefiningOp<AddOp>(); add && add->hasOneUse()) {
      bool lhsQk = add.getLhs().getDefiningOp<MatmulOp>() || add.getLhs().getDefiningOp<MulOp>() ||
                   add.getLhs().getDefiningOp<DivOp>();
      s = lhsQk ? add.getLhs() : add.getRhs();
      mask = lhsQk ? add.getRhs() : add.getLhs();
      ops.push_back(add);
    } else if (auto sel = s.getDefiningOp<SelectOp>(); sel && sel->hasOneUse()) {
      // where(keep, S, fill) or where(masked, fill, S), the fill -inf or the
      // type's lowest value (torch.finfo(dtype).min, as GPT-2 writes it).
      Value fill;
      if (isMaskFill(sel.getY())) {
        s = sel.getX(), fill = sel.getY();
      } else if (isMaskFill(sel.getX())) {
        s = sel.getY(), fill = sel.getX();
        invertMask = true;
      } else {
        return failure();
      }
      // A row whose keys are all masked by a finite fill (finfo.min)
      // averages the values; by -inf it has no weights. Finite fills stay
      // an additive mask so both mean what the model says.
      if (!std::isinf(*scalarOf(fill)))
        finiteFill = fill;
      mask = sel.getCond();
      ops.push_back(sel);
    }
    double scale = 1.0;
    s = stripScale(s, scale, ops);
    auto qk = s.getDefiningOp<MatmulOp>();
    if (!plain(qk) || !qk->hasOneUse())
      return failure();
    scale *= qk.getAlpha().convertToDouble();
    ops.push_back(qk);
    Value q = stripScale(qk.getLhs(), scale, ops);
    Untransposed k{qk.getRhs(), {}, tt(qk.getRhs())};
    if (!qk.getTransposeRhs()) {
      Value kT = stripScale(qk.getRhs(), scale, ops);
      auto u = untransposed(kT, ops);
      if (!u) { // K arrives transposed: transpose it back for the kernel
        if (tt(kT).getRank() < 2)
          return failure();
        SmallVector<int64_t> perm;
        for (int64_t i = 0; i < tt(kT).getRank(); ++i)
          perm.push_back(i);
        std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
        SmallVector<int64_t> shape(tt(kT).getShape());
        std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
        u = Untransposed{kT, perm, RankedTensorType::get(shape, tt(kT).getElementType())};
      }
      k = *u;
    }
    if (k.perm.empty())
      k.value = unrepeated(k.value, ops), k.type = tt(k.value);
    Value v = unrepeated(pv.getRhs(), ops);
    // Check everything before changing the IR.
    auto maskType = !mask       ? RankedTensorType()
                    : finiteFill ? RankedTensorType::get(tt(mask).getShape(), tt(pv).getElementType())
                                 : tt(mask);
    if (!attentionTypeError(tt(q), k.type, tt(v), maskType, tt(pv)).empty())
      return failure();
    if (finiteFill) {
      // select(keep, 0, fill) (or select(masked, fill, 0)) in the scores' type.
      Type et = tt(pv).getElementType();
      auto zt = RankedTensorType::get({}, et);
      Value zero = ConstantOp::create(r, pv.getLoc(), DenseElementsAttr::get(zt, r.getFloatAttr(et, 0.0)));
      Value fill = ConstantOp::create(r, pv.getLoc(),
                                      DenseElementsAttr::get(zt, r.getFloatAttr(et, *scalarOf(finiteFill))));
      auto addType = RankedTensorType::get(tt(mask).getShape(), et);
      mask = invertMask ? SelectOp::create(r, pv.getLoc(), addType, mask, fill, zero)
                        : SelectOp::create(r, pv.getLoc(), addType, mask, zero, fill);
    } else if (invertMask) {
      mask = NotOp::create(r, pv.getLoc(), mask.getType(), mask);
    }
    Value kv = k.value;
    if (!k.perm.empty())
      kv = TransposeOp::create(r, qk.getLoc(), k.type, k.value, r.getDenseI64ArrayAttr(k.perm));
    auto att = AttentionOp::create(r, pv.getLoc(), tt(pv), q, kv, v, mask, r.getF32FloatAttr(float(scale)),
                                   r.getBoolAttr(false), r.getI64IntegerAttr(0), r.getF32FloatAttr(0.0f),
                                   r.getI64IntegerAttr(0), DenseF32ArrayAttr());
    SmallVector<Location> locs;
    for (Operation *op : ops)
      locs.push_back(op->getLoc());
    att->setLoc(r.getFusedLoc(locs));
    r.replaceOp(pv, att.getResult());
    return success();
  }
};

/// The elements of v (row-major) when it is computed from constants by
/// ops a mask is built with -- views, reshapes, broadcasts, logic, select,
/// add, casts -- evaluated on the host (at most 2^22 elements per value).
/// Bools are 0/1. Masks that exporters build from the attention mask and
/// position stand-ins are such values; without this they would reach the
/// device as small kernels and hide the band they are.
std::optional<std::vector<double>> evaluateConstant(Value v, int depth) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || depth > 32 || type.getNumElements() > (int64_t(1) << 22))
    return std::nullopt;
  ArrayRef<int64_t> shape = type.getShape();
  Operation *op = v.getDefiningOp();
  if (!op)
    return std::nullopt;
  // Element k of operand `x` (of shape xs) broadcast to `shape`.
  auto bcast = [&](const std::vector<double> &x, ArrayRef<int64_t> xs, int64_t k) {
    int64_t off = 0, stride = 1;
    for (int64_t d = int64_t(shape.size()) - 1, xd = int64_t(xs.size()) - 1; d >= 0; --d, --xd) {
      int64_t i = k % shape[size_t(d)];
      k /= shape[size_t(d)];
      if (xd < 0)
        continue;
      off += (xs[size_t(xd)] == 1 ? 0 : i) * stride;
      stride *= xs[size_t(xd)];
    }
    return x[size_t(off)];
  };
  auto operandShape = [](Value x) { return cast<RankedTensorType>(x.getType()).getShape(); };
  int64_t n = type.getNumElements();
  std::vector<double> out(static_cast<size_t>(n), 0.0);
  if (auto c = dyn_cast<ConstantOp>(op)) {
    std::vector<char> bytes;
    Type et = type.getElementType();
    if (!rbln::getElementBytes(cast<ElementsAttr>(c.getValue()), bytes))
      return std::nullopt;
    size_t w = et.isInteger(1) ? 1 : et.getIntOrFloatBitWidth() / 8;
    if (bytes.size() != size_t(n) * w)
      return std::nullopt;
    for (int64_t k = 0; k < n; ++k) {
      const char *p = bytes.data() + size_t(k) * w;
      if (et.isInteger(1)) {
        out[size_t(k)] = *p != 0;
      } else if (et.isF32()) {
        float f;
        std::memcpy(&f, p, 4);
        out[size_t(k)] = f;
      } else if (et.isF16() || et.isBF16()) {
        uint16_t h;
        std::memcpy(&h, p, 2);
        out[size_t(k)] = et.isF16() ? rbln::halfToFloat(h) : rbln::bf16ToFloat(h);
      } else if (et.isInteger(64)) {
        int64_t i;
        std::memcpy(&i, p, 8);
        out[size_t(k)] = double(i);
      } else {
        return std::nullopt;
      }
    }
    return out;
  }
  auto operand = [&](unsigned i) { return evaluateConstant(op->getOperand(i), depth + 1); };
  if (isa<ReshapeOp, CastOp>(op)) {
    auto x = operand(0);
    if (!x || x->size() != size_t(n))
      return std::nullopt;
    if (isa<CastOp>(op) && type.getElementType().isInteger(1))
      for (double &e : *x)
        e = e != 0;
    return x;
  }
  if (auto view = dyn_cast<ViewOp>(op)) {
    auto x = operand(0);
    if (!x)
      return std::nullopt;
    ArrayRef<int64_t> st = view.getStrides();
    for (int64_t k = 0; k < n; ++k) {
      int64_t rest = k, off = view.getOffset();
      for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
        off += (rest % shape[size_t(d)]) * st[size_t(d)];
        rest /= shape[size_t(d)];
      }
      if (off < 0 || size_t(off) >= x->size())
        return std::nullopt;
      out[size_t(k)] = (*x)[size_t(off)];
    }
    return out;
  }
  if (isa<ExpandOp, NotOp>(op)) {
    auto x = operand(0);
    if (!x)
      return std::nullopt;
    for (int64_t k = 0; k < n; ++k) {
      double e = bcast(*x, operandShape(op->getOperand(0)), k);
      out[size_t(k)] = isa<NotOp>(op) ? double(e == 0) : e;
    }
    return out;
  }
  if (isa<AndOp, OrOp, AddOp, SelectOp>(op)) {
    SmallVector<std::vector<double>> xs;
    for (unsigned i = 0; i < op->getNumOperands(); ++i) {
      auto x = operand(i);
      if (!x)
        return std::nullopt;
      xs.push_back(std::move(*x));
    }
    for (int64_t k = 0; k < n; ++k) {
      auto at = [&](unsigned i) { return bcast(xs[i], operandShape(op->getOperand(i)), k); };
      out[size_t(k)] = isa<AndOp>(op)   ? double(at(0) != 0 && at(1) != 0)
                       : isa<OrOp>(op)  ? double(at(0) != 0 || at(1) != 0)
                       : isa<AddOp>(op) ? at(0) + at(1)
                                        : (at(0) != 0 ? at(1) : at(2));
    }
    return out;
  }
  return std::nullopt;
}

/// A constant mask that is exactly a causal band -- key j kept for query i
/// iff i + off - W < j <= i + off, the same for every batch and head -- is
/// what exporters fold a causal or sliding-window mask into: the kernel
/// generates it from positions instead (skipping tiles outside it).
struct MaskToCausalWindow : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &rewriter) const override {
    Value mask = op.getMask();
    if (!mask)
      return failure();
    // select(cond, 0, -inf) with a constant cond: the bool mask cond.
    auto constValues = [](Value v) -> std::optional<SmallVector<double>> {
      auto t = evaluateConstant(v);
      if (!t)
        return std::nullopt;
      return SmallVector<double>(t->begin(), t->end());
    };
    bool isBool = cast<RankedTensorType>(mask.getType()).getElementType().isInteger(1);
    // A masked key's fill: -inf, or a finite lowest value (finfo.min). With
    // a finite fill a row whose keys are all masked averages the values
    // instead of having no weights: then the band must keep a key in every
    // row (a non-negative offset) to be the kernel's causal mask.
    auto isFill = [](double v) { return v <= -65504.0; };
    bool finiteFill = false;
    if (auto sel = mask.getDefiningOp<SelectOp>()) {
      auto t = constValues(sel.getOperand(1)), f = constValues(sel.getOperand(2));
      if (t && f && t->size() == 1 && f->size() == 1 && (*t)[0] == 0 && isFill((*f)[0]) &&
          cast<RankedTensorType>(sel.getOperand(0).getType()).getShape() ==
              cast<RankedTensorType>(mask.getType()).getShape()) {
        mask = sel.getOperand(0);
        isBool = true;
        finiteFill = !std::isinf((*f)[0]);
      }
    }
    auto values = constValues(mask);
    auto mt = cast<RankedTensorType>(mask.getType());
    auto qt = cast<RankedTensorType>(op.getQ().getType());
    auto kt = cast<RankedTensorType>(op.getK().getType());
    int64_t sq = qt.getDimSize(2), sk = kt.getDimSize(2);
    if (!values || mt.getRank() < 2 || mt.getShape().back() != sk || mt.getDimSize(mt.getRank() - 2) != sq)
      return failure();
    // kept: 1 for a kept key, 0 for a masked one, -1 for anything else (a
    // bias): then it is not a band.
    SmallVector<int8_t> kept;
    for (double v : *values)
    {
      finiteFill |= !isBool && isFill(v) && !std::isinf(v);
      kept.push_back(isBool ? int8_t(v != 0) : v == 0 ? 1 : (isFill(v) ? 0 : -1));
    }
    int64_t plane = sq * sk;
    if (int64_t(kept.size()) % plane)
      return failure();
    for (size_t e = 0; e < kept.size(); ++e)
      if (kept[e] < 0 || kept[e] != kept[e % size_t(plane)])
        return failure();
    // The band's offset from the last row's last kept key; its width from
    // the last row's first kept key.
    int64_t last = -1, first = -1;
    for (int64_t j = 0; j < sk; ++j)
      if (kept[size_t((sq - 1) * sk + j)]) {
        first = first < 0 ? j : first;
        last = j;
      }
    if (last < 0)
      return failure();
    int64_t off = last - (sq - 1), window = first > 0 ? last - first + 1 : 0;
    if (finiteFill && off < 0)
      return failure();
    if (op.getCausal() && op.getCausalOffset() != off)
      return failure();
    for (int64_t i = 0; i < sq; ++i)
      for (int64_t j = 0; j < sk; ++j) {
        bool want = j <= i + off && (window == 0 || j > i + off - window);
        if (bool(kept[size_t(i * sk + j)]) != want)
          return failure();
      }
    if (window > 0 && op.getWindow() > 0 && int64_t(op.getWindow()) != window)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getMaskMutable().clear();
      op.setCausal(true);
      op.setCausalOffset(off);
      if (window > 0)
        op.setWindow(window);
    });
    return success();
  }
};

/// A padding mask exporters build per (query, key) pair as
/// select(and(all-true [.., Sq, 1], keys [.., 1, Sk]), 0, fill): the same
/// for every query row. The attention takes select(keys, 0, fill) instead,
/// which broadcasts over the rows, so the kernel reads one row of it per KV
/// tile rather than a full [Sq, Sk] tile.
struct NarrowRowMask : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &rewriter) const override {
    Value mask = op.getMask();
    auto sel = mask ? mask.getDefiningOp<SelectOp>() : SelectOp();
    if (!sel || tt(sel.getOperand(1)).getNumElements() != 1 || tt(sel.getOperand(2)).getNumElements() != 1)
      return failure();
    auto andOp = sel.getOperand(0).getDefiningOp<AndOp>();
    if (!andOp || tt(andOp).getRank() != tt(mask).getRank())
      return failure();
    auto allTrue = [](Value v) {
      auto e = evaluateConstant(v);
      return e && llvm::all_of(*e, [](double x) { return x != 0; });
    };
    Value keys;
    for (unsigned i = 0; i < 2 && !keys; ++i)
      if (allTrue(andOp->getOperand(i)))
        keys = andOp->getOperand(1 - i);
    // The kept operand must be constant over query rows (dim -2 of size 1)
    // and already span the keys.
    auto kt = keys ? tt(keys) : RankedTensorType();
    if (!keys || kt.getRank() != tt(mask).getRank() || kt.getDimSize(kt.getRank() - 2) != 1 ||
        kt.getShape().back() != tt(mask).getShape().back() || tt(mask).getDimSize(kt.getRank() - 2) == 1)
      return failure();
    // Every layer's attention shares one narrowed mask.
    auto type = RankedTensorType::get(kt.getShape(), tt(mask).getElementType());
    Value narrow;
    for (Operation *user : keys.getUsers())
      if (auto other = dyn_cast<SelectOp>(user);
          other && other.getType() == type && other->getOperand(0) == keys &&
          other->getOperand(1) == sel.getOperand(1) && other->getOperand(2) == sel.getOperand(2) &&
          other->getBlock() == op->getBlock() && other->isBeforeInBlock(op))
        narrow = other;
    if (!narrow) {
      rewriter.setInsertionPointAfter(sel);
      narrow = SelectOp::create(rewriter, sel.getLoc(), type, keys, sel.getOperand(1), sel.getOperand(2));
    }
    rewriter.modifyOpInPlace(op, [&] { op.getMaskMutable().assign(narrow); });
    return success();
  }
};

struct GraphFuseAttentionPass : rbln::graph::impl::GraphFuseAttentionBase<GraphFuseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseSdpa, MaskToCausalWindow, NarrowRowMask>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
