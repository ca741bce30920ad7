//===- NormHandlers.cpp - Reductions and normalizations ---------------------===//
#include "ImporterImpl.h"

#include "rbln/runtime/Checked.h"

#include "dialects/Graph/GraphDialect.h"
#include "rbln/Support/Elements.h"
#include "rbln/runtime/DType.h"

#include <algorithm>
#include <cstring>
#include <limits>

using namespace mlir;
using rbln::DType;

namespace rbln::onnx_import {

namespace {

/// ReduceSum/Mean/Max: axes from the input (ReduceSum >= 13, the others
/// >= 18) or the attribute; empty axes reduce everything unless
/// noop_with_empty_axes.
template <graph::ReduceKind Kind> LogicalResult reduce(NodeContext &nc) {
  if (failed(nc.expectInputs(1, 2)) || failed(nc.expectFloat(0)))
    return failure();
  auto t = nc.inputType(0);
  int64_t rank = t.getRank();
  std::vector<int64_t> axes;
  if (nc.hasInput(1) && Kind != graph::ReduceKind::Sum && nc.opset < 18)
    return nc.error() << "axes as an input needs opset 18 (opset " << nc.opset
                      << " takes the 'axes' attribute)";
  if (nc.hasAttr("axes") && (Kind == graph::ReduceKind::Sum || nc.opset >= 18))
    return nc.error() << "'axes' is an input, not an attribute, at opset " << nc.opset;
  if (nc.hasInput(1)) {
    auto v = nc.constantInts(1, "axes");
    if (failed(v))
      return failure();
    axes = *v;
  } else {
    axes = nc.intsAttr("axes");
  }
  auto in = nc.input(0);
  if (failed(in))
    return failure();
  if (axes.empty()) {
    if (nc.intAttr("noop_with_empty_axes", 0)) {
      nc.setOutput(0, *in);
      return success();
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  for (int64_t &a : axes) {
    if (a < -rank || a >= rank)
      return nc.error() << "axis " << a << " is out of range for rank " << rank;
    if (a < 0)
      a += rank;
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  bool keep = nc.intAttr("keepdims", 1) != 0;
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(t.getDimSize(d));
    else if (keep)
      shape.push_back(1);
  }
  auto op = graph::ReduceOp::create(nc.b, nc.loc, RankedTensorType::get(shape, t.getElementType()),
                                    *in, graph::ReduceKindAttr::get(nc.b.getContext(), Kind),
                                    nc.b.getDenseI64ArrayAttr(axes), nc.b.getBoolAttr(keep));
  nc.setOutput(0, op);
  return success();
}

/// LayerNormalization, RMSNormalization and com.microsoft's
/// SimplifiedLayerNormalization: normalize over dims axis..rank-1.
/// The optional statistics outputs of a normalization over dims axis.. (shape:
/// x with those dims kept as 1), computed alongside from reductions: the mean
/// (layer only) as output `meanOut`, 1/sqrt(var + eps) (layer) or
/// 1/sqrt(mean(x^2) + eps) (RMS) as output `invStdOut`.
void normStatistics(NodeContext &nc, Value x, int64_t axis, float eps, bool layer, int meanOut,
                    int invStdOut) {
  auto want = [&](int i) { return nc.node.output_size() > i && !nc.node.output(i).empty(); };
  bool wantMean = layer && want(meanOut), wantInvStd = want(invStdOut);
  if (!wantMean && !wantInvStd)
    return;
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> axes, kept(t.getShape());
  for (int64_t d = axis; d < t.getRank(); ++d) {
    axes.push_back(d);
    kept[size_t(d)] = 1;
  }
  auto statType = RankedTensorType::get(kept, t.getElementType());
  auto mean = [&](Value v) {
    return graph::ReduceOp::create(
        nc.b, nc.loc, statType, v,
        graph::ReduceKindAttr::get(nc.b.getContext(), graph::ReduceKind::Mean),
        nc.b.getDenseI64ArrayAttr(axes), nc.b.getBoolAttr(true));
  };
  Value centered = x;
  if (layer) {
    Value mu = mean(x);
    if (wantMean)
      nc.setOutput(meanOut, mu);
    centered = graph::SubOp::create(nc.b, nc.loc, t, x, mu);
  }
  if (wantInvStd) {
    Value sq = graph::MulOp::create(nc.b, nc.loc, t, centered, centered);
    auto scalar = RankedTensorType::get({}, t.getElementType());
    Value epsC = graph::ConstantOp::create(
        nc.b, nc.loc, DenseElementsAttr::get(scalar, nc.b.getFloatAttr(t.getElementType(), eps)));
    Value var = graph::AddOp::create(nc.b, nc.loc, statType, mean(sq), epsC);
    Value sd = graph::SqrtOp::create(nc.b, nc.loc, statType, var);
    nc.setOutput(invStdOut, graph::ReciprocalOp::create(nc.b, nc.loc, statType, sd));
  }
}

template <graph::NormKind Kind> LogicalResult norm(NodeContext &nc) {
  bool layer = Kind == graph::NormKind::Layer;
  if (failed(nc.expectInputs(2, layer ? 3 : 2)) || failed(nc.expectFloat(0)) ||
      failed(nc.expectFloat(1)))
    return failure();
  for (int i = 1; i < nc.node.output_size(); ++i)
    if (!nc.node.output(i).empty() && !layer)
      return nc.error() << "output " << i << " ('" << nc.node.output(i)
                        << "', the saved statistics) is not supported; only Y";
  auto t = nc.inputType(0);
  int64_t rank = t.getRank();
  auto axisOr = nc.axisAttr("axis", -1, rank);
  if (failed(axisOr))
    return failure();
  int64_t axis = *axisOr;
  int64_t len = 1;
  for (int64_t d = axis; d < rank; ++d)
    len *= t.getDimSize(d);
  for (int i = 1; i < 3; ++i)
    if (nc.hasInput(i) && nc.inputType(i).getNumElements() != len)
      return nc.error() << (i == 1 ? "scale" : "bias") << " has " << nc.inputType(i).getNumElements()
                        << " elements; this version needs all " << len
                        << " of the normalized dims (no broadcasting)";
  auto x = nc.input(0), scale = nc.input(1);
  if (failed(x) || failed(scale))
    return failure();
  auto bv = nc.optionalInput(2);
  if (failed(bv))
    return failure();
  Value bias = *bv;
  for (Value v : {*scale, bias})
    if (v && cast<RankedTensorType>(v.getType()).getElementType() != t.getElementType())
      return nc.error() << "scale and bias must have the input's element type";
  float eps = nc.floatAttr("epsilon", 1e-5f);
  auto op = graph::NormOp::create(nc.b, nc.loc, t, *x, *scale, bias, Value(),
                                  graph::NormKindAttr::get(nc.b.getContext(), Kind),
                                  nc.b.getI64IntegerAttr(axis), nc.b.getF32FloatAttr(eps));
  nc.setOutput(0, op);
  // LayerNormalization's optional Mean and InvStdDev outputs.
  normStatistics(nc, *x, axis, eps, layer, 1, 2);
  return success();
}

/// com.microsoft Skip(Simplified)LayerNormalization: s = input + skip (+
/// bias), then a layer (RMS) normalization of s over the last dim; the
/// optional output 3 is s.
template <graph::NormKind Kind> LogicalResult skipNorm(NodeContext &nc) {
  bool layer = Kind == graph::NormKind::Layer;
  int biasIn = layer ? 4 : 3;
  if (failed(nc.expectInputs(3, biasIn + 1)) || failed(nc.expectFloat(0)) ||
      failed(nc.expectFloat(1)))
    return failure();
  if (!layer && nc.node.output_size() > 1 && !nc.node.output(1).empty())
    return nc.error() << "output 1 ('" << nc.node.output(1)
                      << "', the mean) is not defined for the simplified (RMS) normalization";
  auto t = nc.inputType(0);
  int64_t d = t.getShape().back();
  auto in = nc.input(0), skip = nc.input(1), gamma = nc.input(2);
  if (failed(in) || failed(skip) || failed(gamma))
    return failure();
  auto sum = broadcastBinary<graph::AddOp>(nc, *in, *skip);
  if (failed(sum))
    return failure();
  Value s = *sum;
  if (nc.hasInput(biasIn)) {
    auto bias = nc.input(biasIn);
    if (failed(bias))
      return failure();
    auto withBias = broadcastBinary<graph::AddOp>(nc, s, *bias);
    if (failed(withBias))
      return failure();
    s = *withBias;
  }
  if (cast<RankedTensorType>(s.getType()) != t)
    return nc.error() << "skip and bias must broadcast to the input " << t;
  Value beta;
  if (layer && nc.hasInput(3)) {
    auto b = nc.input(3);
    if (failed(b))
      return failure();
    beta = *b;
  }
  for (Value v : {*gamma, beta})
    if (v && cast<RankedTensorType>(v.getType()).getNumElements() != d)
      return nc.error() << "gamma and beta must have the " << d << " elements of the last dim";
  auto flat = [&](Value v) {
    return v ? reshape(nc, v, {d}) : v;
  };
  float eps = nc.floatAttr("epsilon", 1e-12f);
  nc.setOutput(0, graph::NormOp::create(nc.b, nc.loc, t, s, flat(*gamma), flat(beta), Value(),
                                        graph::NormKindAttr::get(nc.b.getContext(), Kind),
                                        nc.b.getI64IntegerAttr(t.getRank() - 1),
                                        nc.b.getF32FloatAttr(eps)));
  if (nc.node.output_size() > 3 && !nc.node.output(3).empty())
    nc.setOutput(3, s);
  normStatistics(nc, s, t.getRank() - 1, eps, layer, 1, 2);
  return success();
}

} // namespace

const OpHandler kNormHandlers[] = {
    {"", "ReduceSum", reduce<graph::ReduceKind::Sum>},
    {"", "ReduceMean", reduce<graph::ReduceKind::Mean>},
    {"", "ReduceMax", reduce<graph::ReduceKind::Max>},
    {"", "LayerNormalization", norm<graph::NormKind::Layer>},
    {"", "RMSNormalization", norm<graph::NormKind::Rms>},
    {"com.microsoft", "SimplifiedLayerNormalization", norm<graph::NormKind::Rms>},
    // ONNX Runtime registers SimplifiedLayerNormalization in the default
    // domain too, and its GenAI model builder writes it there.
    {"", "SimplifiedLayerNormalization", norm<graph::NormKind::Rms>},
    {"com.microsoft", "SkipSimplifiedLayerNormalization", skipNorm<graph::NormKind::Rms>},
    {"com.microsoft", "SkipLayerNormalization", skipNorm<graph::NormKind::Layer>},
};
const size_t kNumNormHandlers = std::size(kNormHandlers);

} // namespace rbln::onnx_import
