//===- NpuToIsa.cpp - Kernel expansion into instructions ------------------===//
//
// Each tiled kernel becomes a command stream for the NEs it uses:
//
//   matmul, per output tile j of an NE (steps t count k-steps on that NE):
//     dma  A,B(t) -> SPM[t%2]      wait mm(t-2) done       signal load
//     mm   acc[j%2] (+)= A*B       wait load(t), store(j-2) signal mm
//     v.*  epilogue on acc[j%2]    wait mm(last step of j)  signal epi
//     dma  acc[j%2] -> out         wait epi(j)              signal store
//
//   elementwise / softmax, per tile t: load -> vector ops -> store with the
//   same double-buffered handshake.
//
// Semaphores are counters: a wait names the absolute count it needs, which
// is known at compile time because kernels are separated by barriers.
//
//===----------------------------------------------------------------------===//
#include "passes/Conversion/NpuToIsa/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"
#include "passes/Npu/KernelGeometry.h"
#include "rbln/Target/TargetInfo.h"

#include <limits>
#include <map>

namespace rbln {
#define GEN_PASS_DEF_CONVERTNPUTONPUISA
#include "passes/Conversion/NpuToIsa/Passes.h.inc"
} // namespace rbln

using namespace mlir;
using namespace rbln;
using namespace rbln::npu;
using isa::Inst;
using isa::Opcode;

namespace {

constexpr unsigned kRegArgBlock = 1, kRegWeights = 2, kRegScratch = 3, kFirstKernelReg = 4;

/// A DRAM or SHM address as the hardware forms it: register + byte offset
/// in `space` (SHM buffers sit at fixed offsets: r0 + offset).
struct Addr {
  unsigned reg;
  int64_t off;
  DType dtype;
  isa::Space space = isa::Space::Dram;
  Addr plus(int64_t elems) const {
    return {reg, off + elems * int64_t(dtypeSize(dtype)), dtype, space};
  }
};

struct DescKey {
  DType src, dst;
  SmallVector<int64_t, 4> sizes, ss, ds;
  bool operator<(const DescKey &o) const {
    return std::tie(src, dst, sizes, ss, ds) < std::tie(o.src, o.dst, o.sizes, o.ss, o.ds);
  }
};

class ProgramBuilder {
public:
  ProgramBuilder(func::FuncOp fn, const TargetDesc &t) : fn(fn), t(t), b(fn.getContext()) {
    semCount.assign(t.cp().num_semaphores(), 0);
  }

  func::FuncOp fn;
  const TargetDesc &t;
  OpBuilder b;
  Location loc = UnknownLoc::get(fn.getContext());
  std::vector<int64_t> semCount;
  std::map<DescKey, int64_t> descIds;
  std::vector<DescKey> descs;
  unsigned nextReg = kFirstKernelReg;
  DenseMap<Value, unsigned> argRegs;

  // --- semaphores ------------------------------------------------------------
  /// Kernel-local semaphore `kind` of NE `ne`; waits are relative to the
  /// count at kernel start.
  struct Sem {
    uint8_t id;
    int64_t base;
  };
  SmallVector<Sem> sems;
  unsigned semsPerNe = 0;
  LogicalResult beginKernel(Operation *op, unsigned perNe) {
    loc = op->getLoc();
    semsPerNe = perNe;
    if (perNe * t.num_ne() > t.cp().num_semaphores())
      return op->emitError("the kernel needs ")
             << perNe * t.num_ne() << " semaphores, target '" << t.name() << "' has "
             << t.cp().num_semaphores();
    sems.clear();
    for (unsigned i = 0; i < perNe * t.num_ne(); ++i)
      sems.push_back({uint8_t(i), semCount[i]});
    nextReg = kFirstKernelReg;
    argRegs.clear();
    return success();
  }
  const Sem &sem(unsigned ne, unsigned kind) const { return sems[ne * semsPerNe + kind]; }
  /// Adds "wait until the kind-th semaphore of ne has seen n signals in this
  /// kernel" (no-op for n <= 0).
  static void addWait(Inst &in, const Sem &s, int64_t n) {
    if (n <= 0)
      return;
    for (isa::WaitCond &w : in.wait)
      if (!w.active()) {
        w = {s.id, uint32_t(s.base + n)};
        return;
      }
    llvm_unreachable("more than two waits on one command");
  }
  void setSignal(Inst &in, const Sem &s) { in.signal = s.id; }

  // --- addresses ---------------------------------------------------------------
  /// The DRAM address of a buffer, loading I/O bases from the argument block.
  FailureOr<Addr> addressOf(Value v) {
    auto addr = rootAddressOf(v);
    if (failed(addr))
      return failure();
    // A strided window's offset is in elements of its root buffer.
    return addr->plus(layoutOffset(cast<MemRefType>(v.getType())));
  }
  FailureOr<Addr> rootAddressOf(Value v) {
    DType dt = dtypeOf(cast<MemRefType>(v.getType()).getElementType());
    while (auto view = v.getDefiningOp<ViewOp>())
      v = view.getSource();
    if (auto c = v.getDefiningOp<ConstantOp>()) {
      if (!c.getOffset())
        return emitError(loc, "weights are not placed (run npu-plan-memory)"), failure();
      return Addr{kRegWeights, int64_t(*c.getOffset()), dt};
    }
    if (auto a = v.getDefiningOp<AllocOp>()) {
      if (!a.getOffset())
        return emitError(loc, "scratch buffers are not placed (run npu-plan-memory)"), failure();
      if (isShm(a.getType()))
        return Addr{0, int64_t(*a.getOffset()), dt, isa::Space::Shm};
      return Addr{kRegScratch, int64_t(*a.getOffset()), dt};
    }
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg)
      return emitError(loc, "cannot address this buffer"), failure();
    auto it = argRegs.find(v);
    if (it == argRegs.end()) {
      if (nextReg >= isa::kNumRegs)
        return emitError(loc, "out of registers"), failure();
      Inst ld(Opcode::Ld64);
      ld[isa::fld::Ld64::rd] = nextReg;
      ld[isa::fld::Ld64::space] = int64_t(isa::Space::Dram);
      ld[isa::fld::Ld64::ra] = kRegArgBlock;
      ld[isa::fld::Ld64::imm] = 8 * int64_t(arg.getArgNumber());
      emit(ld);
      it = argRegs.insert({v, nextReg++}).first;
    }
    return Addr{it->second, 0, dt};
  }

  int64_t desc(DType src, DType dst, ArrayRef<int64_t> sizes, ArrayRef<int64_t> ss,
               ArrayRef<int64_t> ds) {
    DescKey k{src, dst, SmallVector<int64_t, 4>(sizes), SmallVector<int64_t, 4>(ss),
              SmallVector<int64_t, 4>(ds)};
    auto [it, inserted] = descIds.insert({k, int64_t(descs.size())});
    if (inserted)
      descs.push_back(k);
    return it->second;
  }

  /// A neural DMA between a DRAM or SHM buffer and SPM of the queue's NE.
  Inst dma(unsigned queue, bool toSpm, Addr mem, int64_t spmOff, int64_t descId) {
    using namespace isa::fld;
    Inst in(Opcode::DmaNeural, uint8_t(queue));
    in[DmaNeural::dspace] = int64_t(toSpm ? isa::Space::Spm : mem.space);
    in[DmaNeural::dreg] = toSpm ? 0 : mem.reg;
    in[DmaNeural::doff] = toSpm ? spmOff : mem.off;
    in[DmaNeural::sspace] = int64_t(toSpm ? mem.space : isa::Space::Spm);
    in[DmaNeural::sreg] = toSpm ? mem.reg : 0;
    in[DmaNeural::soff] = toSpm ? mem.off : spmOff;
    in[DmaNeural::desc] = descId;
    return in;
  }

  unsigned loadQueue(unsigned ne) const { return ne * t.neural_dma_queues_per_ne(); }
  unsigned storeQueue(unsigned ne) const {
    return ne * t.neural_dma_queues_per_ne() + (t.neural_dma_queues_per_ne() > 1 ? 1 : 0);
  }

  static Inst vec(Opcode op, unsigned ne, int64_t dst, int64_t src0, int64_t src1, int64_t rows,
                  int64_t cols, isa::Bcast bc = isa::Bcast::None, float scalar = 0) {
    using namespace isa::fld;
    Inst in(op, uint8_t(ne));
    in[VAdd::dst] = dst;
    in[VAdd::src0] = src0;
    in[VAdd::src1] = src1;
    in[VAdd::rows] = rows;
    in[VAdd::cols] = cols;
    in[VAdd::bcast] = int64_t(bc);
    in[VAdd::scalar] = int64_t(floatBits(scalar));
    return in;
  }
  /// v.cast of a rows x cols tile from `from` to `to`.
  static Inst vcast(unsigned ne, int64_t dst, int64_t src, int64_t rows, int64_t cols, DType from,
                    DType to) {
    using namespace isa::fld;
    Inst in(Opcode::VCast, uint8_t(ne));
    in[VCast::dst] = dst, in[VCast::src] = src, in[VCast::rows] = rows, in[VCast::cols] = cols;
    in[VCast::from] = int64_t(from), in[VCast::to] = int64_t(to);
    return in;
  }
  static Inst vun(Opcode op, unsigned ne, int64_t dst, int64_t src, int64_t rows, int64_t cols) {
    using namespace isa::fld;
    Inst in(op, uint8_t(ne));
    in[VExp::dst] = dst;
    in[VExp::src] = src;
    in[VExp::rows] = rows;
    in[VExp::cols] = cols;
    return in;
  }

  /// `counted` = false for a command on a path exclusive with another that
  /// gives the same signal (a skipped partition's stand-in).
  void emit(const Inst &in, bool counted = true) {
    if (in.signal != isa::kNoSem && counted)
      ++semCount[in.signal];
    npuisa::createInst(b, loc, in);
    ++pc;
  }
  /// Index of the next instruction emitted (branch targets are absolute).
  int64_t pc = 0;
  /// A kernel-local scalar register.
  FailureOr<unsigned> scratchReg() {
    if (nextReg >= isa::kNumRegs)
      return emitError(loc, "out of registers"), failure();
    return nextReg++;
  }
  static Inst alu(Opcode op, unsigned rd, unsigned ra, unsigned rb, int64_t imm) {
    Inst in(op);
    in[isa::fld::Add::rd] = rd;
    in[isa::fld::Add::ra] = ra;
    in[isa::fld::Add::rb] = rb;
    in[isa::fld::Add::imm] = imm;
    return in;
  }
  /// `if (ra <op> rb) skip the next instruction`.
  Inst skipIf(Opcode op, unsigned ra, unsigned rb) const {
    Inst in(op);
    in[isa::fld::Blt::ra] = ra;
    in[isa::fld::Blt::rb] = rb;
    in[isa::fld::Blt::target] = pc + 2;
    return in;
  }
  void endKernel() { emit(Inst(Opcode::Barrier)); }
  Inst li(unsigned rd, int64_t imm) const {
    Inst in(Opcode::Li);
    in[isa::fld::Li::rd] = rd;
    in[isa::fld::Li::imm] = imm;
    return in;
  }
  Inst load(Opcode op, unsigned rd, unsigned ra, int64_t imm,
            isa::Space space = isa::Space::Dram) const {
    Inst in(op);
    in[isa::fld::Ld64::rd] = rd;
    in[isa::fld::Ld64::space] = int64_t(space);
    in[isa::fld::Ld64::ra] = ra;
    in[isa::fld::Ld64::imm] = imm;
    return in;
  }
  /// A register holding the run-time size of `v`'s dynamic leading dim: the
  /// runtime writes it to argument-block word `numArgs + argNumber`.
  FailureOr<unsigned> leadingDimOf(Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg)
      return emitError(loc, "a buffer with a dynamic size must be a function argument"), failure();
    auto r = scratchReg();
    if (failed(r))
      return failure();
    emit(load(Opcode::Ld64, *r, kRegArgBlock, 8 * int64_t(fn.getNumArguments() + arg.getArgNumber())));
    return *r;
  }
  /// `trap code` unless lo <= ra < rb (two branches, two traps).
  void checkRange(unsigned ra, unsigned rb, int64_t code) {
    Inst trap(Opcode::Trap);
    trap[isa::fld::Trap::code] = code;
    emit(skipIf(Opcode::Bge, ra, 0));
    emit(trap);
    emit(skipIf(Opcode::Blt, ra, rb));
    emit(trap);
  }
};

