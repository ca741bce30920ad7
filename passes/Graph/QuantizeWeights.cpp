//===- QuantizeWeights.cpp - Narrow weights for matmuls (w8a16, w4a16, fp8) ===//
//
// `rbln-compile --weight-dtype=int8` (optimum-rbln's w8a16): every matmul
// whose weights (rhs) are a float 2-D constant reads them as int8 with a
// scale per output column instead, symmetric: s = max |w| over the column
// / 127, q = round_half_even(w / s) in [-127, 127]. `--weight-dtype=fp8`:
// the same with E4M3FN weights, s = max |w| / 448 (E4M3's largest value),
// q = w / s rounded to E4M3 (nearest even). `--weight-dtype=int4`
// (w4a16): a scale per block of `group-size` rows of a column, s = max |w|
// over the block / 7, q in [-7, 7] packed two per byte (ONNX's INT4
// layout); the matmul scales each weight tile — or, for a tile of few
// rows, each k-step's product — by its block's scales (a scale per block
// does not factor out of the whole sum). A matrix whose
// rows have an odd length cannot be packed at even addresses: it gets int8
// per column instead. The rhs becomes
// `graph.dequantize(q, s)`; convert-graph-to-npu hands q and s to the
// matmul kernel, which keeps q int8 in DRAM and scales the product's
// columns in its epilogue (a column's scale factors out of the sum over k).
// A constant read by several matmuls (or functions: prefill and decode) is
// quantized once; one read through a transpose (a tied LM head) is read by
// the matmul transposed instead.
//
//===----------------------------------------------------------------------===//
#include "passes/Graph/Passes.h"

#include "llvm/ADT/SetVector.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "rbln/Support/Elements.h"
#include "rbln/runtime/DType.h"

#include <cmath>
#include <map>

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHQUANTIZEWEIGHTS
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

struct Quantized {
  ElementsAttr q, scale;
};

struct GraphQuantizeWeights : rbln::graph::impl::GraphQuantizeWeightsBase<GraphQuantizeWeights> {
  using GraphQuantizeWeightsBase::GraphQuantizeWeightsBase;

  LogicalResult initialize(MLIRContext *ctx) override {
    if (dtype != "int8" && dtype != "fp8" && dtype != "int4")
      return emitError(UnknownLoc::get(ctx))
             << "graph-quantize-weights: dtype must be int8, int4 or fp8, not '" << dtype << "'";
    if (dtype == "int4" && (groupSize < 32 || groupSize > 1024 || (groupSize & (groupSize - 1))))
      return emitError(UnknownLoc::get(ctx))
             << "graph-quantize-weights: group-size must be a power of two from 32 to 1024, not " << groupSize;
    return success();
  }
  // (data or attribute, size, element type, columns along dim 0) -> its
  // quantized form
  std::map<std::tuple<const void *, size_t, const void *, bool>, Quantized> done;

  void runOnOperation() override {
    SmallVector<MatmulOp> todo;
    getOperation().walk([&](MatmulOp m) { todo.push_back(m); });
    // One graph.dequantize per constant (and orientation) in a function.
    DenseMap<std::pair<Operation *, unsigned>, Value> made;
    llvm::SetVector<Operation *> transposes;
    for (MatmulOp m : todo) {
      Value rhs = m.getRhs();
      // A transposed constant (a tied LM head reading the [vocab, hidden]
      // embedding table): the matmul reads the constant with transpose_rhs.
      if (auto tr = rhs.getDefiningOp<TransposeOp>();
          tr && !m.getTransposeRhs() && tr.getPerm() == ArrayRef<int64_t>{1, 0} &&
          tr.getInput().getDefiningOp<ConstantOp>()) {
        rhs = tr.getInput();
        transposes.insert(tr);
      }
      auto c = rhs.getDefiningOp<ConstantOp>();
      auto t = cast<RankedTensorType>(rhs.getType());
      if (!c || t.getRank() != 2 || !isa<FloatType>(t.getElementType()) ||
          !rbln::elementDType(t.getElementType()) || m.getLhs() == m.getRhs())
        continue;
      if (rhs != m.getRhs())
        m.setTransposeRhs(true);
      bool colsFirst = m.getTransposeRhs(); // [N, K]
      if (Value w = made.lookup({c, unsigned(colsFirst)})) {
        m.getRhsMutable().assign(w);
        continue;
      }
      auto qz = quantize(cast<ElementsAttr>(c.getValue()), t, colsFirst);
      if (!qz)
        continue; // no data (an elided resource): left as is
      OpBuilder b(m);
      Location loc = c.getLoc();
      Value q = ConstantOp::create(b, loc, qz->q);
      Value s = ConstantOp::create(b, loc, qz->scale);
      auto st = cast<RankedTensorType>(qz->scale.getType());
      if (!t.getElementType().isF32())
        s = CastOp::create(b, loc, RankedTensorType::get(st.getShape(), t.getElementType()), s);
      Value w = DequantizeOp::create(b, m.getLoc(), t, q, s, b.getI64IntegerAttr(colsFirst ? 0 : 1),
                                     b.getI64IntegerAttr(st.getRank() == 2 ? int64_t(groupSize) : 0));
      m.getRhsMutable().assign(w);
      made[{c, unsigned(colsFirst)}] = w;
    }
    for (Operation *tr : transposes)
      if (tr->use_empty())
        tr->erase();
    for (auto &[key, w] : made)
      if (key.first->use_empty())
        key.first->erase();
  }

