//===- AttentionHandlers.cpp - Attention operators into graph.attention ---===//
//
// Every form in which models express attention reaches one graph.attention:
// here the ONNX opset-23 `Attention` operator (3-D or 4-D inputs, GQA/MQA,
// masks, causality, softcap, past/present cache); graph-fuse-attention
// recognizes the decomposed form exporters write.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "dialects/Graph/GraphDialect.h"
#include "mlir/IR/Verifier.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::onnx_import {
namespace {

/// [B, S, H*D] -> [B, H, S, D].
Value splitHeads(NodeContext &nc, Value x, int64_t heads) {
  auto t = cast<RankedTensorType>(x.getType());
  int64_t b = t.getDimSize(0), s = t.getDimSize(1), d = t.getDimSize(2) / heads;
  Value r = graph::ReshapeOp::create(nc.b, nc.loc, withShape(x, {b, s, heads, d}), x);
  return graph::TransposeOp::create(nc.b, nc.loc, withShape(x, {b, heads, s, d}), r,
                                    nc.b.getDenseI64ArrayAttr({0, 2, 1, 3}));
}

/// [B, H, S, Dv] -> [B, S, H*Dv].
Value mergeHeads(NodeContext &nc, Value y) {
  auto t = cast<RankedTensorType>(y.getType());
  int64_t b = t.getDimSize(0), h = t.getDimSize(1), s = t.getDimSize(2), dv = t.getDimSize(3);
  y = graph::TransposeOp::create(nc.b, nc.loc, withShape(y, {b, s, h, dv}), y,
                                 nc.b.getDenseI64ArrayAttr({0, 2, 1, 3}));
  return graph::ReshapeOp::create(nc.b, nc.loc, withShape(y, {b, s, h * dv}), y);
}

/// Builds graph.attention over 4-D q/k/v (k, v with any past prepended),
/// verifies it (errors name the node), and sets the node's outputs: Y (heads
/// merged back to [B, S, H*Dv] when `merge`), present key and value.
LogicalResult finishAttention(NodeContext &nc, Value q, Value k, Value v, Value mask, float scale,
                              bool causal, int64_t past, float softcap, bool merge,
                              int64_t window = 0) {
  auto qt = cast<RankedTensorType>(q.getType());
  auto yt = RankedTensorType::get({qt.getDimSize(0), qt.getDimSize(1), qt.getDimSize(2),
                                   cast<RankedTensorType>(v.getType()).getDimSize(3)},
                                  qt.getElementType());
  auto y = graph::AttentionOp::create(nc.b, nc.loc, yt, q, k, v, mask, nc.b.getF32FloatAttr(scale),
                                      nc.b.getBoolAttr(causal), nc.b.getI64IntegerAttr(past),
                                      nc.b.getF32FloatAttr(softcap), nc.b.getI64IntegerAttr(window),
                                      DenseF32ArrayAttr());
  if (failed(mlir::verify(y, false)))
    return failure();
  nc.setOutput(0, merge ? mergeHeads(nc, y) : Value(y));
  if (nc.node.output_size() > 1 && !nc.node.output(1).empty())
    nc.setOutput(1, k);
  if (nc.node.output_size() > 2 && !nc.node.output(2).empty())
    nc.setOutput(2, v);
  return success();
}

LogicalResult attention(NodeContext &nc) {
  if (failed(nc.expectInputs(3, 7)))
    return failure();
  for (int i = 0; i < 3; ++i)
    if (failed(nc.expectFloat(i)))
      return failure();
  if (nc.hasInput(6) && nc.hasInput(4))
    return nc.error() << "nonpad_kv_seqlen cannot be combined with past_key/past_value";
  if (nc.intAttr("qk_matmul_output_mode", 0) != 0 ||
      (nc.node.output_size() > 3 && !nc.node.output(3).empty()))
    return nc.error() << "qk_matmul_output (output 3, qk_matmul_output_mode "
                      << nc.intAttr("qk_matmul_output_mode", 0)
                      << ") is not supported: the NPU never materializes the scores";
  int64_t leftWindow = nc.intAttr("left_window_size", -1),
          rightWindow = nc.intAttr("right_window_size", -1);
  if (leftWindow < -1 || rightWindow < -1)
    return nc.error() << "window sizes must be -1 (none) or non-negative";
  if (nc.hasInput(4) != nc.hasInput(5))
    return nc.error() << "past_key and past_value must be given together";
  auto qt = nc.inputType(0), kt = nc.inputType(1), vt = nc.inputType(2);
  int64_t rank = qt.getRank();
  if (rank != 3 && rank != 4)
    return nc.error() << "Q must have rank 3 or 4, got " << qt;
  if (kt.getRank() != rank || vt.getRank() != rank)
    return nc.error() << "Q, K and V must have the same rank";
  auto q = nc.input(0), k = nc.input(1), v = nc.input(2);
  if (failed(q) || failed(k) || failed(v))
    return failure();
  Value qv = *q, kv = *k, vv = *v;
  if (rank == 3) {
    int64_t hq = nc.intAttr("q_num_heads", 0), hkv = nc.intAttr("kv_num_heads", 0);
    if (hq <= 0 || hkv <= 0)
      return nc.error() << "3-D inputs need q_num_heads and kv_num_heads";
    if (qt.getDimSize(2) % hq || kt.getDimSize(2) % hkv || vt.getDimSize(2) % hkv)
      return nc.error() << "hidden sizes " << qt.getDimSize(2) << ", " << kt.getDimSize(2) << ", "
                        << vt.getDimSize(2) << " are not multiples of the heads (" << hq << ", "
                        << hkv << ")";
    qv = splitHeads(nc, qv, hq);
    kv = splitHeads(nc, kv, hkv);
    vv = splitHeads(nc, vv, hkv);
  }
  int64_t past = 0;
  if (nc.hasInput(4)) {
    auto pk = nc.input(4), pv = nc.input(5);
    if (failed(pk) || failed(pv))
      return failure();
    auto pkt = cast<RankedTensorType>(pk->getType());
    auto kt4 = cast<RankedTensorType>(kv.getType());
    if (pkt.getRank() != 4 || pkt.getDimSize(0) != kt4.getDimSize(0) ||
        pkt.getDimSize(1) != kt4.getDimSize(1) || pkt.getDimSize(3) != kt4.getDimSize(3))
      return nc.error() << "past_key " << pkt << " does not match the keys " << kt4;
    past = pkt.getDimSize(2);
    auto cat = [&](Value a, Value b) -> Value {
      auto at = cast<RankedTensorType>(a.getType()), bt = cast<RankedTensorType>(b.getType());
      SmallVector<int64_t> shape(bt.getShape());
      shape[2] += at.getDimSize(2);
      return graph::ConcatOp::create(nc.b, nc.loc, withShape(b, shape), ValueRange{a, b},
                                     nc.b.getI64IntegerAttr(2));
    };
    kv = cat(*pk, kv);
    vv = cat(*pv, vv);
  }
  auto q4 = cast<RankedTensorType>(qv.getType()), k4 = cast<RankedTensorType>(kv.getType()),
       v4 = cast<RankedTensorType>(vv.getType());
  if (q4.getDimSize(1) % std::max<int64_t>(1, k4.getDimSize(1)) != 0)
    return nc.error() << "query heads (" << q4.getDimSize(1)
                      << ") must be a multiple of the KV heads (" << k4.getDimSize(1) << ")";
  if (q4.getDimSize(3) != k4.getDimSize(3))
    return nc.error() << "Q and K head sizes differ: " << q4.getDimSize(3) << " vs "
                      << k4.getDimSize(3);
  int64_t sk = k4.getDimSize(2);
  auto m = nc.optionalInput(3);
  if (failed(m))
    return failure();
  Value mask = *m;
  if (mask) {
    auto mt = cast<RankedTensorType>(mask.getType());
    bool isBool = mt.getElementType().isInteger(1);
    if (!isBool && mt.getElementType() != q4.getElementType())
      return nc.error() << "attn_mask must be bool or Q's type, got " << mt.getElementType();
    if (mt.getRank() < 1 || mt.getRank() > 4 || mt.getShape().back() > sk)
      return nc.error() << "attn_mask " << mt << " does not fit the scores' last dim " << sk;
    if (int64_t pad = sk - mt.getShape().back()) { // keys past the mask are masked
      SmallVector<int64_t> ps(mt.getShape());
      ps.back() = pad;
      auto pt = RankedTensorType::get(ps, mt.getElementType());
      Attribute fill = isBool ? Attribute(nc.b.getBoolAttr(false))
                              : Attribute(nc.b.getFloatAttr(mt.getElementType(),
                                                            -std::numeric_limits<double>::infinity()));
      Value padV = graph::ConstantOp::create(nc.b, nc.loc, DenseElementsAttr::get(pt, fill));
      SmallVector<int64_t> full(mt.getShape());
      full.back() = sk;
      mask = graph::ConcatOp::create(nc.b, nc.loc, RankedTensorType::get(full, mt.getElementType()),
                                     ValueRange{mask, padV}, nc.b.getI64IntegerAttr(mt.getRank() - 1));
    }
  }
  // Masks the kernel cannot generate from compile-time positions alone: the
  // valid KV length per sequence (nonpad_kv_seqlen, an external cache) moves
  // the causal and window frontiers per batch at run time. Those, and sliding
  // windows, are built here as a bool mask and combined with attn_mask.
  bool causal = nc.intAttr("is_causal", 0) != 0;
  int64_t b = q4.getDimSize(0), sq = q4.getDimSize(2);
  bool windowed = leftWindow >= 0 || rightWindow >= 0;
  Value extra; // bool [B or 1, 1, Sq, Sk]
  auto andMask = [&](Value m) {
    if (!extra) {
      extra = m;
      return;
    }
    auto a = cast<RankedTensorType>(extra.getType()), c = cast<RankedTensorType>(m.getType());
    auto shape = graph::broadcastShapes(a.getShape(), c.getShape());
    extra = graph::AndOp::create(nc.b, nc.loc, RankedTensorType::get(*shape, nc.b.getI1Type()),
                                 extra, m);
  };
  auto boolConst = [&](ArrayRef<int64_t> shape, function_ref<bool(int64_t, int64_t)> keep) {
    SmallVector<bool> bits;
    for (int64_t i = 0; i < shape[0]; ++i)
      for (int64_t j = 0; j < shape[1]; ++j)
        bits.push_back(keep(i, j));
    return Value(graph::ConstantOp::create(
        nc.b, nc.loc,
        DenseElementsAttr::get(RankedTensorType::get(shape, nc.b.getI1Type()), ArrayRef<bool>(bits))));
  };
  if (nc.hasInput(6)) {
    // offset[b] = nonpad[b] - Sq. Key j is valid iff j < nonpad[b]; causal:
    // j - i + Sq <= nonpad[b]; window: |frontier - j| bounds likewise.
    auto lt = nc.inputType(6);
    if (lt.getNumElements() != b || !lt.getElementType().isInteger(64))
      return nc.error() << "nonpad_kv_seqlen must be int64 with one length per batch, got " << lt;
    auto len = nc.input(6);
    if (failed(len))
      return failure();
    auto i64 = nc.b.getI64Type();
    Value lenB = graph::ReshapeOp::create(nc.b, nc.loc, RankedTensorType::get({b, 1, 1, 1}, i64), *len);
    auto rel = [&](function_ref<int64_t(int64_t, int64_t)> f) {
      SmallVector<int64_t> vals;
      for (int64_t i = 0; i < sq; ++i)
        for (int64_t j = 0; j < sk; ++j)
          vals.push_back(f(i, j));
      return Value(graph::ConstantOp::create(
          nc.b, nc.loc, DenseElementsAttr::get(RankedTensorType::get({sq, sk}, i64), ArrayRef<int64_t>(vals))));
    };
    auto maskT = RankedTensorType::get({b, 1, sq, sk}, nc.b.getI1Type());
    andMask(graph::LessOp::create(nc.b, nc.loc, maskT, rel([](int64_t, int64_t j) { return j; }), lenB));
    if (causal) // j <= i + len - Sq  <=>  j - i + Sq <= len
      andMask(graph::LessEqualOp::create(nc.b, nc.loc, maskT,
                                         rel([&](int64_t i, int64_t j) { return j - i + sq; }), lenB));
    if (leftWindow >= 0) // (i + len - Sq) - j <= left  <=>  len <= left + j - i + Sq
      andMask(graph::LessEqualOp::create(
          nc.b, nc.loc, maskT, lenB, rel([&](int64_t i, int64_t j) { return leftWindow + j - i + sq; })));
    if (rightWindow >= 0) // j - (i + len - Sq) <= right  <=>  j - i + Sq - right <= len
      andMask(graph::LessEqualOp::create(
          nc.b, nc.loc, maskT, rel([&](int64_t i, int64_t j) { return j - i + sq - rightWindow; }), lenB));
    causal = false;
  } else if (windowed) {
    int64_t off = past;
    andMask(boolConst({sq, sk}, [&](int64_t i, int64_t j) {
      int64_t diff = (i + off) - j;
      return (leftWindow < 0 || diff <= leftWindow) && (rightWindow < 0 || -diff <= rightWindow);
    }));
  }
  if (extra) {
    if (!mask) {
      mask = extra;
    } else {
      auto mt = cast<RankedTensorType>(mask.getType()), et = cast<RankedTensorType>(extra.getType());
      auto shape = graph::broadcastShapes(mt.getShape(), et.getShape());
      if (failed(shape))
        return nc.error() << "attn_mask " << mt << " does not broadcast with the scores";
      if (mt.getElementType().isInteger(1)) {
        mask = graph::AndOp::create(nc.b, nc.loc, RankedTensorType::get(*shape, nc.b.getI1Type()),
                                    mask, extra);
      } else {
        Value ninf = graph::ConstantOp::create(
            nc.b, nc.loc,
            DenseElementsAttr::get(RankedTensorType::get({}, mt.getElementType()),
                                   nc.b.getFloatAttr(mt.getElementType(),
                                                     -std::numeric_limits<double>::infinity())));
        mask = graph::SelectOp::create(nc.b, nc.loc,
                                       RankedTensorType::get(*shape, mt.getElementType()), extra,
                                       mask, ninf);
      }
    }
  }
  float scale = nc.hasAttr("scale") ? nc.floatAttr("scale", 1.0f)
                                    : float(1.0 / std::sqrt(double(q4.getDimSize(3))));
  float softcap = nc.floatAttr("softcap", 0.0f);
  return finishAttention(nc, qv, kv, vv, mask, scale, causal, past, softcap, rank == 3);
}

/// past (4-D [B, H, P, D], may be absent) followed by cur along the sequence.
Value appendPast(NodeContext &nc, Value past, Value cur) {
  if (!past)
    return cur;
  auto pt = cast<RankedTensorType>(past.getType()), ct = cast<RankedTensorType>(cur.getType());
  SmallVector<int64_t> shape(ct.getShape());
  shape[2] += pt.getDimSize(2);
  return graph::ConcatOp::create(nc.b, nc.loc, withShape(cur, shape), ValueRange{past, cur},
                                 nc.b.getI64IntegerAttr(2));
}

FailureOr<Value> optionalInput(NodeContext &nc, int i) {
  if (!nc.hasInput(i))
    return Value();
  return nc.input(i);
}

/// com.microsoft.MultiHeadAttention: 3-D query/key/value (separate, not
/// packed), optional QKV bias, key_padding_mask [B, L] (1 keeps a key),
/// attention_bias, past/present, unidirectional (causal).
LogicalResult multiHeadAttention(NodeContext &nc) {
  if (failed(nc.expectInputs(3, 8)) || failed(nc.expectFloat(0)))
    return failure();
  int64_t heads = nc.intAttr("num_heads", 0);
  if (heads <= 0)
    return nc.error() << "num_heads must be positive";
  auto qt = nc.inputType(0);
  if (qt.getRank() != 3 || nc.inputType(1).getRank() != 3 || nc.inputType(2).getRank() != 3)
    return nc.error() << "query, key and value must be separate 3-D tensors [B, S, H*D] "
                         "(packed QKV/KV and 4-D key/value are not supported)";
  Type et = qt.getElementType();
  auto q = nc.input(0), k = nc.input(1), v = nc.input(2);
  auto bias = optionalInput(nc, 3), pk = optionalInput(nc, 6), pv = optionalInput(nc, 7);
  if (failed(q) || failed(k) || failed(v) || failed(bias) || failed(pk) || failed(pv))
    return failure();
  Value qv = *q, kv = *k, vv = *v;
  int64_t hq = qt.getDimSize(2), hk = nc.inputType(1).getDimSize(2), hv = nc.inputType(2).getDimSize(2);
  if (hq % heads || hk % heads || hv % heads)
    return nc.error() << "hidden sizes must be multiples of num_heads " << heads;
  if (*bias) { // [hq + hk + hv]: one bias per projection
    auto bt = cast<RankedTensorType>(bias->getType());
    if (bt.getRank() != 1 || bt.getDimSize(0) != hq + hk + hv)
      return nc.error() << "bias must be [" << hq + hk + hv << "], got " << bt;
    int64_t at = 0;
    for (Value *x : {&qv, &kv, &vv}) {
      int64_t n = cast<RankedTensorType>(x->getType()).getDimSize(2);
      Value part = graph::ViewOp::create(nc.b, nc.loc, RankedTensorType::get({n}, et), *bias,
                                         nc.b.getI64IntegerAttr(at), nc.b.getDenseI64ArrayAttr({1}));
      *x = graph::AddOp::create(nc.b, nc.loc, x->getType(), *x, part);
      at += n;
    }
  }
  qv = splitHeads(nc, qv, heads);
  kv = appendPast(nc, *pk, splitHeads(nc, kv, heads));
  vv = appendPast(nc, *pv, splitHeads(nc, vv, heads));
  int64_t past = *pk ? cast<RankedTensorType>(pk->getType()).getDimSize(2) : 0;
  auto q4 = cast<RankedTensorType>(qv.getType()), k4 = cast<RankedTensorType>(kv.getType());
  int64_t b = q4.getDimSize(0), sq = q4.getDimSize(2), sk = k4.getDimSize(2);
  auto attnBias = nc.optionalInput(5); // attention_bias, additive
  if (failed(attnBias))
    return failure();
  Value mask = *attnBias;
  if (nc.hasInput(4)) { // key_padding_mask [B, L]: 1 keeps, 0 masks
    auto kt = nc.inputType(4);
    if (kt.getRank() != 2 || kt.getDimSize(0) != b || kt.getDimSize(1) != sk)
      return nc.error() << "key_padding_mask must be [" << b << ", " << sk << "], got " << kt;
    auto km = nc.input(4);
    if (failed(km))
      return failure();
    auto kt4 = RankedTensorType::get({b, 1, 1, sk}, kt.getElementType());
    Value r = graph::ReshapeOp::create(nc.b, nc.loc, kt4, *km);
    Value keep = graph::CastOp::create(nc.b, nc.loc, RankedTensorType::get({b, 1, 1, sk}, nc.b.getI1Type()), r);
    if (!mask) {
      mask = keep;
    } else {
      auto mt = cast<RankedTensorType>(mask.getType());
      auto shape = graph::broadcastShapes(mt.getShape(), kt4.getShape());
      if (failed(shape))
        return nc.error() << "attention_bias " << mt << " does not broadcast with the scores";
      mask = graph::SelectOp::create(nc.b, nc.loc, RankedTensorType::get(*shape, et), keep, mask,
                                     scalarConst(nc, et, -std::numeric_limits<double>::infinity()));
    }
  }
  float scale = nc.floatAttr("scale", 0.0f);
  if (scale == 0.0f)
    scale = float(1.0 / std::sqrt(double(q4.getDimSize(3))));
  return finishAttention(nc, qv, kv, vv, mask, scale, nc.intAttr("unidirectional", 0) != 0, past,
                         0.0f, true);
}

/// com.microsoft.GroupQueryAttention as ONNX Runtime GenAI's builder writes
/// it: 3-D query/key/value or QKV packed into the query, past_key/past_value
/// [B, Hkv, P, D] whose whole length is used, causal, optionally with the
/// rotary embedding inside (do_rotary: cos_cache/sin_cache, interleaved or
/// not, partial). seqlens_k and total_sequence_length must be compile-time
/// values describing unpadded sequences (LLM mode binds the attention mask
/// they derive from; elsewhere bind them with --bind-value). Positions for
/// the rotary embedding: the position_ids input (9), else LLM mode's step
/// positions, else past + i as ONNX Runtime derives them from seqlens_k.
LogicalResult groupQueryAttention(NodeContext &nc) {
  if (failed(nc.expectInputs(7, 17)) || failed(nc.expectFloat(0)))
    return failure();
  int64_t hq = nc.intAttr("num_heads", 0), hkv = nc.intAttr("kv_num_heads", 0);
  if (hq <= 0 || hkv <= 0)
    return nc.error() << "num_heads and kv_num_heads must be positive";
  if (nc.intAttr("smooth_softmax", 0) != 0 || nc.hasInput(11))
    return nc.error() << "smooth_softmax and head_sink (input 11) are not supported";
  if (nc.hasInput(12) || nc.hasInput(13) || nc.intAttr("kv_cache_bit_width", 0) != 0)
    return nc.error() << "quantized KV caches (k_scale/v_scale, kv_cache_bit_width) are not supported";
  if (nc.hasInput(14) || nc.hasInput(15) || nc.hasInput(16))
    return nc.error() << "q_norm_weight/k_norm_weight and query_seqlens (inputs 14-16) are not "
                         "supported";
  if (nc.intAttr("qk_output", 0) != 0)
    return nc.error() << "qk_output is not supported: the NPU never materializes the scores";
  if (nc.intAttr("causal", 1) == 0)
    return nc.error() << "causal = 0 is not supported (decoders' attention is causal)";
  if (nc.hasInput(1) != nc.hasInput(2))
    return nc.error() << "key and value must be given together (or both packed into query)";
  bool doRotary = nc.intAttr("do_rotary", 0) != 0;
  if (doRotary && (!nc.hasInput(7) || !nc.hasInput(8)))
    return nc.error() << "do_rotary = 1 needs cos_cache and sin_cache (inputs 7 and 8)";
  auto q = nc.input(0);
  auto pk = optionalInput(nc, 3), pv = optionalInput(nc, 4);
  if (failed(q) || failed(pk) || failed(pv))
    return failure();
  auto qt = nc.inputType(0);
  if (qt.getRank() != 3)
    return nc.error() << "query must be 3-D [B, S, Hq*D] (or packed [B, S, (Hq + 2 Hkv) * D])";
  int64_t b = qt.getDimSize(0), sq = qt.getDimSize(1);
  Type et = qt.getElementType();
  Value q3 = *q, k3, v3;
  int64_t d;
  if (nc.hasInput(1)) {
    auto k = nc.input(1), v = nc.input(2);
    if (failed(k) || failed(v))
      return failure();
    k3 = *k, v3 = *v;
    d = qt.getDimSize(2) / hq;
    if (qt.getDimSize(2) % hq || nc.inputType(1).getDimSize(2) != hkv * d ||
        nc.inputType(2).getDimSize(2) != hkv * d)
      return nc.error() << "query, key and value widths " << qt.getDimSize(2) << ", "
                        << nc.inputType(1).getDimSize(2) << ", " << nc.inputType(2).getDimSize(2)
                        << " do not fit " << hq << " and " << hkv << " heads of one size";
  } else {
    // Packed: [Q (Hq*D) | K (Hkv*D) | V (Hkv*D)] along the last dim.
    int64_t w = qt.getDimSize(2);
    if (w % (hq + 2 * hkv))
      return nc.error() << "packed QKV width " << w << " is not a multiple of num_heads + 2 * "
                        << "kv_num_heads = " << hq + 2 * hkv;
    d = w / (hq + 2 * hkv);
    auto part = [&](int64_t offset, int64_t width) -> Value {
      return graph::ViewOp::create(nc.b, nc.loc, RankedTensorType::get({b, sq, width}, et), *q,
                                   nc.b.getI64IntegerAttr(offset),
                                   nc.b.getDenseI64ArrayAttr({sq * w, w, 1}));
    };
    q3 = part(0, hq * d);
    k3 = part(hq * d, hkv * d);
    v3 = part((hq + hkv) * d, hkv * d);
  }
  Value qv = splitHeads(nc, q3, hq), kNew = splitHeads(nc, k3, hkv);
  int64_t past = *pk ? cast<RankedTensorType>(pk->getType()).getDimSize(2) : 0;
  int64_t total = past + sq;
  auto lens = nc.constantInts(5, "seqlens_k");
  auto tot = nc.constantInts(6, "total_sequence_length");
  if (failed(lens) || failed(tot))
    return failure();
  if (tot->size() != 1 || (*tot)[0] != total)
    return nc.error() << "total_sequence_length must be " << total << " (past " << past << " + "
                      << sq << "); padded or shared-buffer caches are not supported";
  for (int64_t l : *lens)
    if (l != total - 1)
      return nc.error() << "seqlens_k must be " << total - 1 << " for every sequence (no padding)";
  if (int64_t(lens->size()) != b)
    return nc.error() << "seqlens_k must have " << b << " entries";
  if (doRotary) {
    // ONNX Runtime rotates the new keys before they join the cache. The
    // positions: position_ids (input 9), LLM mode's step positions, or past + i.
    Value positions = nc.stepPositions;
    SmallVector<int64_t> constPositions;
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < sq; ++j)
        constPositions.push_back(past + j);
    if (nc.hasInput(9)) {
      auto pt = nc.inputType(9);
      if (pt.getShape() != ArrayRef<int64_t>({b, sq}) || !pt.getElementType().isInteger(64))
        return nc.error() << "position_ids must be int64 [" << b << ", " << sq << "], got " << pt;
      if (nc.symbol(9).isConstant()) {
        auto p = nc.constantInts(9, "position_ids");
        if (failed(p))
          return failure();
        constPositions.assign(p->begin(), p->end());
        positions = Value();
      } else {
        auto p = nc.input(9);
        if (failed(p))
          return failure();
        positions = *p;
      }
    }
    auto tables = rotaryTables(nc, b, sq, d, et, 7, 8, positions, constPositions,
                               /*headsFirst=*/true);
    if (failed(tables))
      return failure();
    bool interleaved = nc.intAttr("rotary_interleaved", 0) != 0;
    qv = applyRotary(nc, qv, *tables, interleaved);
    kNew = applyRotary(nc, kNew, *tables, interleaved);
  }
  Value kv = appendPast(nc, *pk, kNew);
  Value vv = appendPast(nc, *pv, splitHeads(nc, v3, hkv));
  auto mask = nc.optionalInput(10); // attention_bias
  if (failed(mask))
    return failure();
  // A sliding window (keys i + past - j < window) stays an attribute: the
  // kernels skip the tiles outside it and mask the rest in place.
  int64_t window = nc.intAttr("local_window_size", -1);
  if (window == 0 || window < -1)
    return nc.error() << "local_window_size must be -1 (none) or positive, got " << window;
  float scale = nc.floatAttr("scale", 0.0f);
  if (scale == 0.0f)
    scale = float(1.0 / std::sqrt(double(d)));
  return finishAttention(nc, qv, kv, vv, *mask, scale, true, past, nc.floatAttr("softcap", 0.0f),
                         true, std::max<int64_t>(window, 0));
}

} // namespace

const OpHandler kAttentionHandlers[] = {
    {"", "Attention", attention},
    {"com.microsoft", "MultiHeadAttention", multiHeadAttention},
    {"com.microsoft", "GroupQueryAttention", groupQueryAttention},
};
const size_t kNumAttentionHandlers = std::size(kAttentionHandlers);

} // namespace rbln::onnx_import