/// Spreads `numTiles` tiles round-robin over the NEs (tile i on NE i % n) and
/// calls step(ne, s) for the s-th of the NE's `stepsPerTile`-step sequence,
/// in round-robin step order: step s of every NE before step s+1 of any, so
/// bounded queues never hold a command whose producer the CP has not
/// dispatched yet.
template <typename StepFn>
void roundRobin(unsigned numNe, int64_t numTiles, int64_t stepsPerTile, StepFn step) {
  int64_t maxSteps = ceilDiv(numTiles, int64_t(numNe)) * stepsPerTile;
  for (int64_t s = 0; s < maxSteps; ++s)
    for (unsigned ne = 0; ne < numNe; ++ne) {
      int64_t tiles = numTiles / numNe + (int64_t(ne) < numTiles % numNe ? 1 : 0);
      if (s < tiles * stepsPerTile)
        step(ne, s);
    }
}

SmallVector<int64_t> unflatten(int64_t idx, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> out(shape.size());
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    out[size_t(d)] = idx % shape[size_t(d)];
    idx /= shape[size_t(d)];
  }
  return out;
}

int64_t dot(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  int64_t s = 0;
  for (size_t i = 0; i < a.size(); ++i)
    s += a[i] * b[i];
  return s;
}

LogicalResult lowerMatmul(ProgramBuilder &p, MatmulOp op) {
  using namespace isa::fld;
  enum { kLoad, kMm, kEpi, kStore, kBias, kNumSems };
  if (!op.getTile())
    return op.emitError("matmul has no tiles (run npu-tile-partition)");
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  MatmulGeometry g = MatmulGeometry::get(op);
  ArrayRef<int64_t> tile = *op.getTile();
  MatmulLayout l = layoutMatmul(g, tile[0], tile[1], tile[2]);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tiles ") << tile[0] << "x" << tile[1] << "x" << tile[2] << " need "
                                  << l.bytes << " bytes of SPM, target '" << p.t.name()
                                  << "' has " << p.t.spm_bytes();
  auto lhs = p.addressOf(op.getLhs()), rhs = p.addressOf(op.getRhs()),
       out = p.addressOf(op.getOut());
  FailureOr<Addr> bias = op.getBias() ? p.addressOf(op.getBias()) : FailureOr<Addr>(Addr{});
  FailureOr<Addr> residual =
      op.getResidual() ? p.addressOf(op.getResidual()) : FailureOr<Addr>(Addr{});
  if (failed(lhs) || failed(rhs) || failed(out) || failed(bias) || failed(residual))
    return failure();
  int64_t tilesM = ceilDiv(g.m, l.tm), tilesN = ceilDiv(g.n, l.tn), tilesK = ceilDiv(g.k, l.tk);
  int64_t numTiles = g.batch() * tilesM * tilesN;
  unsigned numNe = p.t.num_ne();
  bool hasBias = g.biasMode != BiasMode::None;
  float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
  graph::Activation act = op.getActivation();
  bool hasEpi = hasBias || alpha != 1.0f || act != graph::Activation::None;

  roundRobin(numNe, numTiles, tilesK, [&](unsigned ne, int64_t t) {
    int64_t jt = t / tilesK, kk = t % tilesK; // local tile, k-step
    int64_t tileIdx = int64_t(ne) + jt * numNe;
    int64_t bIdx = tileIdx / (tilesM * tilesN), rem = tileIdx % (tilesM * tilesN);
    int64_t i = rem / tilesN, j = rem % tilesN;
    int64_t mt = std::min(l.tm, g.m - i * l.tm), nt = std::min(l.tn, g.n - j * l.tn);
    int64_t kt = std::min(l.tk, g.k - kk * l.tk);
    SmallVector<int64_t> bi = unflatten(bIdx, g.batchShape);
    int buf = int(t % 2), acc = int(jt % 2);
    auto semOf = [&](unsigned kind) { return p.sem(ne, kind); };

    if (kk == 0 && hasBias) {
      Addr src = bias->plus(dot(bi, g.biasBatchStrides) + i * l.tm * g.biasStrideM +
                            j * l.tn * g.biasStrideN);
      int64_t d = g.biasMode == BiasMode::Row   ? p.desc(g.bias, DType::F32, {nt}, {g.biasStrideN}, {1})
                  : g.biasMode == BiasMode::Col ? p.desc(g.bias, DType::F32, {mt}, {g.biasStrideM}, {1})
                                                : p.desc(g.bias, DType::F32, {mt, nt},
                                                         {g.biasStrideM, g.biasStrideN}, {nt, 1});
      Inst in = p.dma(p.storeQueue(ne), true, src, l.bias[acc], d);
      ProgramBuilder::addWait(in, semOf(kEpi), jt - 1);
      p.setSignal(in, semOf(kBias));
      p.emit(in);
    }
    // A residual starts the accumulator (converted to f32 on the way in),
    // once the store of the tile that last used this accumulator is done.
    // Its queue completes it before the operand loads the mm waits for.
    if (kk == 0 && g.hasResidual) {
      Inst in = p.dma(p.loadQueue(ne), true,
                      residual->plus(bIdx * g.m * g.n + i * l.tm * g.n + j * l.tn), l.acc[acc],
                      p.desc(g.residual, DType::F32, {mt, nt}, {g.n, 1}, {nt, 1}));
      ProgramBuilder::addWait(in, semOf(kStore), jt - 1);
      p.emit(in);
    }
    // Operand tiles, converted to the compute type on the way in.
    int64_t lhsOff = dot(bi, g.lhsBatchStrides) +
                     (g.ta ? kk * l.tk * g.m + i * l.tm : i * l.tm * g.k + kk * l.tk);
    int64_t da = g.ta ? p.desc(g.lhs, g.compute, {kt, mt}, {g.m, 1}, {mt, 1})
                      : p.desc(g.lhs, g.compute, {mt, kt}, {g.k, 1}, {kt, 1});
    Inst la = p.dma(p.loadQueue(ne), true, lhs->plus(lhsOff), l.a[buf], da);
    ProgramBuilder::addWait(la, semOf(kMm), t - 1);
    p.emit(la);
    int64_t rhsOff = dot(bi, g.rhsBatchStrides) +
                     (g.tb ? j * l.tn * g.k + kk * l.tk : kk * l.tk * g.n + j * l.tn);
    int64_t db = g.tb ? p.desc(g.rhs, g.compute, {nt, kt}, {g.k, 1}, {kt, 1})
                      : p.desc(g.rhs, g.compute, {kt, nt}, {g.n, 1}, {nt, 1});
    Inst lb = p.dma(p.loadQueue(ne), true, rhs->plus(rhsOff), l.b[buf], db);
    p.setSignal(lb, semOf(kLoad));
    p.emit(lb);

    Inst mm(Opcode::Mm, uint8_t(ne));
    mm[Mm::c] = l.acc[acc];
    mm[Mm::a] = l.a[buf];
    mm[Mm::b] = l.b[buf];
    mm[Mm::m] = mt;
    mm[Mm::n] = nt;
    mm[Mm::k] = kt;
    mm[Mm::in] = int64_t(g.compute);
    mm[Mm::acc] = kk > 0 || g.hasResidual;
    mm[Mm::ta] = g.ta;
    mm[Mm::tb] = g.tb;
    ProgramBuilder::addWait(mm, semOf(kLoad), t + 1);
    if (kk == 0)
      ProgramBuilder::addWait(mm, semOf(kStore), jt - 1);
    p.setSignal(mm, semOf(kMm));
    p.emit(mm);
    if (kk + 1 < tilesK)
      return;

    // Epilogue on the accumulator, then the store (with a cast).
    SmallVector<Inst> epi;
    using isa::Bcast;
    int64_t a = l.acc[acc];
    if (hasBias && beta != 1.0f) {
      int64_t n = g.biasMode == BiasMode::Row ? nt : g.biasMode == BiasMode::Col ? mt : mt * nt;
      epi.push_back(ProgramBuilder::vec(Opcode::VMul, ne, l.bias[acc], l.bias[acc], 0, 1, n,
                                        Bcast::Imm, beta));
    }
    if (alpha != 1.0f)
      epi.push_back(ProgramBuilder::vec(Opcode::VMul, ne, a, a, 0, mt, nt, Bcast::Imm, alpha));
    if (hasBias)
      epi.push_back(ProgramBuilder::vec(Opcode::VAdd, ne, a, a, l.bias[acc], mt, nt,
                                        g.biasMode == BiasMode::Row   ? Bcast::Row
                                        : g.biasMode == BiasMode::Col ? Bcast::Col
                                                                      : Bcast::None));
    if (act != graph::Activation::None)
      epi.push_back(ProgramBuilder::vun(act == graph::Activation::Relu       ? Opcode::VRelu
                                        : act == graph::Activation::Sigmoid  ? Opcode::VSigmoid
                                        : act == graph::Activation::Gelu     ? Opcode::VGelu
                                        : act == graph::Activation::GeluTanh ? Opcode::VGeluTanh
                                        : act == graph::Activation::Silu     ? Opcode::VSilu
                                                                             : Opcode::VTanh,
                                        ne, a, a, mt, nt));
    Inst st = p.dma(p.storeQueue(ne), false,
                    out->plus(bIdx * g.m * g.n + i * l.tm * g.n + j * l.tn), a,
                    p.desc(DType::F32, g.out, {mt, nt}, {nt, 1}, {g.n, 1}));
    if (hasEpi) {
      ProgramBuilder::addWait(epi.front(), semOf(kMm), t + 1);
      if (hasBias)
        ProgramBuilder::addWait(epi.front(), semOf(kBias), jt + 1);
      p.setSignal(epi.back(), semOf(kEpi));
      for (const Inst &in : epi)
        p.emit(in);
      ProgramBuilder::addWait(st, semOf(kEpi), jt + 1);
    } else {
      ProgramBuilder::addWait(st, semOf(kMm), t + 1);
    }
    p.setSignal(st, semOf(kStore));
    p.emit(st);
  });
  p.endKernel();
  return success();
}

