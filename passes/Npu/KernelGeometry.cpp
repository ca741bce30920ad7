//===- KernelGeometry.cpp - Shapes, tiles and SPM layouts of kernels ------===//
#include "passes/Npu/KernelGeometry.h"

#include "llvm/ADT/bit.h"

#include "dialects/NpuIsa/NpuIsaDialect.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace rbln::npu {

constexpr int64_t kMaxField = 65535; // 16-bit sizes in mm and vector commands

namespace {
/// Bump allocation of scratchpad buffers at kSpmAlign.
struct SpmBump {
  int64_t off = 0;
  int64_t take(int64_t bytes) {
    int64_t at = off;
    off = alignTo(off + bytes, kSpmAlign);
    return at;
  }
};

/// Rows per tile for a row kernel: enough tiles for every NE -- up to
/// kRowTilesPerNe each while a tile keeps kMinRowTileElems elements, so one
/// tile's load and store overlap another's vector work (double buffering) --
/// halved until the layout fits the scratchpad.
constexpr int64_t kRowTilesPerNe = 4, kMinRowTileElems = 4096;
FailureOr<int64_t> chooseRowCount(int64_t rows, int64_t len, const TargetDesc &t,
                                  function_ref<int64_t(int64_t)> bytesFor) {
  if (len > kMaxField || rows == 0)
    return failure();
  int64_t perNe = ceilDiv(rows, int64_t(t.num_ne()));
  int64_t pipelined = std::max(ceilDiv(rows, int64_t(t.num_ne()) * kRowTilesPerNe),
                               ceilDiv(kMinRowTileElems, std::max<int64_t>(len, 1)));
  int64_t r = std::min({rows, kMaxField, perNe, pipelined});
  while (r > 0 && uint64_t(bytesFor(r)) > t.spm_bytes())
    r /= 2;
  if (r == 0)
    return failure();
  return r;
}
} // namespace

DType dtypeOf(Type t) {
  auto d = npuisa::toDType(t);
  return d ? *d : DType::F32;
}

SmallVector<int64_t> contiguousStrides(ArrayRef<int64_t> shape) {
  return contiguousStridesOf(shape);
}

SmallVector<int64_t> layoutStrides(MemRefType t) {
  if (t.getLayout().isIdentity())
    return contiguousStrides(t.getShape());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(t.getStridesAndOffset(strides, offset)))
    return contiguousStrides(t.getShape());
  return strides;
}

int64_t layoutOffset(MemRefType t) {
  if (t.getLayout().isIdentity())
    return 0;
  SmallVector<int64_t> strides;
  int64_t offset = 0;
  if (failed(t.getStridesAndOffset(strides, offset)))
    return 0;
  return offset;
}

static SmallVector<int64_t> viewStrides(ArrayRef<int64_t> inShape, ArrayRef<int64_t> inStrides,
                                        ArrayRef<int64_t> outShape) {
  SmallVector<int64_t> s(outShape.size(), 0);
  size_t off = outShape.size() - inShape.size();
  for (size_t i = 0; i < inShape.size(); ++i)
    s[off + i] = (inShape[i] == 1 && outShape[off + i] != 1) ? 0 : inStrides[i];
  return s;
}

SmallVector<int64_t> broadcastStrides(ArrayRef<int64_t> inShape, ArrayRef<int64_t> outShape) {
  return viewStrides(inShape, contiguousStrides(inShape), outShape);
}

// --- matmul -----------------------------------------------------------------

int64_t MatmulGeometry::batch() const {
  int64_t b = 1;
  for (int64_t d : batchShape)
    b *= d;
  return b;
}

