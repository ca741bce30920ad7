//===- VectorEngine.cpp - Vector instructions -------------------------------===//
#include "SimulatorImpl.h"

#include <cmath>
#include <cstring>

namespace rbln::sim {

double Simulator::Impl::vec(unsigned ne, const Inst &in, const Cmd &cmd) {
  using namespace fld;
  const auto &ve = t.vector();
  Opcode op = in.op;
  // Cycles per lane-group of elements: the passes its cost class makes
  // (Isa.def RBLN_COST), each at the target's rate for its kind.
  VectorPasses passes = vectorPasses(in.spec().cost);
  double perOp = double(passes.simple) * ve.simple_op_cycles() +
                 double(passes.transcendental) * ve.transcendental_op_cycles() +
                 double(passes.reduce) * ve.reduce_op_cycles();
  auto cost = [&](uint64_t elems) {
    return double((elems + ve.lanes() - 1) / ve.lanes()) * perOp + ve.latency_cycles();
  };
  const InstClass klass = classOf(op);
  if (klass == InstClass::VCast) {
    int64_t rows = in[VCast::rows], cols = in[VCast::cols];
    DType from = DType(in[VCast::from]), to = DType(in[VCast::to]);
    uint64_t nel = uint64_t(rows * cols);
    uint8_t *b = operand(ne, dtypeSize(from), in[VCast::src], nel * dtypeSize(from), false, "v.cast source");
    if (!b || !operand(ne, dtypeSize(to), in[VCast::dst], nel * dtypeSize(to), true, "v.cast destination"))
      return 0;
    if (opts.compute)
      submit(ne, [=, &in] { // (the instruction lives in the code vector; the job only reads it)
      // Through a temporary: source and destination may overlap.
      std::vector<float> tmp(nel);
      for (uint64_t i = 0; i < nel; ++i)
        tmp[i] = loadAsFloat(b + in[VCast::src] + i * dtypeSize(from), from);
      for (uint64_t i = 0; i < nel; ++i)
        storeFromFloat(b + in[VCast::dst] + i * dtypeSize(to), to, tmp[i]);
    });
    return cost(nel);
  }
  if (klass == InstClass::VSoftmaxStep) {
    // One pass of FlashAttention's online softmax over s [rows, cols] with
    // the running statistics m, l and the rescale factor alpha stored as
    // three rows of `rows` floats at `stats`:
    //   x = scale * s; m' = max(m, max_c x); ms = m' == -inf ? 0 : m'
    //   s = exp(x - ms); alpha = exp(m - ms); l = alpha * l + sum_c s; m = m'
    int64_t rows = in[VSoftmaxStep::rows], cols = in[VSoftmaxStep::cols];
    uint64_t nel = uint64_t(rows * cols);
    uint8_t *b = operand(ne, 4, in[VSoftmaxStep::s], nel * 4, true, "softmax tile");
    if (!b || !operand(ne, 4, in[VSoftmaxStep::stats], uint64_t(3 * rows) * 4, true,
                      "softmax statistics"))
      return 0;
    if (opts.compute)
      submit(ne, [=, &in] {
        float *sp = reinterpret_cast<float *>(b + in[VSoftmaxStep::s]);
        float *m = reinterpret_cast<float *>(b + in[VSoftmaxStep::stats]);
        float *l = m + rows, *alpha = m + 2 * rows;
        float scale = bitsFloat(uint32_t(in[VSoftmaxStep::scale]));
        for (int64_t r = 0; r < rows; ++r) {
          float *x = sp + r * cols, mx = m[r];
          for (int64_t c = 0; c < cols; ++c) {
            x[c] *= scale;
            mx = (x[c] != x[c] || mx != mx) ? x[c] + mx : std::max(mx, x[c]);
          }
          float ms = std::isinf(mx) && mx < 0 ? 0.0f : mx, sum = 0;
          for (int64_t c = 0; c < cols; ++c) {
            x[c] = std::exp(x[c] - ms);
            sum += x[c];
          }
          alpha[r] = std::exp(m[r] - ms);
          l[r] = alpha[r] * l[r] + sum;
          m[r] = mx;
        }
      });
    return cost(nel);
  }
  if (klass == InstClass::VMask) {
    int64_t rows = in[VMaskUpper::rows], cols = in[VMaskUpper::cols];
    // The diagonal clamped to where it still decides something (rows and
    // columns are field-sized): no overflow in rowStep * r + diag below.
    int64_t diag = std::clamp<int64_t>(wrapAdd(in[VMaskUpper::diag], cmd.reg), -rows - 1, cols + 1);
    int64_t rowStep = in[VMaskUpper::flat] ? 0 : 1;
    bool lower = in[VMaskUpper::lower] != 0;
    uint64_t nel = uint64_t(rows * cols);
    uint8_t *b = operand(ne, 4, in[VMaskUpper::src], nel * 4, false, "vector src");
    if (!b || !operand(ne, 4, in[VMaskUpper::dst], nel * 4, true, "vector dst"))
      return 0;
    if (opts.compute)
      submit(ne, [=, &in] {
        const float *src = reinterpret_cast<const float *>(b + in[VMaskUpper::src]);
        float *dst = reinterpret_cast<float *>(b + in[VMaskUpper::dst]);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c)
            dst[r * cols + c] = (lower ? c < rowStep * r + diag : c > rowStep * r + diag)
                                    ? -std::numeric_limits<float>::infinity()
                                             : src[r * cols + c];
      });
    return cost(nel);
  }
  if (klass == InstClass::VBinary) {
    int64_t rows = in[VAdd::rows], cols = in[VAdd::cols];
    uint64_t nel = uint64_t(rows * cols);
    Bcast bc = Bcast(in[VAdd::bcast]);
    uint64_t n1 = bc == Bcast::None ? nel : bc == Bcast::Row ? uint64_t(cols)
                                         : bc == Bcast::Col ? uint64_t(rows) : 0;
    uint8_t *b = operand(ne, 4, in[VAdd::src0], nel * 4, false, "vector src0");
    if (!b || (n1 && !operand(ne, 4, in[VAdd::src1], n1 * 4, false, "vector src1")) ||
        !operand(ne, 4, in[VAdd::dst], nel * 4, true, "vector dst"))
      return 0;
    if (opts.compute)
      submit(ne, [=, &in] {
      const float *s0 = reinterpret_cast<const float *>(b + in[VAdd::src0]);
      const float *s1 = reinterpret_cast<const float *>(b + in[VAdd::src1]);
      float *d = reinterpret_cast<float *>(b + in[VAdd::dst]);
      float imm = bitsFloat(uint32_t(in[VAdd::scalar]));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          float x = s0[r * cols + c];
          float y = bc == Bcast::None ? s1[r * cols + c]
                    : bc == Bcast::Row ? s1[c]
                    : bc == Bcast::Col ? s1[r] : imm;
          float z = 0;
          switch (op) {
          case Opcode::VAdd: z = x + y; break;
          case Opcode::VSub: z = x - y; break;
          case Opcode::VMul: z = x * y; break;
          case Opcode::VDiv: z = x / y; break;
          // max/min propagate NaN, as IEEE maximum/minimum and NumPy do.
          case Opcode::VMax: z = (x != x || y != y) ? x + y : std::max(x, y); break;
          case Opcode::VMin: z = (x != x || y != y) ? x + y : std::min(x, y); break;
          case Opcode::VPow: z = std::pow(x, y); break;
          case Opcode::VCmpEq: z = x == y; break;
          case Opcode::VCmpNe: z = x != y; break;
          case Opcode::VCmpLt: z = x < y; break;
          case Opcode::VCmpLe: z = x <= y; break;
          case Opcode::VCmpGt: z = x > y; break;
          case Opcode::VCmpGe: z = x >= y; break;
          case Opcode::VSel: z = x != 0.0f ? y : d[r * cols + c]; break;
          default: break;
          }
          d[r * cols + c] = z;
        }
    });
    return cost(nel);
  }
  // Unary and row reductions share VUN fields.
  int64_t rows = in[VExp::rows], cols = in[VExp::cols];
  uint64_t nel = uint64_t(rows * cols);
  bool reduce = klass == InstClass::VReduce;
  uint8_t *b = operand(ne, 4, in[VExp::src], nel * 4, false, "vector src");
  if (!b || !operand(ne, 4, in[VExp::dst], (reduce ? uint64_t(rows) : nel) * 4, true,
                    "vector dst"))
    return 0;
  if (opts.compute)
    submit(ne, [=, &in] {
    const float *s = reinterpret_cast<const float *>(b + in[VExp::src]);
    float *d = reinterpret_cast<float *>(b + in[VExp::dst]);
    if (reduce) {
      for (int64_t r = 0; r < rows; ++r) {
        float acc = op == Opcode::VRedMax ? -std::numeric_limits<float>::infinity() : 0.0f;
        for (int64_t c = 0; c < cols; ++c)
          acc = op == Opcode::VRedMax ? std::max(acc, s[r * cols + c]) : acc + s[r * cols + c];
        d[r] = acc;
      }
    } else {
      for (uint64_t i = 0; i < nel; ++i) {
        float x = s[i], z = x;
        switch (op) {
        case Opcode::VExp: z = std::exp(x); break;
        case Opcode::VLog: z = std::log(x); break;
        case Opcode::VSqrt: z = std::sqrt(x); break;
        case Opcode::VRsqrt: z = 1.0f / std::sqrt(x); break;
        case Opcode::VRecip: z = 1.0f / x; break;
        case Opcode::VNeg: z = -x; break;
        case Opcode::VTanh: z = std::tanh(x); break;
        case Opcode::VSigmoid: z = 1.0f / (1.0f + std::exp(-x)); break;
        case Opcode::VRelu: z = x < 0.0f ? 0.0f : x; break; // NaN stays NaN
        case Opcode::VCopy: z = x; break;
        case Opcode::VAbs: z = std::fabs(x); break;
        case Opcode::VErf: z = std::erf(x); break;
        case Opcode::VSin: z = std::sin(x); break;
        case Opcode::VCos: z = std::cos(x); break;
        case Opcode::VRound: z = std::nearbyint(x); break; // the default mode: ties to even
        case Opcode::VGelu: z = 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); break;
        case Opcode::VGeluTanh:
          z = 0.5f * x * (1.0f + std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
          break;
        case Opcode::VSilu: z = x / (1.0f + std::exp(-x)); break;
        default: break;
        }
        d[i] = z;
      }
    }
  });
  return cost(nel);
}

} // namespace rbln::sim