LogicalResult lowerElementwise(ProgramBuilder &p, ElementwiseOp op) {
  enum { kLoad, kVec, kStore, kNumSems };
  if (!op.getTile())
    return op.emitError("elementwise kernel has no tiles (run npu-tile-partition)");
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  auto geometry = ElementwiseGeometry::get(op);
  if (failed(geometry))
    return op.emitError("needs more than 4 strided dims");
  ElementwiseGeometry &g = *geometry;
  ElementwiseLayout l = layoutElementwise(g, (*op.getTile())[0], (*op.getTile())[1]);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tile needs ") << l.bytes << " bytes of SPM";
  SmallVector<Addr> ins;
  for (Value v : op.getInputs()) {
    auto a = p.addressOf(v);
    if (failed(a))
      return failure();
    ins.push_back(*a);
  }
  auto out = p.addressOf(op.getOut());
  if (failed(out))
    return failure();
  int64_t rb = ceilDiv(g.shape[2], l.rows), cb = ceilDiv(g.shape[3], l.cols);
  int64_t numTiles = g.shape[0] * g.shape[1] * rb * cb;
  unsigned numNe = p.t.num_ne();
  Opcode vop = Opcode::VCopy;
  switch (op.getKind()) {
#define RBLN_UNARY(ONNX, GRAPH_OP, NPU_KIND, ISA_OP)                          \
  case ElementwiseKind::NPU_KIND:                                              \
    vop = Opcode::ISA_OP;                                                      \
    break;
#define RBLN_BINARY RBLN_UNARY
#include "rbln/Support/ElementwiseOps.def"
  case ElementwiseKind::Gelu: vop = Opcode::VGelu; break;
  case ElementwiseKind::GeluTanh: vop = Opcode::VGeluTanh; break;
  case ElementwiseKind::Silu: vop = Opcode::VSilu; break;
  case ElementwiseKind::Clip: vop = Opcode::VMax; break; // then VMin, below
  case ElementwiseKind::Not: vop = Opcode::VCmpEq; break;    // x == 0
  case ElementwiseKind::NonZero: vop = Opcode::VCmpNe; break; // x != 0
  case ElementwiseKind::IsNan: vop = Opcode::VCmpNe; break;   // x != x
  case ElementwiseKind::Select: vop = Opcode::VSel; break;    // after dst = y
  case ElementwiseKind::Rotary: vop = Opcode::VMul; break;    // then VAdd, below
  case ElementwiseKind::Copy: break;
  }
  roundRobin(numNe, numTiles, 1, [&](unsigned ne, int64_t t) {
    int64_t idx = int64_t(ne) + t * numNe;
    SmallVector<int64_t> pos = unflatten(idx, {g.shape[0], g.shape[1], rb, cb});
    int64_t r0 = pos[2] * l.rows, c0 = pos[3] * l.cols;
    int64_t rt = std::min(l.rows, g.shape[2] - r0), ct = std::min(l.cols, g.shape[3] - c0);
    std::array<int64_t, 4> at{pos[0], pos[1], r0, c0};
    int buf = int(t % 2);
    for (size_t k = 0; k < ins.size(); ++k) {
      const auto &s = g.inStrides[k];
      int64_t d = p.desc(g.inTypes[k], DType::F32, {rt, ct}, {s[2], s[3]}, {ct, 1});
      Inst ld = p.dma(p.loadQueue(ne), true, ins[k].plus(dot(at, s)), l.in[k][size_t(buf)], d);
      if (k == 0)
        ProgramBuilder::addWait(ld, p.sem(ne, g.isCopy ? kStore : kVec), t - 1);
      if (k + 1 == ins.size())
        p.setSignal(ld, p.sem(ne, kLoad));
      p.emit(ld);
      if (g.rotary && k == 0) {
        // rotate_half's data movement is DMA: x's halves land swapped.
        int64_t h = ct / 2;
        int64_t hd = p.desc(g.inTypes[0], DType::F32, {rt, h}, {s[2], s[3]}, {ct, 1});
        p.emit(p.dma(p.loadQueue(ne), true, ins[0].plus(dot(at, s) + h * s[3]),
                     l.swapped[buf], hd));
        p.emit(p.dma(p.loadQueue(ne), true, ins[0].plus(dot(at, s)), l.swapped[buf] + 4 * h, hd));
      }
    }
    int64_t result = g.isCopy ? l.in[0][size_t(buf)] : l.out[buf];
    if (!g.isCopy) {
      SmallVector<Inst, 2> ops;
      int64_t in0 = l.in[0][size_t(buf)];
      if (op.getKind() == ElementwiseKind::Clip) {
        ArrayRef<float> bounds = *op.getBounds();
        ops.push_back(ProgramBuilder::vec(Opcode::VMax, ne, result, in0, 0, rt, ct,
                                          isa::Bcast::Imm, bounds[0]));
        ops.push_back(ProgramBuilder::vec(Opcode::VMin, ne, result, result, 0, rt, ct,
                                          isa::Bcast::Imm, bounds[1]));
      } else if (op.getKind() == ElementwiseKind::Not || op.getKind() == ElementwiseKind::NonZero) {
        ops.push_back(ProgramBuilder::vec(vop, ne, result, in0, 0, rt, ct, isa::Bcast::Imm, 0.0f));
      } else if (op.getKind() == ElementwiseKind::IsNan) {
        ops.push_back(ProgramBuilder::vec(vop, ne, result, in0, in0, rt, ct));
      } else if (g.rotary) {
        // out = x * cos + (swapped(x) * sign) * sin
        int64_t xs = l.swapped[buf];
        ops.push_back(ProgramBuilder::vec(Opcode::VMul, ne, xs, xs, l.in[3][size_t(buf)], rt, ct));
        ops.push_back(ProgramBuilder::vec(Opcode::VMul, ne, xs, xs, l.in[2][size_t(buf)], rt, ct));
        ops.push_back(ProgramBuilder::vec(Opcode::VMul, ne, result, in0, l.in[1][size_t(buf)], rt, ct));
        ops.push_back(ProgramBuilder::vec(Opcode::VAdd, ne, result, result, xs, rt, ct));
      } else if (op.getKind() == ElementwiseKind::Select) {
        ops.push_back(ProgramBuilder::vun(Opcode::VCopy, ne, result, l.in[2][size_t(buf)], rt, ct));
        ops.push_back(ProgramBuilder::vec(vop, ne, result, in0, l.in[1][size_t(buf)], rt, ct));
      } else if (isBinary(op.getKind())) {
        ops.push_back(ProgramBuilder::vec(vop, ne, result, in0, l.in[1][size_t(buf)], rt, ct));
      } else {
        ops.push_back(ProgramBuilder::vun(vop, ne, result, in0, rt, ct));
      }
      ProgramBuilder::addWait(ops.front(), p.sem(ne, kLoad), t + 1);
      ProgramBuilder::addWait(ops.front(), p.sem(ne, kStore), t - 1);
      p.setSignal(ops.back(), p.sem(ne, kVec));
      for (const Inst &v : ops)
        p.emit(v);
    }
    int64_t d = p.desc(DType::F32, g.outType, {rt, ct}, {ct, 1}, {g.outStrides[2], g.outStrides[3]});
    Inst st = p.dma(p.storeQueue(ne), false, out->plus(dot(at, g.outStrides)), result, d);
    ProgramBuilder::addWait(st, p.sem(ne, g.isCopy ? kLoad : kVec), t + 1);
    p.setSignal(st, p.sem(ne, kStore));
    p.emit(st);
  });
  p.endKernel();
  return success();
}

/// FlashAttention. Work items (batch, head, query tile) are spread over the
/// NEs; each NE's command blocks (item start, one block per KV tile, item
/// end) are emitted round-robin across NEs so that they run in parallel.
/// Per NE, semaphores order the engines (counts are absolute within the
/// kernel): kQ query tile and initial statistics loaded; kLoad K/V/mask tile
/// t loaded; kMm1 S = Q K^T done; kVec softmax update done; kMm2 O += P V
/// done; kFin O / l done; kStore O stored.
/// The end of an online-softmax item on NE `ne`: O /= l, rows whose l is 0
/// (every key masked) giving 0; `z` and `t` are scratch rows. The caller adds
/// the first instruction's waits and the last one's signal.
SmallVector<Inst> normalizeRows(unsigned ne, int64_t o, int64_t lRow, int64_t z, int64_t t,
                                int64_t rows, int64_t dv) {
  using isa::Bcast;
  return {ProgramBuilder::vec(Opcode::VCmpEq, ne, z, lRow, 0, 1, rows, Bcast::Imm, 0.0f),
          ProgramBuilder::vun(Opcode::VRecip, ne, t, lRow, 1, rows),
          ProgramBuilder::vec(Opcode::VSel, ne, t, z, 0, 1, rows, Bcast::Imm, 0.0f),
          ProgramBuilder::vec(Opcode::VMul, ne, o, o, t, rows, dv, Bcast::Col)};
}