MatmulGeometry MatmulGeometry::get(MatmulOp op) {
  MatmulGeometry g;
  auto l = cast<MemRefType>(op.getLhs().getType());
  auto r = cast<MemRefType>(op.getRhs().getType());
  auto o = cast<MemRefType>(op.getOut().getType());
  g.ta = op.getTransposeLhs();
  g.tb = op.getTransposeRhs();
  int64_t lr = l.getRank(), rr = r.getRank();
  g.m = l.getDimSize(lr - (g.ta ? 1 : 2));
  g.k = l.getDimSize(lr - (g.ta ? 2 : 1));
  g.n = r.getDimSize(rr - (g.tb ? 2 : 1));
  ArrayRef<int64_t> os = o.getShape();
  g.batchShape.assign(os.begin(), os.end() - 2);
  auto batchOf = [&](MemRefType t) {
    SmallVector<int64_t> strides = contiguousStrides(t.getShape());
    ArrayRef<int64_t> shape = t.getShape().drop_back(2);
    return viewStrides(shape, ArrayRef<int64_t>(strides).drop_back(2), g.batchShape);
  };
  g.lhsBatchStrides = batchOf(l);
  g.rhsBatchStrides = batchOf(r);
  g.lhs = dtypeOf(l.getElementType());
  g.rhs = dtypeOf(r.getElementType());
  g.out = dtypeOf(o.getElementType());
  g.lhsShm = isShm(l), g.rhsShm = isShm(r), g.outShm = isShm(o);
  if (Value res = op.getResidual()) {
    auto rt = cast<MemRefType>(res.getType());
    g.hasResidual = true;
    g.residual = dtypeOf(rt.getElementType());
    g.residualShm = isShm(rt);
  }
  g.compute = dtypeOf(op.getComputeType());
  if (Value bias = op.getBias()) {
    auto bt = cast<MemRefType>(bias.getType());
    g.bias = dtypeOf(bt.getElementType());
    SmallVector<int64_t> s = broadcastStrides(bt.getShape(), os);
    g.biasStrideM = s[s.size() - 2];
    g.biasStrideN = s[s.size() - 1];
    g.biasBatchStrides.assign(s.begin(), s.end() - 2);
    g.biasMode = g.biasStrideM == 0 ? BiasMode::Row
                 : g.biasStrideN == 0 ? BiasMode::Col
                                      : BiasMode::Full;
  }
  // Shared weights ([K, N] for every batch element, e.g. a decode batch's
  // [B, 1, K] activations): fold the batch into M so the weights are read
  // once, not once per batch element. Needs rows that continue across the
  // batch in lhs, out and bias alike.
  auto continues = [&](ArrayRef<int64_t> batchStrides, int64_t rowStride) {
    int64_t expect = rowStride * g.m;
    for (int64_t d = int64_t(g.batchShape.size()) - 1; d >= 0; --d) {
      if (batchStrides[size_t(d)] != expect)
        return false;
      expect *= g.batchShape[size_t(d)];
    }
    return true;
  };
  bool rhsShared = llvm::all_of(g.rhsBatchStrides, [](int64_t s) { return s == 0; });
  if (!g.batchShape.empty() && rhsShared && !g.ta && l.getLayout().isIdentity() &&
      continues(g.lhsBatchStrides, g.k) && (!op.getBias() || continues(g.biasBatchStrides, g.biasStrideM))) {
    for (int64_t b : g.batchShape)
      g.m *= b;
    g.batchShape.clear();
    g.lhsBatchStrides.clear();
    g.rhsBatchStrides.clear();
    g.biasBatchStrides.clear();
  }
  return g;
}

MatmulLayout layoutMatmul(const MatmulGeometry &g, int64_t tm, int64_t tn, int64_t tk) {
  MatmulLayout l;
  l.tm = tm, l.tn = tn, l.tk = tk;
  int64_t es = dtypeSize(g.compute);
  SpmBump spm;
  auto take = [&](int64_t bytes) { return spm.take(bytes); };
  for (int i = 0; i < 2; ++i) l.a[i] = take(tm * tk * es);
  for (int i = 0; i < 2; ++i) l.b[i] = take(tk * tn * es);
  for (int i = 0; i < 2; ++i) l.acc[i] = take(tm * tn * 4);
  int64_t biasBytes = g.biasMode == BiasMode::None ? 0
                      : g.biasMode == BiasMode::Row ? tn * 4
                      : g.biasMode == BiasMode::Col ? tm * 4
                                                    : tm * tn * 4;
  for (int i = 0; i < 2; ++i) l.bias[i] = biasBytes ? take(biasBytes) : 0;
  l.bytes = spm.off;
  return l;
}

