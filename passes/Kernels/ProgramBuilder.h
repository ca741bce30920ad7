//===- ProgramBuilder.h - Building one function's command stream -*- C++ -*-===//
//
// What the expansion of tile programs into instructions needs: addresses of
// buffers as the hardware forms them (register + offset in a memory space),
// DMA descriptors, semaphores counted per kernel, instruction builders, and
// the round-robin spread of work over the NEs. (TileProgram.cpp in
// passes/Conversion/NpuToIsa expands a program; NpuToIsa.cpp is the pass.)
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/Npu/NpuDialect.h"
#include "dialects/NpuIsa/NpuIsaDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "passes/Kernels/KernelGeometry.h"
#include "rbln/Target/TargetInfo.h"

#include <map>

namespace rbln::npu_to_isa {

using namespace mlir;
using namespace rbln::npu;
using isa::Inst;
using isa::Opcode;

constexpr unsigned kRegArgBlock = 1, kRegWeights = 2, kRegScratch = 3, kFirstKernelReg = 4;

/// A DRAM or SHM address as the hardware forms it: register + byte offset
/// in `space` (SHM buffers sit at fixed offsets: r0 + offset).
struct Addr {
  unsigned reg;
  int64_t off;
  DType dtype;
  isa::Space space = isa::Space::Dram;
  Addr plus(int64_t elems) const { // (a packed 4-bit buffer: an even count)
    return {reg, off + (dtypeIsPacked(dtype) ? elems / 2 : elems * int64_t(dtypeSize(dtype))), dtype, space};
  }
};

struct DescKey {
  DType src, dst;
  SmallVector<int64_t, 4> sizes, ss, ds;
  bool saturate = true;
  bool operator<(const DescKey &o) const {
    return std::tie(src, dst, sizes, ss, ds, saturate) < std::tie(o.src, o.dst, o.sizes, o.ss, o.ds, o.saturate);
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
    if (!llvm::isa<TileProgramOp>(op) && !op->getAttrOfType<TilingAttr>("tiling"))
      return op->emitOpError("has no tiling (run npu-tile-partition)");
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
               ArrayRef<int64_t> ds, bool saturate = true) {
    DescKey k{src, dst, SmallVector<int64_t, 4>(sizes), SmallVector<int64_t, 4>(ss),
              SmallVector<int64_t, 4>(ds), saturate};
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
    program.push_back({in, loc});
    ++pc;
  }
  /// Index of the next instruction emitted. Kernels address branch targets
  /// by index while they build; `materialize` turns them into labels.
  int64_t pc = 0;
  /// The function's instructions so far, with the location of each.
  struct Emitted {
    Inst inst;
    Location loc;
  };
  std::vector<Emitted> program;
  /// Creates the instruction ops at the builder's insertion point, an
  /// `npuisa.label` before each instruction a branch targets.
  void materialize();
  static Inst alu(Opcode op, unsigned rd, unsigned ra, unsigned rb, int64_t imm) {
    Inst in(op);
    in[isa::fld::Add::rd] = rd;
    in[isa::fld::Add::ra] = ra;
    in[isa::fld::Add::rb] = rb;
    in[isa::fld::Add::imm] = imm;
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
  /// `rd` = the leading dimension of function argument `v`, from the
  /// argument block (the runtime writes every argument's there).
  FailureOr<Inst> loadLeadingDim(Value v, unsigned rd) {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner()->getParentOp() != fn.getOperation())
      return failure();
    return load(Opcode::Ld64, rd, kRegArgBlock, 8 * int64_t(fn.getNumArguments() + arg.getArgNumber()));
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

/// A tile program (npu-materialize-tiles), expanded mechanically
/// (TileProgram.cpp in the pass's folder).
LogicalResult lowerTileProgram(ProgramBuilder &p, TileProgramOp op);

} // namespace rbln::npu_to_isa