LogicalResult lowerFlash(ProgramBuilder &p, FlashAttentionOp op) {
  using namespace isa::fld;
  using isa::Bcast;
  enum { kQ, kLoad, kMm1, kVec, kMm2, kFin, kStore, kNumSems };
  if (!op.getTile())
    return op.emitError("flash attention has no tiles (run npu-tile-partition)");
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  FlashGeometry g = FlashGeometry::get(op);
  ArrayRef<int64_t> tile = *op.getTile();
  FlashLayout l = layoutFlash(g, tile[0], tile[1], tile.size() > 2 && tile[2], tile.size() > 2 && tile[2] == 2);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tiles need ") << l.bytes << " bytes of SPM";
  auto q = p.addressOf(op.getQ()), k = p.addressOf(op.getK()), v = p.addressOf(op.getV()),
       consts = p.addressOf(op.getConsts()), out = p.addressOf(op.getOut());
  if (failed(q) || failed(k) || failed(v) || failed(consts) || failed(out))
    return failure();
  FailureOr<Addr> mask = Addr{0, 0, DType::F32};
  if (g.hasMask && failed(mask = p.addressOf(op.getMask())))
    return failure();
  // Element offset of row `row` of head `h` of batch `bi` through an
  // operand's strides; a unit is one (batch, KV head).
  auto at = [](const std::array<int64_t, 4> &s, int64_t bi, int64_t h, int64_t row) {
    return bi * s[0] + h * s[1] + row * s[2];
  };
  auto unitAt = [&](const std::array<int64_t, 4> &s, int64_t u, int64_t row) {
    return at(s, u / g.hkv, u % g.hkv, row);
  };
  bool rowMask = g.hasMask && g.maskStrides[2] == 0;
  float scale = op.getScale().convertToFloat(), softcap = op.getSoftcap().convertToFloat();
  bool causal = op.getCausal();
  int64_t off = op.getCausalOffset();
  int64_t group = g.hq / g.hkv, qTiles = ceilDiv(g.sq, l.tq), items = g.b * g.hq * qTiles;
  unsigned numNe = p.t.num_ne();
  auto vec = [](auto... a) { return ProgramBuilder::vec(a...); }; // (keeps vec's defaults)
  auto vun = ProgramBuilder::vun;

  struct NeState {
    int64_t item = 0, step = 0, loads = 0; ///< loads: kLoad signals so far
    int64_t unit = 0;      ///< resident K/V units started on this NE
    int64_t unitLoads = 0; ///< kLoad count that covers the current unit's K/V
    /// Double-buffered: chunks of the next unit's K/V still to issue, one
    /// per item start, and their rows.
    SmallVector<SmallVector<Inst>> prefetch;
    int64_t prefetchLoads = 0; ///< kLoad count once the prefetched unit is in
    int64_t buf = 0;           ///< resident area of the current unit
    /// The previous item's last softmax step and its end, emitted after this
    /// item's first S = QK^T so the tensor engine does not wait for them.
    SmallVector<Inst> pendingTail;
    SmallVector<int64_t> stepsAfter; ///< steps (= mm1 count) after each local item
    SmallVector<SmallVector<Inst>> blocks;
  };
  std::vector<NeState> nes(numNe);
  // Work items (NE, batch, head, query tile, first of its KV unit). With K/V
  // resident, all query tiles of the heads sharing a KV head go to one NE.
  struct Work {
    unsigned ne;
    int64_t bi, hi, qt;
    bool unitStart;
  };
  SmallVector<Work> work;
  if (l.kvResident) {
    for (int64_t u = 0; u < g.b * g.hkv; ++u)
      for (int64_t gi = 0; gi < group; ++gi)
        for (int64_t qt = 0; qt < qTiles; ++qt)
          work.push_back({unsigned(u % numNe), u / g.hkv, (u % g.hkv) * group + gi, qt,
                          gi == 0 && qt == 0});
  } else {
    for (int64_t i = 0; i < items; ++i)
      work.push_back({unsigned(i % numNe), i / (g.hq * qTiles), (i / qTiles) % g.hq, i % qTiles, false});
  }
  for (const Work &w : work) {
    unsigned ne = w.ne;
    NeState &st = nes[ne];
    auto sem = [&](unsigned kind) { return p.sem(ne, kind); };
    int64_t bi = w.bi, hi = w.hi, qt = w.qt;
    int64_t q0 = qt * l.tq, rq = std::min(l.tq, g.sq - q0), kvh = hi / group, item = st.item;
    int64_t ob = l.o[item % 2], qb = l.q[item % 2];
    // m, l, alpha rows of this item's rq rows (v.softmax_step's layout).
    int64_t statsBuf = l.stats[item % 2];
    int64_t mRow = statsBuf, lRow = statsBuf + 4 * rq, alphaRow = statsBuf + 8 * rq;
    if (w.unitStart) {
      int64_t u = bi * g.hkv + kvh;
      st.buf = l.kvDouble ? st.unit % 2 : 0;
      if (!l.kvDouble || st.unit == 0) {
        // This (batch, KV head)'s K and V, once, after every use of the last
        // (whose commands must all be dispatched first: no lookahead here).
        if (!st.pendingTail.empty())
          st.blocks.push_back(std::move(st.pendingTail)), st.pendingTail.clear();
        SmallVector<Inst> kvLoad;
        Inst kLd = p.dma(p.loadQueue(ne), true, k->plus(unitAt(g.ks, u, 0)), l.kRes[st.buf],
                         p.desc(g.k, g.compute, {g.sk, g.d}, {g.ks[2], 1}, {g.d, 1}));
        ProgramBuilder::addWait(kLd, sem(kMm2), st.step);
        kvLoad.push_back(kLd);
        Inst vLd = p.dma(p.loadQueue(ne), true, v->plus(unitAt(g.vs, u, 0)), l.vRes[st.buf],
                         p.desc(g.v, g.compute, {g.sk, g.dv}, {g.vs[2], 1}, {g.dv, 1}));
        p.setSignal(vLd, sem(kLoad));
        ++st.loads;
        kvLoad.push_back(vLd);
        st.blocks.push_back(std::move(kvLoad));
        st.unitLoads = st.loads;
      } else {
        // Prefetched during the last unit; its last chunks go out now.
        for (auto &chunk : st.prefetch)
          st.blocks.push_back(std::move(chunk));
        st.prefetch.clear();
        st.unitLoads = st.prefetchLoads;
      }
      ++st.unit;
      // The next unit of this NE, into the other area, in chunks issued one
      // per item start so the query tiles' loads are not held up; the first
      // waits until the unit before this one is done with that area.
      int64_t next = u + int64_t(numNe);
      if (l.kvDouble && next < g.b * g.hkv) {
        int64_t nChunks = std::min<int64_t>(group * qTiles, 8), rows = ceilDiv(g.sk, nChunks);
        for (int64_t c = 0; c * rows < g.sk; ++c) {
          int64_t r0 = c * rows, rn = std::min(rows, g.sk - r0);
          SmallVector<Inst> chunk;
          Inst kc = p.dma(p.loadQueue(ne), true, k->plus(unitAt(g.ks, next, r0)),
                          l.kRes[1 - st.buf] + r0 * g.d * dtypeSize(g.compute),
                          p.desc(g.k, g.compute, {rn, g.d}, {g.ks[2], 1}, {g.d, 1}));
          if (c == 0)
            ProgramBuilder::addWait(kc, sem(kMm2), st.step);
          chunk.push_back(kc);
          chunk.push_back(p.dma(p.loadQueue(ne), true, v->plus(unitAt(g.vs, next, r0)),
                                l.vRes[1 - st.buf] + r0 * g.dv * dtypeSize(g.compute),
                                p.desc(g.v, g.compute, {rn, g.dv}, {g.vs[2], 1}, {g.dv, 1})));
          st.prefetch.push_back(std::move(chunk));
        }
        // The last chunk signals: that count covers the whole unit.
        p.setSignal(st.prefetch.back().back(), sem(kLoad));
        st.prefetchLoads = ++st.loads;
      }
    }

    // Item start: O = 0, m = -inf, l = 0 (stride-0 DMAs of the constants),
    // then the query tile.
    SmallVector<Inst> start;
    // KV tiles up to the last key any query of the tile may see.
    int64_t kEnd = causal ? std::clamp<int64_t>(q0 + rq + off, 0, g.sk) : g.sk;
    int64_t nk = ceilDiv(kEnd, l.tk);
    // Sliding window: tiles wholly before the first row's window are skipped.
    int64_t window = op.getWindow();
    int64_t j0 = window > 0 ? std::clamp<int64_t>(q0 + off - window + 1, 0, g.sk) / l.tk : 0;
    if (nk <= j0) { // no key visible: O stays 0 (else the first P V overwrites O)
      Inst oInit = p.dma(p.loadQueue(ne), true, *consts, ob,
                         p.desc(DType::F32, DType::F32, {rq * g.dv}, {0}, {1}));
      ProgramBuilder::addWait(oInit, sem(kStore), item - 1);
      start.push_back(oInit);
    }
    if (item == 0) { // rows of 0 and -inf for the running statistics, once per NE
      start.push_back(p.dma(p.loadQueue(ne), true, *consts, l.zeros,
                            p.desc(DType::F32, DType::F32, {l.tq}, {0}, {1})));
      start.push_back(p.dma(p.loadQueue(ne), true, consts->plus(1), l.negInf,
                            p.desc(DType::F32, DType::F32, {l.tq}, {0}, {1})));
    }
    Inst qLoad = p.dma(p.loadQueue(ne), true, q->plus(at(g.qs, bi, hi, q0)), qb,
                       p.desc(g.q, g.compute, {rq, g.d}, {g.qs[2], 1}, {g.d, 1}));
    if (item >= 2)
      ProgramBuilder::addWait(qLoad, sem(kMm1), st.stepsAfter[size_t(item - 2)]);
    p.setSignal(qLoad, sem(kQ));
    start.push_back(qLoad);
    if (!st.prefetch.empty()) { // a chunk of the next unit's K/V, behind this Q
      start.append(st.prefetch.front().begin(), st.prefetch.front().end());
      st.prefetch.erase(st.prefetch.begin());
    }
    // m = -inf, l = 0 (the vector queue has finished the previous item).
    Inst mInit = vun(Opcode::VCopy, ne, mRow, l.negInf, 1, rq);
    ProgramBuilder::addWait(mInit, sem(kQ), item + 1);
    start.push_back(mInit);
    start.push_back(vun(Opcode::VCopy, ne, lRow, l.zeros, 1, rq));

    // Software pipelined: the tensor engine computes S(t+1) = Q K(t+1)^T
    // (into the other S buffer) while the vector engine runs the softmax of
    // tile t.
    int64_t t0 = st.step;
    DType ct = g.compute;
    // Loads of tile t and S(t) = Q K(t)^T.
    int64_t ceSize = dtypeSize(ct);
    auto kTile = [&](int64_t j, int64_t t) {
      return l.kvResident ? l.kRes[st.buf] + j * l.tk * g.d * ceSize : l.k[t % 2];
    };
    auto vTile = [&](int64_t j, int64_t t) {
      return l.kvResident ? l.vRes[st.buf] + j * l.tk * g.dv * ceSize : l.v[t % 2];
    };
    auto loadAndScore = [&](int64_t j) {
      int64_t k0 = j * l.tk, rk = std::min(l.tk, g.sk - k0), t = t0 + j - j0;
      int64_t kb = kTile(j, t), vb = vTile(j, t), mb = l.mask[t % 2];
      SmallVector<Inst> blk;
      if (!l.kvResident) {
        blk.push_back(p.dma(p.loadQueue(ne), true, k->plus(at(g.ks, bi, kvh, k0)), kb,
                            p.desc(g.k, ct, {rk, g.d}, {g.ks[2], 1}, {g.d, 1})));
        blk.push_back(p.dma(p.loadQueue(ne), true, v->plus(at(g.vs, bi, kvh, k0)), vb,
                            p.desc(g.v, ct, {rk, g.dv}, {g.vs[2], 1}, {g.dv, 1})));
      }
      if (g.hasMask) {
        // A mask that is the same for every query row: one row per tile.
        const auto &ms = g.maskStrides;
        blk.push_back(p.dma(p.loadQueue(ne), true,
                            mask->plus(bi * ms[0] + hi * ms[1] + q0 * ms[2] + k0 * ms[3]), mb,
                            p.desc(g.mask, DType::F32, {rowMask ? 1 : rq, rk}, {ms[2], ms[3]}, {rk, 1})));
      }
      if (!blk.empty()) {
        ProgramBuilder::addWait(blk.front(), sem(kMm2), t - 1); // tile t-2's buffers are consumed
        p.setSignal(blk.back(), sem(kLoad));
        ++st.loads;
      }
      Inst mm1(Opcode::Mm, uint8_t(ne));
      mm1[Mm::c] = l.s[t % 2], mm1[Mm::a] = qb, mm1[Mm::b] = kb;
      mm1[Mm::m] = rq, mm1[Mm::n] = rk, mm1[Mm::k] = g.d;
      mm1[Mm::in] = int64_t(ct), mm1[Mm::acc] = 0, mm1[Mm::ta] = 0, mm1[Mm::tb] = 1;
      ProgramBuilder::addWait(mm1, sem(kLoad), l.kvDouble ? st.unitLoads : st.loads);
      ProgramBuilder::addWait(mm1, sem(kQ), item + 1);
      p.setSignal(mm1, sem(kMm1));
      blk.push_back(mm1);
      return blk;
    };
    // The online-softmax update of tile t and O += P(t) V(t).
    auto softmaxAndAccumulate = [&](int64_t j) {
      int64_t k0 = j * l.tk, rk = std::min(l.tk, g.sk - k0), t = t0 + j - j0;
      int64_t sb = l.s[t % 2], vb = vTile(j, t), mb = l.mask[t % 2];
      SmallVector<Inst> ops;
      // Scale inside v.softmax_step unless softcap or a mask must see the
      // scaled scores first (the causal mask's -inf is unchanged by it).
      bool separateScale = softcap > 0 || g.hasMask || !(scale > 0);
      if (separateScale)
        ops.push_back(vec(Opcode::VMul, ne, sb, sb, 0, rq, rk, Bcast::Imm, scale));
      if (softcap > 0) {
        ops.push_back(vec(Opcode::VMul, ne, sb, sb, 0, rq, rk, Bcast::Imm, 1.0f / softcap));
        ops.push_back(vun(Opcode::VTanh, ne, sb, sb, rq, rk));
        ops.push_back(vec(Opcode::VMul, ne, sb, sb, 0, rq, rk, Bcast::Imm, softcap));
      }
      if (g.hasMask)
        ops.push_back(vec(Opcode::VAdd, ne, sb, sb, mb, rq, rk, rowMask ? Bcast::Row : Bcast::None));
      if (causal && k0 + rk - 1 > q0 + off) { // the diagonal crosses this tile
        Inst mu(Opcode::VMaskUpper, uint8_t(ne));
        mu[VMaskUpper::dst] = sb, mu[VMaskUpper::src] = sb, mu[VMaskUpper::rows] = rq;
        mu[VMaskUpper::cols] = rk, mu[VMaskUpper::diag] = q0 + off - k0;
        ops.push_back(mu);
      }
      if (window > 0 && k0 <= q0 + rq - 1 + off - window) { // the window's lower edge crosses it
        Inst lo(Opcode::VMaskUpper, uint8_t(ne));
        lo[VMaskUpper::dst] = sb, lo[VMaskUpper::src] = sb, lo[VMaskUpper::rows] = rq;
        lo[VMaskUpper::cols] = rk, lo[VMaskUpper::diag] = q0 + off - window + 1 - k0;
        lo[VMaskUpper::lower] = 1;
        ops.push_back(lo);
      }
      // The online softmax in one pass: m, l updated, alpha = exp(m_old -
      // m_new), S -> P (a row with no key yet keeps m = -inf, l = 0).
      Inst sm(Opcode::VSoftmaxStep, uint8_t(ne));
      sm[VSoftmaxStep::s] = sb, sm[VSoftmaxStep::stats] = statsBuf, sm[VSoftmaxStep::rows] = rq;
      sm[VSoftmaxStep::cols] = rk;
      sm[VSoftmaxStep::scale] = int64_t(floatBits(separateScale ? 1.0f : scale));
      ops.push_back(sm);
      int64_t pb = sb;
      if (ct != DType::F32) { // P in the tensor engine's input type
        pb = l.p[t % 2];
        ops.push_back(ProgramBuilder::vcast(ne, pb, sb, rq, rk, DType::F32, ct));
      }
      ProgramBuilder::addWait(ops.front(), sem(kMm1), t + 1);
      ProgramBuilder::addWait(ops.front(), sem(kMm2), t - 1); // P(t-2) V(t-2) has read this P buffer
      if (j > j0) { // O *= alpha once O holds P(t-1) V(t-1); the first P V overwrites O
        Inst rescale = vec(Opcode::VMul, ne, ob, ob, alphaRow, rq, g.dv, Bcast::Col);
        ProgramBuilder::addWait(rescale, sem(kMm2), t);
        ops.push_back(rescale);
      }
      p.setSignal(ops.back(), sem(kVec));
      Inst mm2(Opcode::Mm, uint8_t(ne));
      mm2[Mm::c] = ob, mm2[Mm::a] = pb, mm2[Mm::b] = vb;
      mm2[Mm::m] = rq, mm2[Mm::n] = g.dv, mm2[Mm::k] = rk;
      mm2[Mm::in] = int64_t(ct), mm2[Mm::acc] = j > j0, mm2[Mm::ta] = 0, mm2[Mm::tb] = 0;
      ProgramBuilder::addWait(mm2, sem(kVec), t + 1);
      if (j == j0) // O's buffer is free once item-2's output is stored
        ProgramBuilder::addWait(mm2, sem(kStore), item - 1);
      p.setSignal(mm2, sem(kMm2));
      ops.push_back(mm2);
      return ops;
    };
    // This item's start and first S, then the previous item's tail.
    if (nk > j0)
      start.append(loadAndScore(j0));
    start.append(st.pendingTail.begin(), st.pendingTail.end());
    st.pendingTail.clear();
    st.blocks.push_back(std::move(start));
    SmallVector<Inst> tail;
    for (int64_t j = j0; j < nk; ++j) {
      SmallVector<Inst> blk;
      if (j + 1 < nk)
        blk = loadAndScore(j + 1);
      blk.append(softmaxAndAccumulate(j));
      if (j + 1 < nk)
        st.blocks.push_back(std::move(blk));
      else
        tail = std::move(blk);
    }
    st.step += std::max<int64_t>(nk - j0, 0);

    // Item end: O / l, zero where l = 0 (every key masked), then the store.
    SmallVector<Inst> end = normalizeRows(ne, ob, lRow, l.z, l.t, rq, g.dv);
    ProgramBuilder::addWait(end.front(), sem(kMm2), st.step);
    ProgramBuilder::addWait(end.front(), sem(kQ), item + 1);
    p.setSignal(end.back(), sem(kFin));
    Inst stO = p.dma(p.storeQueue(ne), false, out->plus(at(g.os, bi, hi, q0)), ob,
                     p.desc(DType::F32, g.out, {rq, g.dv}, {g.dv, 1}, {g.os[2], 1}));
    ProgramBuilder::addWait(stO, sem(kFin), item + 1);
    p.setSignal(stO, sem(kStore));
    end.push_back(stO);
    tail.append(end.begin(), end.end());
    st.pendingTail = std::move(tail);
    st.stepsAfter.push_back(st.step);
    ++st.item;
  }
  for (NeState &st : nes)
    if (!st.pendingTail.empty())
      st.blocks.push_back(std::move(st.pendingTail));
  size_t rounds = 0;
  for (const NeState &st : nes)
    rounds = std::max(rounds, st.blocks.size());
  for (size_t r = 0; r < rounds; ++r)
    for (const NeState &st : nes)
      if (r < st.blocks.size())
        for (const Inst &in : st.blocks[r])
          p.emit(in);
  p.endKernel();
  return success();
}