double estimateMatmul(const MatmulGeometry &g, const MatmulLayout &l, const TargetDesc &t) {
  const auto &te = t.tensor();
  int64_t tm = std::min(l.tm, g.m), tn = std::min(l.tn, g.n), tk = std::min(l.tk, g.k);
  int64_t tilesM = ceilDiv(g.m, l.tm), tilesN = ceilDiv(g.n, l.tn), tilesK = ceilDiv(g.k, l.tk);
  int64_t tiles = g.batch() * tilesM * tilesN;
  int64_t perNe = ceilDiv(tiles, t.num_ne());
  double macs = macsPerCycle(t, uint32_t(g.compute));
  double mm = double(alignTo(tm, te.array_rows()) * alignTo(tn, te.array_cols()) * tk) / macs +
              te.pipeline_fill_cycles();
  double epi = double(ceilDiv(tm * tn, t.vector().lanes())) * 2 + t.vector().latency_cycles();
  double compute = double(perNe) * (double(tilesK) * mm + epi);
  // Operands are read in their stored types (model inputs may be f32 while
  // the kernel computes in f16); the link moves the wider side. Each
  // operand's traffic goes over the channel of its space (DRAM or SHM).
  double lhsBytes = double(tm * tk) * dtypeSize(g.lhs), rhsBytes = double(tk * tn) * dtypeSize(g.rhs);
  double stepBytes = lhsBytes + rhsBytes;
  double outBytes = double(tiles * tm * tn) * dtypeSize(g.out);
  double resBytes = g.hasResidual ? double(tiles * tm * tn) * dtypeSize(g.residual) : 0;
  double steps = double(tiles * tilesK);
  auto onChannel = [&](bool shm) {
    return (g.lhsShm == shm ? steps * lhsBytes : 0) + (g.rhsShm == shm ? steps * rhsBytes : 0) +
           (g.outShm == shm ? outBytes : 0) + (g.residualShm == shm ? resBytes : 0);
  };
  double dram = onChannel(false) / dramBytesPerCycle(t);
  if (t.shm_gbps() > 0)
    dram = std::max(dram, onChannel(true) / shmBytesPerCycle(t));
  double link = double(perNe * tilesK) *
                (stepBytes / t.neural_dma_bytes_per_cycle() + 2.0 * t.dma_setup_cycles());
  double dispatch = double(tiles * (tilesK * 3 + 3)) * t.cp().dispatch_cycles();
  // Pipeline fill and drain: compute starts once every busy NE has loaded
  // its first operand tiles, and the last tile is stored after it. When the
  // transfers bound the time, the first loads are part of them (the channel
  // is busy from the start); only the last step's product follows them.
  double busyNe = double(std::min<int64_t>(tiles, t.num_ne()));
  auto rate = [&](bool shm) {
    return shm && t.shm_gbps() > 0 ? shmBytesPerCycle(t) : shm ? t.neural_dma_bytes_per_cycle() * busyNe
                                                                : dramBytesPerCycle(t);
  };
  double fill = busyNe * (lhsBytes / rate(g.lhsShm) + rhsBytes / rate(g.rhsShm)) + t.dma_setup_cycles();
  double drain = busyNe * double(tm * tn * dtypeSize(g.out)) / rate(g.outShm) + epi;
  return std::max({compute + fill, dram + mm, link + mm}) + drain + dispatch;
}

