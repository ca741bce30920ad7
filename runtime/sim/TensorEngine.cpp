//===- TensorEngine.cpp - The tensor engine: tile GEMMs ---------------------===//
#include "SimulatorImpl.h"

#include <cstring>

#ifdef RBLN_HAVE_CBLAS
#include <cblas.h>
#else
#include <Eigen/Core>
#endif

namespace rbln::sim {

namespace {
/// The arithmetic of one mm: C (+)= op(A) op(B) on one NE's scratchpad, A
/// of type `dt`, B of type `bt` (`dt`, or narrower: widened exactly); the
/// leading dimensions are in elements.
void mmCompute(uint8_t *base, const Inst &in, DType dt, DType bt, const uint8_t *aPtr, int64_t lda,
               const uint8_t *bPtr, int64_t ldb) {
  using namespace fld;
  int64_t m = in[Mm::m], n = in[Mm::n], k = in[Mm::k];
  std::vector<float> tmpA, tmpB;
#ifndef RBLN_HAVE_CBLAS
      using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      using Map = Eigen::Map<Mat>;
#endif
      // An operand of rows x cols with row stride ld (elements); f32 in
      // place, else converted into a dense copy (whose ld becomes cols).
      auto operand = [&](const uint8_t *p0, DType et, int64_t rows, int64_t cols, int64_t &ld,
                         std::vector<float> &tmp) -> float * {
        uint8_t *p = const_cast<uint8_t *>(p0);
        if (et == DType::F32 && (reinterpret_cast<uintptr_t>(p) % alignof(float)) == 0)
          return reinterpret_cast<float *>(p);
        tmp.resize(size_t(rows * cols));
        unsigned es = dtypeSize(et);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c)
            tmp[size_t(r * cols + c)] = dtypeIsPacked(et) ? float(int4At(p, uint64_t(r * ld + c)))
                                                          : loadAsFloat(p + (r * ld + c) * es, et);
        ld = cols;
        return tmp.data();
      };
      // Stored shapes: a is m x k (k x m if ta), b is k x n (n x k if tb).
      float *a = operand(aPtr, dt, in[Mm::ta] ? k : m, in[Mm::ta] ? m : k, lda, tmpA);
      float *b = operand(bPtr, bt, in[Mm::tb] ? n : k, in[Mm::tb] ? k : n, ldb, tmpB);
      float *c = reinterpret_cast<float *>(base + in[Mm::c]);
#ifdef RBLN_HAVE_CBLAS
      // OpenBLAS picks kernels for the host CPU at run time. One row (a
      // decode step's GEMV) skips sgemm's packing of B: b is read once.
      if (m == 1) {
        // a is one row: with ta it is k x 1, its elements lda apart
        int incA = in[Mm::ta] ? int(lda) : 1;
        if (in[Mm::tb]) // b stored n x k: c = b a
          cblas_sgemv(CblasRowMajor, CblasNoTrans, int(n), int(k), 1.0f, b, int(ldb), a, incA,
                      in[Mm::acc] ? 1.0f : 0.0f, c, 1);
        else // b stored k x n: c = b^T a
          cblas_sgemv(CblasRowMajor, CblasTrans, int(k), int(n), 1.0f, b, int(ldb), a, incA,
                      in[Mm::acc] ? 1.0f : 0.0f, c, 1);
        return;
      }
      cblas_sgemm(CblasRowMajor, in[Mm::ta] ? CblasTrans : CblasNoTrans,
                  in[Mm::tb] ? CblasTrans : CblasNoTrans, int(m), int(n), int(k), 1.0f, a,
                  int(lda), b, int(ldb), in[Mm::acc] ? 1.0f : 0.0f, c, int(n));
#else
      Map cm(c, m, n);
      Map am(a, in[Mm::ta] ? k : m, in[Mm::ta] ? m : k);
      Map bm(b, in[Mm::tb] ? n : k, in[Mm::tb] ? k : n);
      auto run = [&](const auto &A, const auto &B) {
        if (in[Mm::acc])
          cm.noalias() += A * B;
        else
          cm.noalias() = A * B;
      };
      if (in[Mm::ta] && in[Mm::tb]) run(am.transpose(), bm.transpose());
      else if (in[Mm::ta]) run(am.transpose(), bm);
      else if (in[Mm::tb]) run(am, bm.transpose());
      else run(am, bm);
#endif
    }
/// The arithmetic of an integer mm: 8-bit operands (a u8 or i8, b i8)
/// multiplied and summed exactly into the i32 accumulator C. The products
/// are summed in double, exact for any k this ISA can encode (|a b| <= 2^15,
/// k < 2^16); the sum wraps to 32 bits as an integer accumulator would.
void mmIntegerCompute(uint8_t *base, const Inst &in, DType dt, const uint8_t *aPtr, int64_t lda,
                      const uint8_t *bPtr, int64_t ldb) {
  using namespace fld;
  int64_t m = in[Mm::m], n = in[Mm::n], k = in[Mm::k];
  bool ta = in[Mm::ta], tb = in[Mm::tb];
  // Dense row-major copies: a as m x k, b as k x n.
  std::vector<double> a(size_t(m * k)), b(size_t(k * n)), c(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) {
      uint8_t v = aPtr[ta ? p * lda + i : i * lda + p];
      a[size_t(i * k + p)] = dt == DType::U8 ? double(v) : double(int8_t(v));
    }
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j)
      b[size_t(p * n + j)] = double(int8_t(bPtr[tb ? j * ldb + p : p * ldb + j]));
#ifdef RBLN_HAVE_CBLAS
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(n), int(k), 1.0, a.data(), int(k),
              b.data(), int(n), 0.0, c.data(), int(n));