/// Appends this step's K/V rows to the paged caches: per token the CP loads
/// its position and block id and the store DMA takes the slot's address from
/// a register (dynamic DMA).
LogicalResult lowerKvCacheWrite(ProgramBuilder &p, KvCacheWriteOp op) {
  using namespace isa::fld;
  enum { kLoad, kStore, kNumSems };
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  MemRefType kt = op.getK().getType(), vt = op.getV().getType(), kc = op.getKCache().getType(),
             vc = op.getVCache().getType();
  int64_t B = kt.getDimSize(0), H = kt.getDimSize(1), S = kt.getDimSize(2), D = kt.getDimSize(3),
          Dv = vt.getDimSize(3), bs = kc.getDimSize(2),
          W = op.getBlockTable().getType().getDimSize(1);
  DType kd = dtypeOf(kt.getElementType()), vd = dtypeOf(vt.getElementType()),
        kcd = dtypeOf(kc.getElementType()), vcd = dtypeOf(vc.getElementType());
  int64_t kRow = H * D * dtypeSize(kd), vRow = H * Dv * dtypeSize(vd);
  int64_t buf[2][2] = {{0, alignTo(kRow, 64)}, {0, 0}};
  buf[1][0] = alignTo(buf[0][1] + vRow, 64);
  buf[1][1] = alignTo(buf[1][0] + kRow, 64);
  if (uint64_t(alignTo(buf[1][1] + vRow, 64)) > p.t.spm_bytes())
    return op.emitError("one token's K/V row (") << kRow + vRow << " bytes) does not fit the scratchpad";
  auto k = p.addressOf(op.getK()), v = p.addressOf(op.getV()), pos = p.addressOf(op.getPositions()),
       table = p.addressOf(op.getBlockTable()), kCache = p.addressOf(op.getKCache()),
       vCache = p.addressOf(op.getVCache());
  if (failed(k) || failed(v) || failed(pos) || failed(table) || failed(kCache) || failed(vCache))
    return failure();
  auto numBlocks = p.leadingDimOf(op.getKCache());
  auto rMax = p.scratchReg(), rPos = p.scratchReg(), rBlk = p.scratchReg(), rSlot = p.scratchReg(),
       rA = p.scratchReg();
  if (failed(numBlocks) || failed(rMax) || failed(rPos) || failed(rBlk) || failed(rSlot) || failed(rA))
    return failure();
  p.emit(p.li(*rMax, W * bs));
  int64_t log2bs = llvm::Log2_64(uint64_t(bs));
  int64_t kDesc = p.desc(kd, kd, {H, D}, {S * D, 1}, {D, 1});
  int64_t vDesc = p.desc(vd, vd, {H, Dv}, {S * Dv, 1}, {Dv, 1});
  int64_t kStDesc = p.desc(kd, kcd, {H, D}, {D, 1}, {bs * D, 1});
  int64_t vStDesc = p.desc(vd, vcd, {H, Dv}, {Dv, 1}, {bs * Dv, 1});
  unsigned numNe = p.t.num_ne();
  roundRobin(numNe, B * S, 1, [&](unsigned ne, int64_t t) {
    int64_t tok = int64_t(ne) + t * numNe, bi = tok / S, si = tok % S;
    const int64_t *bb = buf[t % 2];
    Inst lk = p.dma(p.loadQueue(ne), true, k->plus((bi * H * S + si) * D), bb[0], kDesc);
    ProgramBuilder::addWait(lk, p.sem(ne, kStore), 2 * (t - 1)); // this buffer's last stores
    p.emit(lk);
    Inst lv = p.dma(p.loadQueue(ne), true, v->plus((bi * H * S + si) * Dv), bb[1], vDesc);
    p.setSignal(lv, p.sem(ne, kLoad));
    p.emit(lv);
    // position -> (block id, slot) -> the slot's address in each cache
    p.emit(p.load(Opcode::Ld64, *rPos, pos->reg, pos->off + (bi * S + si) * 8, pos->space));
    p.checkRange(*rPos, *rMax, 2);
    p.emit(ProgramBuilder::alu(Opcode::Shr, *rBlk, *rPos, 0, log2bs));
    p.emit(ProgramBuilder::alu(Opcode::Shl, *rBlk, *rBlk, 0, 2));
    p.emit(ProgramBuilder::alu(Opcode::Add, *rBlk, *rBlk, table->reg, 0));
    p.emit(p.load(Opcode::Ld32, *rBlk, *rBlk, table->off + bi * W * 4, table->space));
    p.checkRange(*rBlk, *numBlocks, 3);
    p.emit(ProgramBuilder::alu(Opcode::And, *rSlot, *rPos, 0, bs - 1));
    for (int kv = 0; kv < 2; ++kv) {
      int64_t dd = kv ? Dv : D, ce = dtypeSize(kv ? vcd : kcd);
      const Addr &cache = kv ? *vCache : *kCache;
      p.emit(ProgramBuilder::alu(Opcode::Mul, *rA, *rBlk, 0, H * bs * dd * ce));
      p.emit(ProgramBuilder::alu(Opcode::Add, *rA, *rA, cache.reg, 0));
      Inst st = p.dma(p.storeQueue(ne), false, Addr{*rA, cache.off, kv ? vcd : kcd}, bb[kv],
                      kv ? vStDesc : kStDesc);
      // The slot within the block: rA += slot * row bytes (after the block).
      Inst mulSlot = ProgramBuilder::alu(Opcode::Mul, *rPos, *rSlot, 0, dd * ce);
      p.emit(mulSlot);
      p.emit(ProgramBuilder::alu(Opcode::Add, *rA, *rA, *rPos, 0));
      if (kv == 0)
        ProgramBuilder::addWait(st, p.sem(ne, kLoad), t + 1);
      p.setSignal(st, p.sem(ne, kStore));
      p.emit(st);
    }
  });
  p.endKernel();
  return success();
}

/// A run of instructions whose branch targets are relative to its start
/// (fixed up when emitted).
struct Section {
  SmallVector<Inst> insts;
  SmallVector<std::pair<size_t, int64_t>> fixups; ///< (instruction, target within the section)
  size_t uncountedFrom = ~size_t(0); ///< signals from here on stand in for earlier ones
  void emitInto(ProgramBuilder &p) {
    int64_t base = p.pc;
    for (auto [i, rel] : fixups) {
      Inst &in = insts[i];
      in[in.op == Opcode::Jmp ? unsigned(isa::fld::Jmp::target) : unsigned(isa::fld::Blt::target)] = base + rel;
    }
    for (size_t i = 0; i < insts.size(); ++i)
      p.emit(insts[i], i < uncountedFrom);
  }
};