FailureOr<MatmulLayout> chooseMatmulTiles(const MatmulGeometry &g, const TargetDesc &t) {
  const auto &te = t.tensor();
  auto sizes = [](int64_t dim, int64_t unit) {
    SmallVector<int64_t> v;
    int64_t cap = std::min(alignTo(dim, unit), kMaxField);
    for (int64_t s = unit; s <= cap; s *= 2)
      v.push_back(s);
    if (dim <= kMaxField && (v.empty() || v.back() != dim))
      v.push_back(dim); // the whole dimension in one tile
    return v;
  };
  SmallVector<int64_t> ms = sizes(g.m, te.array_rows()), ns = sizes(g.n, te.array_cols()),
                       ks = sizes(g.k, 16);
  std::optional<MatmulLayout> best;
  double bestCost = std::numeric_limits<double>::infinity();
  for (int64_t tm : ms)
    for (int64_t tn : ns)
      for (int64_t tk : ks) {
        MatmulLayout l = layoutMatmul(g, std::min(tm, g.m), std::min(tn, g.n), std::min(tk, g.k));
        if (uint64_t(l.bytes) > t.spm_bytes())
          continue;
        double c = estimateMatmul(g, l, t);
        // Prefer the cheaper plan; on a tie, the one with fewer, larger tiles.
        if (c < bestCost * (1 - 1e-9) ||
            (best && std::fabs(c - bestCost) <= bestCost * 1e-9 &&
             l.tm * l.tn * l.tk > best->tm * best->tn * best->tk)) {
          bestCost = c;
          best = l;
        }
      }
  if (!best)
    return failure();
  return *best;
}

// --- elementwise -------------------------------------------------------------

FailureOr<ElementwiseGeometry> ElementwiseGeometry::get(ElementwiseOp op) {
  ElementwiseGeometry g;
  auto out = cast<MemRefType>(op.getOut().getType());
  ArrayRef<int64_t> os = out.getShape();
  g.outType = dtypeOf(out.getElementType());
  g.isCopy = op.getKind() == ElementwiseKind::Copy;
  g.rotary = op.getKind() == ElementwiseKind::Rotary;
  SmallVector<SmallVector<int64_t>> strides; // per operand: inputs..., output
  for (Value v : op.getInputs()) {
    auto t = cast<MemRefType>(v.getType());
    g.inTypes.push_back(dtypeOf(t.getElementType()));
    SmallVector<int64_t> ls = layoutStrides(t);
    if (auto perm = op.getPerm()) {
      SmallVector<int64_t> s;
      for (int64_t p : *perm)
        s.push_back(ls[size_t(p)]);
      strides.push_back(s);
    } else {
      strides.push_back(viewStrides(t.getShape(), ls, os));
    }
  }
  strides.push_back(layoutStrides(out));
  // Drop unit dims, then merge neighbours that every operand walks contiguously.
  SmallVector<int64_t> shape;
  SmallVector<SmallVector<int64_t>> st(strides.size());
  for (size_t d = 0; d < os.size(); ++d) {
    bool innermost = d + 1 == os.size();
    if (os[d] == 1 && !(g.rotary && innermost))
      continue;
    bool merge = !shape.empty() && !(g.rotary && innermost);
    for (size_t o = 0; merge && o < strides.size(); ++o)
      merge = st[o].back() == strides[o][d] * os[d];
    if (merge) {
      shape.back() *= os[d];
      for (size_t o = 0; o < strides.size(); ++o)
        st[o].back() = strides[o][d];
    } else {
      shape.push_back(os[d]);
      for (size_t o = 0; o < strides.size(); ++o)
        st[o].push_back(strides[o][d]);
    }
  }
  if (shape.size() > 4)
    return failure();
  size_t pad = 4 - shape.size();
  for (size_t d = 0; d < shape.size(); ++d)
    g.shape[pad + d] = shape[d];
  for (size_t o = 0; o < strides.size(); ++o) {
    std::array<int64_t, 4> s{0, 0, 0, 0};
    for (size_t d = 0; d < shape.size(); ++d)
      s[pad + d] = st[o][d];
    if (o + 1 < strides.size())
      g.inStrides.push_back(s);
    else
      g.outStrides = s;
  }
  return g;
}