#else
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<Mat>(c.data(), m, n).noalias() =
      Eigen::Map<Mat>(a.data(), m, k) * Eigen::Map<Mat>(b.data(), k, n);
#endif
  auto *out = base + in[Mm::c];
  for (int64_t i = 0; i < m * n; ++i) {
    int32_t prev = 0;
    if (in[Mm::acc])
      std::memcpy(&prev, out + i * 4, 4);
    uint32_t sum = uint32_t(prev) + uint32_t(int64_t(c[size_t(i)]));
    std::memcpy(out + i * 4, &sum, 4);
  }
}
} // namespace

double Simulator::Impl::mm(unsigned ne, const Inst &in) {
  using namespace fld;
  int64_t m = in[Mm::m], n = in[Mm::n], k = in[Mm::k];
  DType dt = DType(in[Mm::in]);
  // B's stored type: `in` (f32 in a word older than 1.6), or narrower
  // (validateFunctionCode checked the pair and an int4 B's even rows); the
  // integer mode's B is int8 whatever bt says.
  bool integer = dt == DType::I8 || dt == DType::U8;
  DType bt = integer || in[Mm::bt] == int64_t(DType::F32) ? dt : DType(in[Mm::bt]);
  bool fp8 = (dt == DType::F8E4M3FN || dt == DType::F8E5M2) && t.tensor().fp8_macs_per_pe() > 0;
  if (dt != DType::F32 && dt != DType::F16 && dt != DType::BF16 && !integer && !fp8) {
    fail(fmt::format("mm input type {} is not supported by the tensor engine", dtypeName(dt)));
    return 0;
  }
  unsigned es = dtypeSize(dt), bes = bt == dt ? es : 1; // (alignment: narrow B is bytes)
  lazyReads = true;
  uint8_t *base = operand(ne, es, in[Mm::a], uint64_t(m * k) * es, false, "mm operand a");
  bool okB = base && operand(ne, bes, in[Mm::b], dtypeBytes(bt, uint64_t(k * n)), false, "mm operand b");
  lazyReads = false;
  if (!okB || !operand(ne, 4, in[Mm::c], uint64_t(m * n) * 4, true,
                       integer ? "mm accumulator c (i32)" : "mm accumulator c"))
    return 0;
  if (in[Mm::acc])
    stats->spmReadBytes += uint64_t(m * n) * 4;
  stats->tensorMacs += uint64_t(m * n * k);
  stats->tensorRooflineCycles += double(m * n * k) / (macsPerCycle(t, uint32_t(dt)) * t.num_ne());
  if (opts.compute && m && n && k)
    submit(ne, [this, ne, base, &in, dt, bt, m, n, k, es] {
      // Stored shapes: a is m x k (k x m if ta), b is k x n (n x k if tb).
      uint64_t aCols = uint64_t(in[Mm::ta] ? m : k), bCols = uint64_t(in[Mm::tb] ? k : n);
      auto [a, aStride] = operandPtr(ne, in[Mm::a], uint64_t(m * k) / aCols, aCols * es);
      auto [b, bStride] = operandPtr(ne, in[Mm::b], uint64_t(k * n) / bCols, dtypeBytes(bt, bCols));
      // (leading dimensions in elements: a byte row of int4 holds two)
      int64_t ldb = dtypeIsPacked(bt) ? int64_t(bStride * 2) : int64_t(bStride / dtypeSize(bt));
      if (dt == DType::I8 || dt == DType::U8)
        mmIntegerCompute(base, in, dt, a, int64_t(aStride / es), b, ldb);
      else
        mmCompute(base, in, dt, bt, a, int64_t(aStride / es), b, ldb);
    });
  const auto &te = t.tensor();
  double padded = double((m + te.array_rows() - 1) / te.array_rows() * te.array_rows()) *
                  double((n + te.array_cols() - 1) / te.array_cols() * te.array_cols()) *
                  double(k);
  return padded / macsPerCycle(t, uint32_t(dt)) + te.pipeline_fill_cycles();
}

} // namespace rbln::sim