/// Paged attention (decode and chunked prefill) over block tables; see the
/// op's description. Work items are spread round-robin over the NEs and
/// their KV partitions interleaved, one partition of every NE in turn; each
/// partition is a section that a run-time branch may skip.
LogicalResult lowerPaged(ProgramBuilder &p, PagedAttentionOp op) {
  using namespace isa::fld;
  using isa::Bcast;
  enum { kQ, kLoad, kMm1, kVec, kMm2, kFin, kStore, kNumSems };
  if (!op.getTile())
    return op.emitError("paged attention has no tiles (run npu-tile-partition)");
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  PagedGeometry g = PagedGeometry::get(op);
  ArrayRef<int64_t> tile = *op.getTile();
  int64_t splits = tile.size() > 2 ? tile[2] : 1;
  auto q = p.addressOf(op.getQ()), kCache = p.addressOf(op.getKCache()),
       vCache = p.addressOf(op.getVCache()), table = p.addressOf(op.getBlockTable()),
       pos = p.addressOf(op.getPositions()), consts = p.addressOf(op.getConsts()),
       out = p.addressOf(op.getOut());
  if (failed(q) || failed(kCache) || failed(vCache) || failed(table) || failed(pos) ||
      failed(consts) || failed(out))
    return failure();
  auto numBlocks = p.leadingDimOf(op.getKCache());
  auto rK0 = p.scratchReg(), rBlk = p.scratchReg(), rA = p.scratchReg();
  if (failed(numBlocks) || failed(rK0) || failed(rBlk) || failed(rA))
    return failure();
  // Sliding window: partitions relative to each item's window start (a
  // register), so a step visits the partitions of its window only.
  int64_t window = op.getWindow();
  if (window > 0 && (tile[1] % g.blockSize))
    return op.emitError("a sliding-window layer needs KV partitions of whole blocks");
  // Per NE: the position of its item's first query row, and with a window
  // the first partition's start (NEs beyond the free registers stay idle).
  unsigned perNe = window > 0 ? 2 : 1;
  unsigned numNe = std::min<unsigned>(p.t.num_ne(), (isa::kNumRegs - p.nextReg) / perNe);
  SmallVector<unsigned> rPos, rWin;
  for (unsigned n = 0; n < numNe; ++n) {
    auto a = p.scratchReg();
    if (failed(a))
      return failure();
    rPos.push_back(*a);
    if (window > 0) {
      auto w = p.scratchReg();
      if (failed(w))
        return failure();
      rWin.push_back(*w);
    }
  }
  if (window > 0)
    splits = 1;
  // Flash-decoding needs every split of every item in one round.
  if (splits > 1 && g.b * g.hkv * splits > int64_t(numNe))
    splits = std::max<int64_t>(1, int64_t(numNe) / (g.b * g.hkv));
  PagedLayout l = layoutPaged(g, tile[0], tile[1], splits);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tiles need ") << l.bytes << " bytes of SPM";
  float scale = op.getScale().convertToFloat(), softcap = op.getSoftcap().convertToFloat();
  int64_t group = g.hq / g.hkv, rowsMax = g.itemRows(l.tq);
  int64_t qTiles = g.decode() ? 1 : ceilDiv(g.s, l.tq);
  int64_t items = g.decode() ? g.b * g.hkv * splits : g.b * g.hq * qTiles;
  int64_t partial = PagedLayout::partialBytes(g, rowsMax);
  if (splits > 1 && uint64_t(items * partial) > p.t.shm_bytes())
    return op.emitError("flash-decoding partials need ") << items * partial << " bytes of SHM";
  // A partition spans whole blocks, or (shorter than a block) a run of one
  // block's slots: `run` rows per DMA.
  int64_t numTiles = ceilDiv(g.maxSeqLen(), l.tk);
  if (window > 0) // the window and an item's rows, aligned down to a partition
    numTiles = std::min(numTiles, ceilDiv(window + rowsMax - 1, l.tk) + 1);
  int64_t run = std::min(l.tk, g.blockSize), blocksPerTile = l.tk / run;
  DType ct = g.compute;
  int64_t ce = dtypeSize(ct), cacheEs = dtypeSize(g.cache);
  int64_t kBlockBytes = g.hkv * g.blockSize * g.d * cacheEs, vBlockBytes = g.hkv * g.blockSize * g.dv * cacheEs;
  int64_t kDesc = p.desc(g.cache, ct, {run, g.d}, {g.d, 1}, {g.d, 1});
  int64_t vDesc = p.desc(g.cache, ct, {run, g.dv}, {g.dv, 1}, {g.dv, 1});
  int64_t emptyDesc = p.desc(DType::F32, DType::F32, {0}, {1}, {1});
  auto vec = [](auto... a) { return ProgramBuilder::vec(a...); }; // (keeps vec's defaults)
  auto vun = ProgramBuilder::vun;

  struct Item {
    int64_t bi, kvh, h0, s0, rows;
    int64_t split = 0; ///< flash-decoding: which part of the partitions
  };
  auto itemOf = [&](int64_t i) -> Item {
    if (g.decode()) {
      int64_t u = i / splits;
      return {u / g.hkv, u % g.hkv, (u % g.hkv) * group, 0, group, i % splits};
    }
    int64_t bi = i / (g.hq * qTiles), h = (i / qTiles) % g.hq, s0 = (i % qTiles) * l.tq;
    return {bi, h / group, h, s0, std::min(l.tq, g.s - s0)};
  };
  // Partitions per split; a split's partitions are consecutive.
  int64_t perSplit = ceilDiv(numTiles, splits);
  auto shmDma = [&](unsigned queue, bool toShm, int64_t shmOff, int64_t spmOff, int64_t descId) {
    return p.dma(queue, !toShm, Addr{0, shmOff, DType::F32, isa::Space::Shm}, spmOff, descId);
  };
  int64_t rounds = ceilDiv(items, int64_t(numNe));
  SmallVector<int64_t> steps(numNe, 0); // KV partitions (taken or credited) so far per NE
  for (int64_t r = 0; r < rounds; ++r) {
    // Item start on every NE of this round.
    for (unsigned ne = 0; ne < numNe; ++ne) {
      int64_t i = r * numNe + ne;
      if (i >= items)
        continue;
      Item it = itemOf(i);
      auto sem = [&](unsigned kind) { return p.sem(ne, kind); };
      p.emit(p.load(Opcode::Ld64, rPos[ne], pos->reg, pos->off + (it.bi * g.s + it.s0) * 8, pos->space));
      if (window > 0) { // first partition: max(0, pos - window + 1) aligned down
        p.emit(ProgramBuilder::alu(Opcode::Add, rWin[ne], rPos[ne], 0, 1 - window));
        p.emit(ProgramBuilder::alu(Opcode::Max, rWin[ne], rWin[ne], 0, 0));
        p.emit(ProgramBuilder::alu(Opcode::Div, rWin[ne], rWin[ne], 0, l.tk));
        p.emit(ProgramBuilder::alu(Opcode::Mul, rWin[ne], rWin[ne], 0, l.tk));
      }
      if (r == 0) {
        p.emit(p.dma(p.loadQueue(ne), true, *consts, l.zeros,
                     p.desc(DType::F32, DType::F32, {rowsMax}, {0}, {1})));
        p.emit(p.dma(p.loadQueue(ne), true, consts->plus(1), l.negInf,
                     p.desc(DType::F32, DType::F32, {rowsMax}, {0}, {1})));
      }
      // Q rows: the group's heads (decode) or a tile of one head's tokens.
      Inst qLoad = p.dma(p.loadQueue(ne), true, q->plus(((it.bi * g.hq + it.h0) * g.s + it.s0) * g.d),
                         l.q, p.desc(g.q, ct, {it.rows, g.d}, {g.decode() ? g.s * g.d : g.d, 1}, {g.d, 1}));
      ProgramBuilder::addWait(qLoad, sem(kMm1), steps[ne]); // the last item's S = QK^T are done
      p.setSignal(qLoad, sem(kQ));
      p.emit(qLoad);
      if (splits > 1) // O = 0: a split may skip every partition it has
        p.emit(p.dma(p.loadQueue(ne), true, *consts, l.o,
                     p.desc(DType::F32, DType::F32, {it.rows * g.dv}, {0}, {1})));
      Inst mInit = vun(Opcode::VCopy, ne, l.stats, l.negInf, 1, it.rows);
      ProgramBuilder::addWait(mInit, sem(kQ), r + 1);
      ProgramBuilder::addWait(mInit, sem(kFin), r); // the last item's statistics are consumed
      p.emit(mInit);
      p.emit(vun(Opcode::VCopy, ne, l.stats + 4 * it.rows, l.zeros, 1, it.rows));
    }
    // KV partitions, one of each NE in turn (jl counts within a split).
    for (int64_t jl = 0; jl < perSplit; ++jl) {
      for (unsigned ne = 0; ne < numNe; ++ne) {
        int64_t i = r * numNe + ne;
        if (i >= items)
          continue;
        Item it = itemOf(i);
        int64_t j = it.split * perSplit + jl;
        if (j >= numTiles)
          continue;
        auto sem = [&](unsigned kind) { return p.sem(ne, kind); };
        int64_t t = steps[ne]++, k0 = j * l.tk;
        int64_t firstBlock = k0 / g.blockSize, slot0 = k0 % g.blockSize;
        int64_t nb = window > 0 ? blocksPerTile : std::min(blocksPerTile, ceilDiv(g.maxSeqLen() - k0, run));
        int64_t rk = nb * run;
        int64_t kb = l.k[t % 2], vb = l.v[t % 2];
        int64_t alphaRow = l.stats + 8 * it.rows;
        // Skipped when the partition starts after the item's last row's
        // position: k0 >= pos + rows, i.e. k0 - rows >= pos.
        Section sec;
        int64_t rowsDelta = g.decode() ? 1 : it.rows;
        if (window > 0) // k0 = window start + j * tk, a run-time value
          sec.insts.push_back(ProgramBuilder::alu(Opcode::Add, *rK0, rWin[ne], 0, k0 - rowsDelta));
        else
          sec.insts.push_back(p.li(*rK0, k0 - rowsDelta));
        Inst skip(Opcode::Bge);
        skip[Blt::ra] = *rK0, skip[Blt::rb] = rPos[ne];
        sec.insts.push_back(skip);
        size_t skipAt = 1;
        SmallVector<Inst> body;
        SmallVector<size_t> skipNext; // body indices of branches over the next instruction
        for (int64_t bI = 0; bI < nb; ++bI) {
          // Block id from the table, bounds-checked, to K and V addresses.
          if (window > 0) { // table entry of logical block (k0 + bI * run) / bs, clamped
            body.push_back(ProgramBuilder::alu(Opcode::Add, *rA, rWin[ne], 0, k0 + bI * run));
            body.push_back(ProgramBuilder::alu(Opcode::Shr, *rA, *rA, 0, llvm::Log2_64(uint64_t(g.blockSize))));
            body.push_back(ProgramBuilder::alu(Opcode::Min, *rA, *rA, 0, g.maxBlocks - 1));
            body.push_back(ProgramBuilder::alu(Opcode::Shl, *rA, *rA, 0, 2));
            body.push_back(ProgramBuilder::alu(Opcode::Add, *rA, *rA, table->reg, 0));
            body.push_back(p.load(Opcode::Ld32, *rBlk, *rA, table->off + it.bi * g.maxBlocks * 4, table->space));
          } else {
            body.push_back(p.load(Opcode::Ld32, *rBlk, table->reg,
                                  table->off + (it.bi * g.maxBlocks + firstBlock + bI) * 4, table->space));
          }
          Inst trap(Opcode::Trap);
          trap[Trap::code] = 3;
          Inst lo(Opcode::Bge), hi(Opcode::Blt);
          lo[Blt::ra] = *rBlk, lo[Blt::rb] = 0;
          hi[Blt::ra] = *rBlk, hi[Blt::rb] = *numBlocks;
          for (const Inst &br : {lo, hi}) {
            skipNext.push_back(body.size());
            body.push_back(br);
            body.push_back(trap);
          }
          for (int kv = 0; kv < 2; ++kv) {
            body.push_back(ProgramBuilder::alu(Opcode::Mul, *rA, *rBlk, 0, kv ? vBlockBytes : kBlockBytes));
            body.push_back(ProgramBuilder::alu(Opcode::Add, *rA, *rA, kv ? vCache->reg : kCache->reg, 0));
            int64_t dd = kv ? g.dv : g.d;
            Inst ld = p.dma(p.loadQueue(ne), true,
                            Addr{*rA, (kv ? vCache->off : kCache->off) + (it.kvh * g.blockSize + slot0) * dd * cacheEs, g.cache},
                            (kv ? vb : kb) + bI * run * dd * ce, kv ? vDesc : kDesc);
            if (bI == 0 && kv == 0)
              ProgramBuilder::addWait(ld, sem(kMm2), t - 1); // tile t-2's buffers are consumed
            if (bI + 1 == nb && kv == 1)
              p.setSignal(ld, sem(kLoad));
            body.push_back(ld);
          }
        }
        Inst mm1(Opcode::Mm, uint8_t(ne));
        mm1[Mm::c] = l.s, mm1[Mm::a] = l.q, mm1[Mm::b] = kb;
        mm1[Mm::m] = it.rows, mm1[Mm::n] = rk, mm1[Mm::k] = g.d;
        mm1[Mm::in] = int64_t(ct), mm1[Mm::acc] = 0, mm1[Mm::ta] = 0, mm1[Mm::tb] = 1;
        ProgramBuilder::addWait(mm1, sem(kLoad), t + 1);
        ProgramBuilder::addWait(mm1, sem(kVec), t); // S is free once the last softmax read it
        p.setSignal(mm1, sem(kMm1));
        body.push_back(mm1);
        SmallVector<Inst> ops;
        if (softcap > 0) {
          ops.push_back(vec(Opcode::VMul, ne, l.s, l.s, 0, it.rows, rk, Bcast::Imm, scale / softcap));
          ops.push_back(vun(Opcode::VTanh, ne, l.s, l.s, it.rows, rk));
          ops.push_back(vec(Opcode::VMul, ne, l.s, l.s, 0, it.rows, rk, Bcast::Imm, softcap));
        }
        // Keys past each row's position: -inf (from the position register);
        // with a window also keys before it (pos - k0 in a register).
        Inst mu(Opcode::VMaskUpper, uint8_t(ne));
        mu[VMaskUpper::dst] = l.s, mu[VMaskUpper::src] = l.s, mu[VMaskUpper::rows] = it.rows;
        mu[VMaskUpper::cols] = rk, mu[VMaskUpper::diag] = -k0, mu[VMaskUpper::rdiag] = rPos[ne];
        mu[VMaskUpper::flat] = g.decode() ? 1 : 0;
        if (window > 0) {
          body.push_back(ProgramBuilder::alu(Opcode::Sub, *rK0, rPos[ne], rWin[ne], k0));
          mu[VMaskUpper::diag] = 0, mu[VMaskUpper::rdiag] = *rK0;
        }
        ops.push_back(mu);
        if (window > 0) {
          Inst lo = mu;
          lo[VMaskUpper::diag] = 1 - window, lo[VMaskUpper::lower] = 1;
          ops.push_back(lo);
        }
        Inst sm(Opcode::VSoftmaxStep, uint8_t(ne));
        sm[VSoftmaxStep::s] = l.s, sm[VSoftmaxStep::stats] = l.stats, sm[VSoftmaxStep::rows] = it.rows;
        sm[VSoftmaxStep::cols] = rk;
        sm[VSoftmaxStep::scale] = int64_t(floatBits(softcap > 0 ? 1.0f : scale));
        ops.push_back(sm);
        if (jl > 0)
          ops.push_back(vec(Opcode::VMul, ne, l.o, l.o, alphaRow, it.rows, g.dv, Bcast::Col));
        if (ct != DType::F32) {
          ops.push_back(ProgramBuilder::vcast(ne, l.p, l.s, it.rows, rk, DType::F32, ct));
        }
        ProgramBuilder::addWait(ops.front(), sem(kMm1), t + 1);
        ProgramBuilder::addWait(ops.front(), sem(kMm2), t); // P is free, O holds P V of tile t-1
        p.setSignal(ops.back(), sem(kVec));
        body.append(ops.begin(), ops.end());
        Inst mm2(Opcode::Mm, uint8_t(ne));
        mm2[Mm::c] = l.o, mm2[Mm::a] = l.p, mm2[Mm::b] = vb;
        mm2[Mm::m] = it.rows, mm2[Mm::n] = g.dv, mm2[Mm::k] = rk;
        mm2[Mm::in] = int64_t(ct), mm2[Mm::acc] = jl > 0, mm2[Mm::ta] = 0, mm2[Mm::tb] = 0;
        ProgramBuilder::addWait(mm2, sem(kVec), t + 1);
        if (jl == 0) // O is free once the last item's output is stored
          ProgramBuilder::addWait(mm2, sem(kStore), r);
        p.setSignal(mm2, sem(kMm2));
        body.push_back(mm2);
        for (size_t x : skipNext)
          sec.fixups.push_back({sec.insts.size() + x, int64_t(sec.insts.size() + x + 2)});
        sec.insts.append(body.begin(), body.end());
        // Skipped: empty commands on the same queues give this partition's
        // four signals instead, each after the real commands before it (a
        // wait for a later count never passes before an earlier command).
        size_t jmpAt = sec.insts.size();
        sec.insts.push_back(Inst(Opcode::Jmp));
        int64_t creditAt = int64_t(sec.insts.size());
        Inst noLoad = p.dma(p.loadQueue(ne), true, Addr{0, 0, DType::F32}, 0, emptyDesc);
        p.setSignal(noLoad, sem(kLoad));
        Inst noMm1(Opcode::Mm, uint8_t(ne)), noMm2(Opcode::Mm, uint8_t(ne));
        p.setSignal(noMm1, sem(kMm1));
        p.setSignal(noMm2, sem(kMm2));
        Inst noVec = vun(Opcode::VCopy, ne, 0, 0, 0, 0);
        p.setSignal(noVec, sem(kVec));
        sec.uncountedFrom = sec.insts.size();
        sec.insts.append({noLoad, noMm1, noVec, noMm2});
        sec.fixups.push_back({skipAt, creditAt});
        sec.fixups.push_back({jmpAt, int64_t(sec.insts.size())});
        sec.emitInto(p);
      }
    }
    // Item end: O / l (zero where l = 0), then the store; or, for a split,
    // its unnormalized O and its m, l rows to SHM for the combine.
    for (unsigned ne = 0; ne < numNe; ++ne) {
      int64_t i = r * numNe + ne;
      if (i >= items)
        continue;
      Item it = itemOf(i);
      auto sem = [&](unsigned kind) { return p.sem(ne, kind); };
      int64_t lRow = l.stats + 4 * it.rows;
      if (splits > 1) {
        Inst stO = shmDma(p.storeQueue(ne), true, i * partial, l.o,
                          p.desc(DType::F32, DType::F32, {it.rows * g.dv}, {1}, {1}));
        ProgramBuilder::addWait(stO, sem(kMm2), steps[ne]);
        p.emit(stO);
        Inst stS = shmDma(p.storeQueue(ne), true, i * partial + it.rows * g.dv * 4, l.stats,
                          p.desc(DType::F32, DType::F32, {2 * it.rows}, {1}, {1}));
        p.setSignal(stS, sem(kStore));
        p.emit(stS);
        continue;
      }
      SmallVector<Inst> end = normalizeRows(ne, l.o, lRow, l.z, l.t, it.rows, g.dv);
      ProgramBuilder::addWait(end.front(), sem(kMm2), steps[ne]);
      p.setSignal(end.back(), sem(kFin));
      for (const Inst &in : end)
        p.emit(in);
      Inst stO = p.dma(p.storeQueue(ne), false,
                       out->plus(((it.bi * g.hq + it.h0) * g.s + it.s0) * g.dv), l.o,
                       p.desc(DType::F32, g.out, {it.rows, g.dv}, {g.dv, 1},
                              {g.decode() ? g.s * g.dv : g.dv, 1}));
      ProgramBuilder::addWait(stO, sem(kFin), r + 1);
      p.setSignal(stO, sem(kStore));
      p.emit(stO);
    }
  }
  // Flash-decoding combine, on the NE of each item's first split:
  // M = max_s m_s, w_s = exp(m_s - M), O = sum_s w_s O_s / sum_s w_s l_s.
  for (int64_t u = 0; splits > 1 && u < items / splits; ++u) {
    unsigned c = unsigned(u * splits); // one round: item index = NE
    Item it = itemOf(int64_t(c));
    int64_t rows = it.rows, S = splits;
    for (int64_t sp = 0; sp < S; ++sp) {
      int64_t src = (u * S + sp) * partial, mOff = src + rows * g.dv * 4;
      Inst ld = shmDma(p.loadQueue(c), false, mOff, l.cStats + sp * 2 * rows * 4,
                       p.desc(DType::F32, DType::F32, {2 * rows}, {1}, {1}));
      ProgramBuilder::addWait(ld, p.sem(unsigned(u * S + sp), kStore), 1); // that split is stored
      p.emit(ld);
      p.emit(shmDma(p.loadQueue(c), false, mOff, l.cMaxIn + sp * 4,
                    p.desc(DType::F32, DType::F32, {rows}, {1}, {S})));
      Inst lo = shmDma(p.loadQueue(c), false, src, l.cO + sp * rows * g.dv * 4,
                       p.desc(DType::F32, DType::F32, {rows * g.dv}, {1}, {1}));
      if (sp + 1 == S)
        p.setSignal(lo, p.sem(c, kQ));
      p.emit(lo);
    }
    Inst mx = vun(Opcode::VRedMax, c, l.cMax, l.cMaxIn, rows, S);
    ProgramBuilder::addWait(mx, p.sem(c, kQ), 2);
    p.emit(mx);
    for (int64_t sp = 0; sp < S; ++sp) {
      int64_t mRow = l.cStats + sp * 2 * rows * 4, lRow = mRow + rows * 4;
      int64_t oS = l.cO + sp * rows * g.dv * 4;
      p.emit(vec(Opcode::VSub, c, l.cW, mRow, l.cMax, 1, rows));
      p.emit(vun(Opcode::VExp, c, l.cW, l.cW, 1, rows));
      if (sp == 0) {
        p.emit(vec(Opcode::VMul, c, l.cL, lRow, l.cW, 1, rows));
        p.emit(vec(Opcode::VMul, c, l.o, oS, l.cW, rows, g.dv, Bcast::Col));
      } else {
        p.emit(vec(Opcode::VMul, c, lRow, lRow, l.cW, 1, rows));
        p.emit(vec(Opcode::VAdd, c, l.cL, l.cL, lRow, 1, rows));
        p.emit(vec(Opcode::VMul, c, oS, oS, l.cW, rows, g.dv, Bcast::Col));
        p.emit(vec(Opcode::VAdd, c, l.o, l.o, oS, rows, g.dv));
      }
    }
    p.emit(vun(Opcode::VRecip, c, l.cW, l.cL, 1, rows));
    Inst norm = vec(Opcode::VMul, c, l.o, l.o, l.cW, rows, g.dv, Bcast::Col);
    p.setSignal(norm, p.sem(c, kFin));
    p.emit(norm);
    Inst stO = p.dma(p.storeQueue(c), false, out->plus(((it.bi * g.hq + it.h0) * g.s + it.s0) * g.dv),
                     l.o, p.desc(DType::F32, g.out, {rows, g.dv}, {g.dv, 1}, {g.s * g.dv, 1}));
    ProgramBuilder::addWait(stO, p.sem(c, kFin), 1);
    p.setSignal(stO, p.sem(c, kStore));
    p.emit(stO);
  }
  p.endKernel();
  return success();
}