ElementwiseLayout layoutElementwise(const ElementwiseGeometry &g, int64_t rows, int64_t cols) {
  ElementwiseLayout l;
  l.rows = rows, l.cols = cols;
  int64_t tile = alignTo(rows * cols * 4, kSpmAlign), off = 0;
  for (size_t i = 0; i < g.inStrides.size(); ++i) {
    l.in.push_back({off, off + tile});
    off += 2 * tile;
  }
  if (!g.isCopy) {
    l.out[0] = off, l.out[1] = off + tile;
    off += 2 * tile;
  }
  if (g.rotary) {
    l.swapped[0] = off, l.swapped[1] = off + tile;
    off += 2 * tile;
  }
  l.bytes = off;
  return l;
}

FailureOr<ElementwiseLayout> chooseElementwiseTiles(const ElementwiseGeometry &g,
                                                    const TargetDesc &t) {
  int64_t buffers = 2 * int64_t(g.inStrides.size() + (g.isCopy ? 0 : 1) + (g.rotary ? 1 : 0));
  int64_t maxElems = (int64_t(t.spm_bytes()) / buffers - kSpmAlign) / 4;
  if (maxElems < 1 || (g.rotary && maxElems < g.shape[3]))
    return failure();
  int64_t cols = g.rotary ? g.shape[3] : std::min({g.shape[3], maxElems, kMaxField});
  int64_t rows = std::min({g.shape[2], maxElems / cols, kMaxField});
  int64_t outer = g.shape[0] * g.shape[1] * ceilDiv(g.shape[3], cols);
  // With few tiles, cut rows finer so the tile count is a multiple of the NE
  // count and every NE gets an equal share.
  int64_t ne = int64_t(t.num_ne()), blocks = ceilDiv(g.shape[2], rows);
  if (outer * blocks < 8 * ne)
    while (blocks < g.shape[2] && (outer * blocks) % ne != 0)
      ++blocks;
  rows = ceilDiv(g.shape[2], blocks);
  return layoutElementwise(g, rows, cols);
}

// --- softmax -----------------------------------------------------------------

SoftmaxGeometry SoftmaxGeometry::get(SoftmaxOp op) {
  SoftmaxGeometry g;
  auto in = cast<MemRefType>(op.getInput().getType());
  g.len = in.getShape().empty() ? 1 : in.getShape().back();
  g.rows = g.len ? in.getNumElements() / g.len : 0;
  g.in = dtypeOf(in.getElementType());
  g.out = dtypeOf(cast<MemRefType>(op.getOut().getType()).getElementType());
  return g;
}

SoftmaxLayout layoutSoftmax(const SoftmaxGeometry &g, int64_t rows) {
  SoftmaxLayout l;
  l.rows = rows;
  SpmBump spm;
  auto take = [&](int64_t bytes) { return spm.take(bytes); };
  for (int i = 0; i < 2; ++i) l.x[i] = take(rows * g.len * 4);
  for (int i = 0; i < 2; ++i) l.max[i] = take(rows * 4);
  for (int i = 0; i < 2; ++i) l.sum[i] = take(rows * 4);
  l.bytes = spm.off;
  return l;
}

FailureOr<SoftmaxLayout> chooseSoftmaxTiles(const SoftmaxGeometry &g, const TargetDesc &t) {
  auto rows = chooseRowCount(g.rows, g.len, t, [&](int64_t r) { return layoutSoftmax(g, r).bytes; });
  if (failed(rows))
    return failure();
  return layoutSoftmax(g, *rows);
}

// --- row kernels ------------------------------------------------------------

RowsGeometry RowsGeometry::get(RowsOp op) {
  RowsGeometry g;
  auto in = cast<MemRefType>(op.getInput().getType());
  g.rows = in.getDimSize(0);
  g.len = in.getDimSize(1);
  g.kind = op.getKind();
  g.in = dtypeOf(in.getElementType());
  g.out = dtypeOf(cast<MemRefType>(op.getOut().getType()).getElementType());
  if (Value s = op.getScale())
    g.scale = dtypeOf(cast<MemRefType>(s.getType()).getElementType());
  if (Value b = op.getBias()) {
    g.bias = dtypeOf(cast<MemRefType>(b.getType()).getElementType());
    g.hasBias = true;
  }
  if (Value r = op.getResidual()) {
    g.residual = dtypeOf(cast<MemRefType>(r.getType()).getElementType());
    g.hasResidual = true;
  }
  return g;
}