  std::optional<Quantized> quantize(ElementsAttr attr, RankedTensorType t, bool colsFirst) {
    std::vector<char> owned;
    std::optional<ArrayRef<char>> data = rbln::getElementData(attr);
    if (!data) {
      if (!rbln::getElementBytes(attr, owned))
        return std::nullopt;
      data = ArrayRef<char>(owned);
    }
    // A resource by its bytes in place (functions share one blob); inline
    // data by its uniqued attribute.
    const void *id = owned.empty() ? static_cast<const void *>(data->data()) : attr.getAsOpaquePointer();
    auto key = std::make_tuple(id, data->size(), t.getElementType().getAsOpaquePointer(), colsFirst);
    if (auto it = done.find(key); it != done.end())
      return it->second;
    rbln::DType dt = *rbln::elementDType(t.getElementType());
    int64_t rows = t.getDimSize(0), cols = t.getDimSize(1);
    int64_t n = colsFirst ? rows : cols;
    size_t es = rbln::dtypeSize(dt);
    // A row at a time in f32 (the runtime's bulk conversion, F16C for f16).
    std::vector<float> row(static_cast<size_t>(cols));
    auto load = [&](int64_t r) {
      rbln::convertElements(reinterpret_cast<const uint8_t *>(data->data()) + size_t(r * cols) * es, dt,
                            reinterpret_cast<uint8_t *>(row.data()), rbln::DType::F32, row.size());
    };
    // int4 packs two elements a byte: rows of an odd length would put a
    // row's first element at an odd nibble (int8 per column instead).
    bool int4 = dtype == "int4" && cols % 2 == 0;
    bool fp8 = dtype == "fp8";
    int64_t k = colsFirst ? cols : rows, group = int4 ? int64_t(groupSize) : k;
    int64_t groups = (k + group - 1) / group;
    // scale[g * n + col]: block g of column col (one block: per column).
    auto scaleAt = [&](int64_t r, int64_t c) -> size_t {
      int64_t col = colsFirst ? r : c, kk = colsFirst ? c : r;
      return size_t((kk / group) * n + col);
    };
    std::vector<float> scale(size_t(groups * n), 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      load(r);
      for (int64_t c = 0; c < cols; ++c) {
        float &s = scale[scaleAt(r, c)];
        s = std::max(s, std::fabs(row[size_t(c)]));
      }
    }
    // E4M3FN's largest finite value; int8's and int4's symmetric ranges
    const float qmax = fp8 ? 448.0f : int4 ? 7.0f : 127.0f;
    for (float &s : scale) { // an all-zero (or tiny, or non-finite) block: 1
      float q = s / qmax;
      s = q > 0 && std::isfinite(q) ? q : 1.0f;
    }
    std::vector<char> q(size_t(int4 ? rows * cols / 2 : rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
      load(r);
      for (int64_t c = 0; c < cols; ++c) {
        float v = row[size_t(c)] / scale[scaleAt(r, c)];
        if (std::isnan(v))
          v = 0.0f;
        size_t i = size_t(r * cols + c);
        if (fp8) { // round to nearest even E4M3, saturating
          q[i] = char(rbln::floatToF8(v, rbln::DType::F8E4M3FN));
        } else if (int4) { // two a byte, the lower index in the low nibble
          int v4 = int(std::clamp(std::nearbyint(v), -7.0f, 7.0f));
          rbln::int4Put(reinterpret_cast<uint8_t *>(q.data()), i, v4);
        } else {
          v = std::nearbyint(v); // ties to even
          q[i] = char(int8_t(std::clamp(v, -127.0f, 127.0f)));
        }
      }
    }
    std::string suffix = fp8 ? "_fp8" : int4 ? "_int4" : "_int8";
    std::string name = "weight" + suffix;
    if (auto res = dyn_cast<DenseResourceElementsAttr>(attr))
      name = res.getRawHandle().getKey().str() + suffix;
    MLIRContext *ctx = t.getContext();
    Type qt = fp8 ? Type(Float8E4M3FNType::get(ctx)) : Type(IntegerType::get(ctx, int4 ? 4 : 8));
    Quantized out;
    out.q = rbln::makeResourceElements(RankedTensorType::get(t.getShape(), qt), name, q);
    auto scaleType = int4 ? RankedTensorType::get({groups, n}, Float32Type::get(ctx))
                          : RankedTensorType::get({n}, Float32Type::get(ctx));
    out.scale = DenseElementsAttr::get(scaleType, ArrayRef<float>(scale));
    done[key] = out;
    return out;
  }
};

} // namespace