/// Embedding lookup by dynamic DMA: for each index the CP loads it from DRAM,
/// wraps a negative one, traps outside [0, rows), and turns it into the row's
/// byte address, which the next DMA reads from its register at dispatch.
LogicalResult lowerGather(ProgramBuilder &p, GatherOp op) {
  using namespace isa::fld;
  enum { kLoad, kStore, kNumSems };
  if (!op.getTile())
    return op.emitError("gather has no tiles (run npu-tile-partition)");
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  GatherGeometry g = GatherGeometry::get(op);
  GatherLayout l = layoutGather(g, (*op.getTile())[0]);
  if (uint64_t(l.bytes) > p.t.spm_bytes())
    return op.emitError("tile needs ") << l.bytes << " bytes of SPM";
  auto table = p.addressOf(op.getTable()), idx = p.addressOf(op.getIndices()),
       out = p.addressOf(op.getOut());
  auto rBound = p.scratchReg(), rIdx = p.scratchReg(), rTmp = p.scratchReg();
  if (failed(table) || failed(idx) || failed(out) || failed(rBound) || failed(rIdx) || failed(rTmp))
    return failure();
  Inst li(Opcode::Li);
  li[Li::rd] = *rBound;
  li[Li::imm] = g.tableRows;
  p.emit(li);
  int64_t rowBytes = g.rowLen * int64_t(dtypeSize(g.data));
  int64_t rowDesc = p.desc(g.data, g.data, {g.rowLen}, {1}, {1});
  unsigned idxBytes = dtypeSize(g.index);
  int64_t numTiles = ceilDiv(g.n, l.rows);
  unsigned numNe = p.t.num_ne();
  roundRobin(numNe, numTiles, 1, [&](unsigned ne, int64_t t) {
    int64_t tileIdx = int64_t(ne) + t * numNe;
    int64_t r0 = tileIdx * l.rows, rt = std::min(l.rows, g.n - r0);
    int64_t buf = l.buf[t % 2];
    for (int64_t r = 0; r < rt; ++r) {
      Inst ld(idxBytes == 8 ? Opcode::Ld64 : Opcode::Ld32);
      ld[Ld64::rd] = *rIdx;
      ld[Ld64::space] = int64_t(idx->space);
      ld[Ld64::ra] = idx->reg;
      ld[Ld64::imm] = idx->off + (r0 + r) * int64_t(idxBytes);
      p.emit(ld);
      // rIdx += (rIdx < 0) * rows, branch-free: the sign bit is 1 or 0.
      p.emit(ProgramBuilder::alu(Opcode::Shr, *rTmp, *rIdx, 0, 63));
      p.emit(ProgramBuilder::alu(Opcode::Mul, *rTmp, *rTmp, 0, g.tableRows));
      p.emit(ProgramBuilder::alu(Opcode::Add, *rIdx, *rIdx, *rTmp, 0));
      Inst trap(Opcode::Trap);
      trap[Trap::code] = 1;
      p.emit(p.skipIf(Opcode::Bge, *rIdx, 0));
      p.emit(trap);
      p.emit(p.skipIf(Opcode::Blt, *rIdx, *rBound));
      p.emit(trap);
      p.emit(ProgramBuilder::alu(Opcode::Mul, *rIdx, *rIdx, 0, rowBytes));
      p.emit(ProgramBuilder::alu(Opcode::Add, *rIdx, *rIdx, table->reg, 0));
      Inst dma = p.dma(p.loadQueue(ne), true, Addr{*rIdx, table->off, g.data, table->space}, buf + r * rowBytes,
                       rowDesc);
      if (r == 0)
        ProgramBuilder::addWait(dma, p.sem(ne, kStore), t - 1);
      if (r + 1 == rt)
        p.setSignal(dma, p.sem(ne, kLoad));
      p.emit(dma);
    }
    Inst st = p.dma(p.storeQueue(ne), false, out->plus(r0 * g.rowLen), buf,
                    p.desc(g.data, g.data, {rt * g.rowLen}, {1}, {1}));
    ProgramBuilder::addWait(st, p.sem(ne, kLoad), t + 1);
    p.setSignal(st, p.sem(ne, kStore));
    p.emit(st);
  });
  p.endKernel();
  return success();
}