RowsLayout layoutRows(const RowsGeometry &g, int64_t rows) {
  RowsLayout l;
  l.rows = rows;
  SpmBump spm;
  auto take = [&](int64_t bytes) { return spm.take(bytes); };
  for (int i = 0; i < 2; ++i) l.x[i] = take(rows * g.len * 4);
  for (int i = 0; i < 2; ++i) l.stat[i] = take(rows * 4);
  if (g.isNorm()) {
    l.tmp = take(rows * g.len * 4);
    l.var = take(rows * 4);
    l.scale = take(g.len * 4);
    if (g.hasBias)
      l.bias = take(g.len * 4);
    if (g.hasResidual)
      for (int i = 0; i < 2; ++i) l.res[i] = take(rows * g.len * 4);
  }
  l.bytes = spm.off;
  return l;
}

FailureOr<RowsLayout> chooseRowsTiles(const RowsGeometry &g, const TargetDesc &t) {
  auto rows = chooseRowCount(g.rows, g.len, t, [&](int64_t r) { return layoutRows(g, r).bytes; });
  if (failed(rows))
    return failure();
  return layoutRows(g, *rows);
}

// --- flash attention -------------------------------------------------------------

FlashGeometry FlashGeometry::get(FlashAttentionOp op) {
  FlashGeometry g;
  MemRefType q = op.getQ().getType(), k = op.getK().getType(), v = op.getV().getType();
  g.b = q.getDimSize(0), g.hq = q.getDimSize(1), g.sq = q.getDimSize(2), g.d = q.getDimSize(3);
  g.hkv = k.getDimSize(1), g.sk = k.getDimSize(2), g.dv = v.getDimSize(3);
  g.q = dtypeOf(q.getElementType()), g.k = dtypeOf(k.getElementType());
  g.v = dtypeOf(v.getElementType()), g.out = dtypeOf(op.getOut().getType().getElementType());
  g.compute = dtypeOf(op.getComputeType());
  auto strides = [](MemRefType t) {
    SmallVector<int64_t> s = layoutStrides(t);
    return std::array<int64_t, 4>{s[0], s[1], s[2], s[3]};
  };
  g.qs = strides(q), g.ks = strides(k), g.vs = strides(v), g.os = strides(op.getOut().getType());
  if (Value m = op.getMask()) {
    auto mt = cast<MemRefType>(m.getType());
    g.hasMask = true;
    g.mask = dtypeOf(mt.getElementType());
    SmallVector<int64_t> st = broadcastStrides(mt.getShape(), {g.b, g.hq, g.sq, g.sk});
    for (size_t i = 0; i < 4; ++i)
      g.maskStrides[i] = st[i];
  }
  return g;
}

FlashLayout layoutFlash(const FlashGeometry &g, int64_t tq, int64_t tk, bool kvResident,
                        bool kvDouble) {
  FlashLayout l;
  l.tq = tq, l.tk = tk, l.kvResident = kvResident, l.kvDouble = kvResident && kvDouble;
  SpmBump spm;
  int64_t ce = dtypeSize(g.compute);
  for (int i = 0; i < (l.kvDouble ? 2 : kvResident ? 1 : 0); ++i) {
    l.kRes[i] = spm.take(g.sk * g.d * ce);
    l.vRes[i] = spm.take(g.sk * g.dv * ce);
  }
  for (int i = 0; i < 2; ++i) {
    l.q[i] = spm.take(tq * g.d * ce);
    l.k[i] = kvResident ? 0 : spm.take(tk * g.d * ce);
    l.v[i] = kvResident ? 0 : spm.take(tk * g.dv * ce);
    l.mask[i] = g.hasMask ? spm.take(tq * tk * 4) : 0;
    l.o[i] = spm.take(tq * g.dv * 4);
    l.s[i] = spm.take(tq * tk * 4);
  }
  for (int i = 0; i < 2; ++i)
    l.p[i] = g.compute == DType::F32 ? -1 : spm.take(tq * tk * ce);
  l.stats[0] = spm.take(3 * tq * 4), l.stats[1] = spm.take(3 * tq * 4);
  l.t = spm.take(tq * 4), l.z = spm.take(tq * 4);
  l.zeros = spm.take(tq * 4), l.negInf = spm.take(tq * 4);
  l.bytes = spm.off;
  return l;
}

