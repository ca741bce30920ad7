//===- SimProgram.h - Hand-written programs for simulator tests -*- C++ -*-===//
//
// A function, its code and a DRAM image on the `tiny` target, run directly on
// the simulator (no artifact). Shared by the simulator's unit tests, the
// robustness tests and the simulator fuzz target.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "rbln/runtime/Target.h"
#include "sim/Simulator.h"

#include <cstring>
#include <random>

namespace rbln::test {
using namespace rbln::isa;

struct Prog {
  proto::TargetDesc t = *loadTarget("tiny");
  proto::Function fn;
  std::vector<Inst> code;
  std::vector<uint8_t> dram = std::vector<uint8_t>(1 << 20, 0);
  sim::Stats stats;
  sim::Options opts;
  sim::LaunchArgs args;

  int desc(DType s, DType d, std::vector<int64_t> sizes, std::vector<int64_t> ss,
           std::vector<int64_t> ds) {
    proto::DmaDesc *p = fn.add_dma_descs();
    p->set_src_dtype(proto::DType(s));
    p->set_dst_dtype(proto::DType(d));
    for (size_t i = 0; i < sizes.size(); ++i) {
      p->add_sizes(sizes[i]);
      p->add_src_strides(ss[i]);
      p->add_dst_strides(ds[i]);
    }
    return fn.dma_descs_size() - 1;
  }
  Inst &add(Inst in) {
    code.push_back(in);
    return code.back();
  }
  static Inst dma(Opcode op, unsigned unit, Space ds, int64_t doff, Space ss, int64_t soff, int d,
                  unsigned dreg = 0, unsigned sreg = 0) {
    Inst in(op, uint8_t(unit));
    in[fld::DmaTask::dspace] = int64_t(ds);
    in[fld::DmaTask::dreg] = dreg;
    in[fld::DmaTask::doff] = doff;
    in[fld::DmaTask::sspace] = int64_t(ss);
    in[fld::DmaTask::sreg] = sreg;
    in[fld::DmaTask::soff] = soff;
    in[fld::DmaTask::desc] = d;
    return in;
  }
  /// `mm` on NE `unit`: C at `c` (+)= A at `a` times B at `b`, [m, n, k] in
  /// `in` (B of `in`; set fld::Mm::bt for a narrower B).
  static Inst mm(unsigned unit, int64_t c, int64_t a, int64_t b, int64_t m, int64_t n, int64_t k, DType in) {
    Inst in0(Opcode::Mm, uint8_t(unit));
    in0[fld::Mm::c] = c, in0[fld::Mm::a] = a, in0[fld::Mm::b] = b;
    in0[fld::Mm::m] = m, in0[fld::Mm::n] = n, in0[fld::Mm::k] = k;
    in0[fld::Mm::in] = int64_t(in);
    return in0;
  }
  static Inst alu(Opcode op, unsigned rd, unsigned ra, unsigned rb, int64_t imm) {
    Inst in(op);
    in[fld::Add::rd] = rd;
    in[fld::Add::ra] = ra;
    in[fld::Add::rb] = rb;
    in[fld::Add::imm] = imm;
    return in;
  }
  static Inst li(unsigned rd, int64_t v) {
    Inst in(Opcode::Li);
    in[fld::Li::rd] = rd;
    in[fld::Li::imm] = v;
    return in;
  }
  Status run() {
    if (code.empty() || code.back().op != Opcode::Halt)
      code.push_back(Inst(Opcode::Halt));
    fn.set_name("test");
    sim::Simulator s(t, opts);
    return s.run(fn, code, dram, args, stats);
  }
  float *f32(size_t off) { return reinterpret_cast<float *>(dram.data() + off); }
  /// `n` floats at `off`, uniform in [lo, hi), from `seed`.
  void randomF32(size_t off, int n, unsigned seed, float lo, float hi) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(lo, hi);
    for (int i = 0; i < n; ++i)
      f32(off)[i] = u(rng);
  }
  int64_t i64(size_t off) {
    int64_t v;
    std::memcpy(&v, dram.data() + off, 8);
    return v;
  }
};

/// Stores registers r1..rn to dram[0..8n).
inline void storeRegs(Prog &p, unsigned n) {
  for (unsigned r = 1; r <= n; ++r) {
    Inst st(Opcode::St64);
    st[fld::St64::rs] = r;
    st[fld::St64::space] = int64_t(Space::Dram);
    st[fld::St64::ra] = 0;
    st[fld::St64::imm] = 8 * (r - 1);
    p.add(st);
  }
}

// A loop that keeps the engines busy: a vector copy per iteration. The CP
// guard alone (every dispatched command is a CP step too) would let it run
// 200M commands; the command and modeled-time guards stop it.
inline Prog engineLoop() {
  Prog p;
  Inst cp(Opcode::VCopy, 0);
  cp[fld::VExp::dst] = 1024;
  cp[fld::VExp::src] = 0;
  cp[fld::VExp::rows] = 16;
  cp[fld::VExp::cols] = 64;
  p.add(cp);
  Inst j(Opcode::Jmp);
  j[fld::Jmp::target] = 0;
  p.add(j);
  return p;
}

} // namespace rbln::test