LogicalResult lowerSoftmax(ProgramBuilder &p, SoftmaxOp op) {
  enum { kLoad, kVec, kStore, kNumSems };
  if (!op.getTile())
    return op.emitError("softmax has no tiles (run npu-tile-partition)");
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  SoftmaxGeometry g = SoftmaxGeometry::get(op);
  SoftmaxLayout l = layoutSoftmax(g, (*op.getTile())[0]);
  auto in = p.addressOf(op.getInput()), out = p.addressOf(op.getOut());
  if (failed(in) || failed(out))
    return failure();
  int64_t numTiles = ceilDiv(g.rows, l.rows);
  unsigned numNe = p.t.num_ne();
  using isa::Bcast;
  roundRobin(numNe, numTiles, 1, [&](unsigned ne, int64_t t) {
    int64_t tileIdx = int64_t(ne) + t * numNe;
    int64_t r0 = tileIdx * l.rows, rt = std::min(l.rows, g.rows - r0);
    int buf = int(t % 2);
    int64_t x = l.x[buf], mx = l.max[buf], sm = l.sum[buf];
    Inst ld = p.dma(p.loadQueue(ne), true, in->plus(r0 * g.len), x,
                    p.desc(g.in, DType::F32, {rt, g.len}, {g.len, 1}, {g.len, 1}));
    ProgramBuilder::addWait(ld, p.sem(ne, kStore), t - 1);
    p.setSignal(ld, p.sem(ne, kLoad));
    p.emit(ld);
    Inst red = ProgramBuilder::vun(Opcode::VRedMax, ne, mx, x, rt, g.len);
    ProgramBuilder::addWait(red, p.sem(ne, kLoad), t + 1);
    p.emit(red);
    p.emit(ProgramBuilder::vec(Opcode::VSub, ne, x, x, mx, rt, g.len, Bcast::Col));
    p.emit(ProgramBuilder::vun(Opcode::VExp, ne, x, x, rt, g.len));
    p.emit(ProgramBuilder::vun(Opcode::VRedSum, ne, sm, x, rt, g.len));
    Inst div = ProgramBuilder::vec(Opcode::VDiv, ne, x, x, sm, rt, g.len, Bcast::Col);
    p.setSignal(div, p.sem(ne, kVec));
    p.emit(div);
    Inst st = p.dma(p.storeQueue(ne), false, out->plus(r0 * g.len), x,
                    p.desc(DType::F32, g.out, {rt, g.len}, {g.len, 1}, {g.len, 1}));
    ProgramBuilder::addWait(st, p.sem(ne, kVec), t + 1);
    p.setSignal(st, p.sem(ne, kStore));
    p.emit(st);
  });
  p.endKernel();
  return success();
}

LogicalResult lowerRows(ProgramBuilder &p, RowsOp op) {
  enum { kLoad, kVec, kStore, kParam, kNumSems };
  if (!op.getTile())
    return op.emitError("row kernel has no tiles (run npu-tile-partition)");
  if (failed(p.beginKernel(op, kNumSems)))
    return failure();
  RowsGeometry g = RowsGeometry::get(op);
  RowsLayout l = layoutRows(g, (*op.getTile())[0]);
  auto in = p.addressOf(op.getInput()), out = p.addressOf(op.getOut());
  FailureOr<Addr> scale = op.getScale() ? p.addressOf(op.getScale()) : FailureOr<Addr>(Addr{});
  FailureOr<Addr> bias = op.getBias() ? p.addressOf(op.getBias()) : FailureOr<Addr>(Addr{});
  FailureOr<Addr> res = op.getResidual() ? p.addressOf(op.getResidual()) : FailureOr<Addr>(Addr{});
  if (failed(in) || failed(out) || failed(scale) || failed(bias) || failed(res))
    return failure();
  int64_t numTiles = ceilDiv(g.rows, l.rows);
  unsigned numNe = p.t.num_ne();
  using isa::Bcast;
  float invLen = 1.0f / float(g.len), eps = op.getEpsilon().convertToFloat();
  // Scale and bias: loaded once per NE that has rows, before its first tile.
  if (g.isNorm())
    for (unsigned ne = 0; ne < numNe && int64_t(ne) < numTiles; ++ne) {
      Inst ls = p.dma(p.storeQueue(ne), true, *scale, l.scale,
                      p.desc(g.scale, DType::F32, {g.len}, {1}, {1}));
      if (g.hasBias) {
        p.emit(ls);
        ls = p.dma(p.storeQueue(ne), true, *bias, l.bias, p.desc(g.bias, DType::F32, {g.len}, {1}, {1}));
      }
      p.setSignal(ls, p.sem(ne, kParam));
      p.emit(ls);
    }
  roundRobin(numNe, numTiles, 1, [&](unsigned ne, int64_t t) {
    int64_t tileIdx = int64_t(ne) + t * numNe;
    int64_t r0 = tileIdx * l.rows, rt = std::min(l.rows, g.rows - r0), len = g.len;
    int buf = int(t % 2);
    int64_t x = l.x[buf], st = l.stat[buf];
    Inst ld = p.dma(p.loadQueue(ne), true, in->plus(r0 * len), x,
                    p.desc(g.in, DType::F32, {rt, len}, {len, 1}, {len, 1}));
    ProgramBuilder::addWait(ld, p.sem(ne, kStore), t - 1);
    if (g.hasResidual) { // the same rows of the residual, into their own buffer
      p.emit(ld);
      ld = p.dma(p.loadQueue(ne), true, res->plus(r0 * len), l.res[buf],
                 p.desc(g.residual, DType::F32, {rt, len}, {len, 1}, {len, 1}));
      ProgramBuilder::addWait(ld, p.sem(ne, kVec), t - 1);
    }
    p.setSignal(ld, p.sem(ne, kLoad));
    p.emit(ld);
    SmallVector<Inst> ops;
    auto vun = [&](Opcode o, int64_t d, int64_t s, int64_t c) {
      ops.push_back(ProgramBuilder::vun(o, ne, d, s, rt, c));
    };
    auto vec = [&](Opcode o, int64_t d, int64_t a, int64_t b, int64_t c, Bcast bc, float imm = 0) {
      ops.push_back(ProgramBuilder::vec(o, ne, d, a, b, rt, c, bc, imm));
    };
    int64_t result = st; // where the store reads from
    switch (g.kind) {
    case RowKind::Sum: vun(Opcode::VRedSum, st, x, len); break;
    case RowKind::Max: vun(Opcode::VRedMax, st, x, len); break;
    case RowKind::Mean:
      vun(Opcode::VRedSum, st, x, len);
      vec(Opcode::VMul, st, st, 0, 1, Bcast::Imm, invLen);
      break;
    case RowKind::LayerNorm:
    case RowKind::RmsNorm: {
      if (g.hasResidual)
        vec(Opcode::VAdd, x, x, l.res[buf], len, Bcast::None);
      if (g.kind == RowKind::LayerNorm) {
        vun(Opcode::VRedSum, st, x, len); // mean
        vec(Opcode::VMul, st, st, 0, 1, Bcast::Imm, invLen);
        vec(Opcode::VSub, x, x, st, len, Bcast::Col); // centered
      }
      vec(Opcode::VMul, l.tmp, x, x, len, Bcast::None);
      vun(Opcode::VRedSum, l.var, l.tmp, len);
      vec(Opcode::VMul, l.var, l.var, 0, 1, Bcast::Imm, invLen);
      vec(Opcode::VAdd, l.var, l.var, 0, 1, Bcast::Imm, eps);
      vun(Opcode::VRsqrt, l.var, l.var, 1);
      vec(Opcode::VMul, x, x, l.var, len, Bcast::Col);
      vec(Opcode::VMul, x, x, l.scale, len, Bcast::Row);
      if (g.hasBias)
        vec(Opcode::VAdd, x, x, l.bias, len, Bcast::Row);
      result = x;
      break;
    }
    }
    ProgramBuilder::addWait(ops.front(), p.sem(ne, kLoad), t + 1);
    if (g.isNorm() && t == 0)
      ProgramBuilder::addWait(ops.front(), p.sem(ne, kParam), 1);
    p.setSignal(ops.back(), p.sem(ne, kVec));
    for (const Inst &v : ops)
      p.emit(v);
    Inst store = g.isNorm()
                     ? p.dma(p.storeQueue(ne), false, out->plus(r0 * len), result,
                             p.desc(DType::F32, g.out, {rt, len}, {len, 1}, {len, 1}))
                     : p.dma(p.storeQueue(ne), false, out->plus(r0), result,
                             p.desc(DType::F32, g.out, {rt}, {1}, {1}));
    ProgramBuilder::addWait(store, p.sem(ne, kVec), t + 1);
    p.setSignal(store, p.sem(ne, kStore));
    p.emit(store);
  });
  p.endKernel();
  return success();
}

struct ConvertNpuToNpuIsaPass : rbln::impl::ConvertNpuToNpuIsaBase<ConvertNpuToNpuIsaPass> {
  using Base::Base;
  void runOnOperation() override {
    auto target = lookupTarget(getOperation(), this->target);
    if (failed(target))
      return signalPassFailure();
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      ProgramBuilder p(fn, *target);
      Block &body = fn.getBody().front();
      SmallVector<Operation *> kernels, dead;
      int64_t spm = 0;
      for (Operation &op : body) {
        if (llvm::isa<MatmulOp, ElementwiseOp, SoftmaxOp, RowsOp, GatherOp, FlashAttentionOp,
                      KvCacheWriteOp, PagedAttentionOp>(op))
          kernels.push_back(&op);
        if (auto a = op.getAttrOfType<IntegerAttr>("spm_bytes"))
          spm = std::max(spm, a.getInt());
      }
      Operation *ret = body.getTerminator();
      p.b.setInsertionPoint(ret);
      for (Operation *k : kernels) {
        LogicalResult r = TypeSwitch<Operation *, LogicalResult>(k)
                              .Case([&](MatmulOp m) { return lowerMatmul(p, m); })
                              .Case([&](ElementwiseOp e) { return lowerElementwise(p, e); })
                              .Case([&](SoftmaxOp s) { return lowerSoftmax(p, s); })
                              .Case([&](RowsOp r) { return lowerRows(p, r); })
                              .Case([&](GatherOp g) { return lowerGather(p, g); })
                              .Case([&](FlashAttentionOp f) { return lowerFlash(p, f); })
                              .Case([&](KvCacheWriteOp w) { return lowerKvCacheWrite(p, w); })
                              .Case([&](PagedAttentionOp a) { return lowerPaged(p, a); });
        if (failed(r))
          return signalPassFailure();
      }
      p.loc = fn.getLoc();
      p.emit(Inst(Opcode::Halt));
      // The descriptor table goes first, in id order.
      OpBuilder db(&body, body.begin());
      for (auto [id, k] : llvm::enumerate(p.descs)) {
        auto ty = [&](DType d) -> Type {
          MLIRContext *ctx = &getContext();
          switch (d) {
          case DType::F16: return Float16Type::get(ctx);
          case DType::BF16: return BFloat16Type::get(ctx);
          case DType::I64: return IntegerType::get(ctx, 64);
          case DType::I32: return IntegerType::get(ctx, 32);
          case DType::Bool: return IntegerType::get(ctx, 1);
          default: return Float32Type::get(ctx);
          }
        };
        npuisa::DescOp::create(db, fn.getLoc(), db.getI64IntegerAttr(int64_t(id)),
                               TypeAttr::get(ty(k.src)), TypeAttr::get(ty(k.dst)),
                               db.getDenseI64ArrayAttr(k.sizes), db.getDenseI64ArrayAttr(k.ss),
                               db.getDenseI64ArrayAttr(k.ds));
      }
      for (Operation *k : llvm::reverse(kernels))
        k->erase();
      // Scratch buffers and views are addresses now; constants stay as the
      // weight pool's contents.
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
        if (llvm::isa<ViewOp, AllocOp>(op))
          op.erase();
      fn->setAttr("rbln.spm_bytes", p.b.getI64IntegerAttr(spm));
    }
  }
};

} // namespace