FailureOr<FlashLayout> chooseFlashTiles(const FlashGeometry &g, const TargetDesc &t, int64_t kvLen) {
  // Query and KV tiles of up to 128 rows (the partition length), halved
  // until the double-buffered tiles fit the scratchpad.
  int64_t tq = std::min<int64_t>(g.sq, 128);
  int64_t tk = std::min<int64_t>(g.sk, kvLen > 0 ? kvLen : 128);
  if (kvLen > 0) { // fixed KV length: only the query tile may shrink
    for (bool resident : {true, false}) {
      if (resident && g.b * g.hkv < int64_t(t.num_ne()))
        continue;
      for (int64_t q = tq; q >= 1; q = q == 1 ? 0 : (q + 1) / 2) {
        FlashLayout l = layoutFlash(g, q, tk, resident);
        if (uint64_t(l.bytes) <= t.spm_bytes())
          return l;
      }
    }
    return failure();
  }
  // K/V resident when one (batch, KV head)'s fit and there are enough of
  // them to keep every NE busy.
  if (g.b * g.hkv >= int64_t(t.num_ne())) {
    // Double-buffered when an NE has several units and two fit (no mask:
    // its tiles stream through the same queue as the prefetch).
    bool several = g.b * g.hkv > int64_t(t.num_ne());
    for (bool dbl : {true, false}) {
      if (dbl && (!several || g.hasMask))
        continue;
      FlashLayout l = layoutFlash(g, tq, tk, true, dbl);
      if (uint64_t(l.bytes) <= t.spm_bytes())
        return l;
    }
  }
  while (true) {
    FlashLayout l = layoutFlash(g, tq, tk, false);
    if (uint64_t(l.bytes) <= t.spm_bytes())
      return l;
    if (tq == 1 && tk == 1)
      return failure();
    if (tk >= tq && tk > 1)
      tk = (tk + 1) / 2;
    else
      tq = (tq + 1) / 2;
  }
}

// --- paged attention -----------------------------------------------------------------

PagedGeometry PagedGeometry::get(PagedAttentionOp op) {
  PagedGeometry g;
  MemRefType q = op.getQ().getType(), kc = op.getKCache().getType(), vc = op.getVCache().getType();
  g.b = q.getDimSize(0), g.hq = q.getDimSize(1), g.s = q.getDimSize(2), g.d = q.getDimSize(3);
  g.hkv = kc.getDimSize(1), g.blockSize = kc.getDimSize(2), g.dv = vc.getDimSize(3);
  g.maxBlocks = op.getBlockTable().getType().getDimSize(1);
  g.q = dtypeOf(q.getElementType());
  g.cache = dtypeOf(kc.getElementType());
  g.out = dtypeOf(op.getOut().getType().getElementType());
  g.compute = dtypeOf(op.getComputeType());
  return g;
}

PagedLayout layoutPaged(const PagedGeometry &g, int64_t tq, int64_t tk, int64_t splits) {
  PagedLayout l;
  l.tq = tq, l.tk = tk, l.splits = splits;
  int64_t rows = g.itemRows(tq), ce = dtypeSize(g.compute);
  SpmBump spm;
  l.q = spm.take(rows * g.d * ce);
  for (int i = 0; i < 2; ++i) {
    l.k[i] = spm.take(tk * g.d * ce);
    l.v[i] = spm.take(tk * g.dv * ce);
  }
  l.s = spm.take(rows * tk * 4);
  l.p = g.compute == DType::F32 ? l.s : spm.take(rows * tk * ce);
  l.o = spm.take(rows * g.dv * 4);
  l.stats = spm.take(3 * rows * 4);
  l.t = spm.take(rows * 4), l.z = spm.take(rows * 4);
  l.zeros = spm.take(rows * 4), l.negInf = spm.take(rows * 4);
  if (splits > 1) {
    l.cMaxIn = spm.take(rows * splits * 4);
    l.cStats = spm.take(splits * 2 * rows * 4);
    l.cO = spm.take(splits * rows * g.dv * 4);
    l.cMax = spm.take(rows * 4), l.cW = spm.take(rows * 4), l.cL = spm.take(rows * 4);
  }
  l.bytes = spm.off;
  return l;
}

FailureOr<PagedLayout> choosePagedTiles(const PagedGeometry &g, const TargetDesc &t, int64_t kvLen) {
  // Partitions of 256 keys by default (whole blocks, at most the maximum
  // length), query tiles of up to 128 rows; the partition shrinks by blocks,
  // then the query tile halves, until they fit.
  // A partition is whole blocks, or a power-of-two part of one block.
  int64_t maxLen = g.maxSeqLen();
  int64_t tk = std::min(kvLen > 0 ? kvLen : 256, maxLen);
  tk = tk >= g.blockSize ? tk / g.blockSize * g.blockSize : int64_t(llvm::bit_floor(uint64_t(tk)));
  int64_t tq = std::min<int64_t>(g.s, 128);
  while (true) {
    PagedLayout l = layoutPaged(g, tq, tk);
    if (uint64_t(l.bytes) <= t.spm_bytes() && tk <= kMaxField && g.itemRows(tq) <= kMaxField) {
      // Flash-decoding: fewer (sequence, KV head) items than NEs split
      // their partitions over the idle NEs, when the partials fit SHM.
      int64_t items = g.b * g.hkv, numTiles = ceilDiv(maxLen, tk), ne = int64_t(t.num_ne());
      if (g.decode() && items < ne && numTiles > 1) {
        int64_t splits = std::min(ne / items, numTiles);
        PagedLayout sl = layoutPaged(g, tq, tk, splits);
        if (splits > 1 && uint64_t(sl.bytes) <= t.spm_bytes() &&
            uint64_t(items * splits * PagedLayout::partialBytes(g, g.itemRows(tq))) <= t.shm_bytes())
          return sl;
      }
      return l;
    }
    if (kvLen <= 0 && tk > g.blockSize)
      tk -= g.blockSize;
    else if (kvLen <= 0 && tk > 1)
      tk /= 2;
    else if (tq > 1 && !g.decode())
      tq = (tq + 1) / 2;
    else
      return failure();
  }
}

// --- gather ------------------------------------------------------------------------

GatherGeometry GatherGeometry::get(GatherOp op) {
  GatherGeometry g;
  MemRefType t = op.getTable().getType(), i = op.getIndices().getType();
  g.n = i.getNumElements();
  g.tableRows = t.getDimSize(0);
  g.rowLen = g.tableRows ? t.getNumElements() / g.tableRows : 0;
  g.data = dtypeOf(t.getElementType());
  g.index = dtypeOf(i.getElementType());
  return g;
}

GatherLayout layoutGather(const GatherGeometry &g, int64_t rows) {
  GatherLayout l;
  l.rows = rows;
  SpmBump spm;
  for (int i = 0; i < 2; ++i)
    l.buf[i] = spm.take(rows * g.rowLen * int64_t(dtypeSize(g.data)));
  l.bytes = spm.off;
  return l;
}

FailureOr<GatherLayout> chooseGatherTiles(const GatherGeometry &g, const TargetDesc &t) {
  int64_t rowBytes = alignTo(g.rowLen * int64_t(dtypeSize(g.data)), 1);
  int64_t maxRows = rowBytes ? (int64_t(t.spm_bytes()) / 2 - kSpmAlign) / rowBytes : 1;
  if (maxRows < 1)
    return failure();
  // Spread the rows over the NEs: the CP forms every row's address anyway,
  // so more NEs add DMA queues working in parallel.
  int64_t perNe = ceilDiv(std::max<int64_t>(g.n, 1), int64_t(t.num_ne()));
  return layoutGather(g, std::min(maxRows, perNe));
}

} // namespace rbln::npu
