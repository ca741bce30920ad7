//===- AllocateScratchpad.cpp - Offsets of a tile program's SPM/SHM buffers ===//
//
// Every `npu.alloc` of a tile program without an offset gets one: its byte
// offset in the NE's scratchpad (`#npu.space<spm>`, the same on every NE) or,
// for the kernel's own shared-memory area (`#npu.space<shm>`), in SHM after
// the intermediates npu-plan-memory placed there. Buffers are placed in
// program order, each at kSpmAlign, after any the program placed itself. No
// two buffers share bytes: a program's distributes overlap in time (an
// engine runs ahead of another, an NE of another), so a buffer whose uses
// look over may still be read. The scratchpad the buffers take must fit the
// bytes the tiling reserved (npu-tile-partition sized the tiles for them);
// SHM must fit the target.
//
//===----------------------------------------------------------------------===//
#include "passes/Kernels/KernelGeometry.h"
#include "passes/Npu/Passes.h"

#include "rbln/Target/TargetInfo.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace rbln::npu {
#define GEN_PASS_DEF_NPUALLOCATESCRATCHPAD
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln::npu;

namespace {

struct NpuAllocateScratchpad
    : rbln::npu::impl::NpuAllocateScratchpadBase<NpuAllocateScratchpad> {
  using Base::Base;

  void runOnOperation() override {
    FailureOr<rbln::TargetDesc> target = rbln::lookupTarget(getOperation(), this->target);
    if (failed(target))
      return signalPassFailure();
    WalkResult r = getOperation().walk([&](TileProgramOp prog) {
      return failed(place(prog, *target)) ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }

  static LogicalResult place(TileProgramOp prog, const rbln::TargetDesc &t) {
    // SHM above what the function's intermediates took there.
    int64_t shmBase = 0;
    if (auto fn = prog->getParentOfType<func::FuncOp>())
      if (auto a = fn->getAttrOfType<IntegerAttr>("rbln.shm_scratch_bytes"))
        shmBase = alignTo(a.getInt(), kSpmAlign);
    int64_t end[2] = {0, shmBase}; // per space: past the placed buffers
    auto slot = [](AllocOp a) { return spaceOf(a.getType()) == MemorySpace::Shm ? 1 : 0; };
    SmallVector<AllocOp> unplaced;
    for (auto a : prog.getProgram().getOps<AllocOp>()) {
      if (auto off = a.getOffset())
        end[slot(a)] = std::max(end[slot(a)], alignTo(*off + allocatedBytes(a.getType()), kSpmAlign));
      else
        unplaced.push_back(a);
    }
    Builder b(prog.getContext());
    for (AllocOp a : unplaced) {
      int64_t &at = end[slot(a)];
      a.setOffsetAttr(b.getI64IntegerAttr(at));
      at = alignTo(at + allocatedBytes(a.getType()), kSpmAlign);
    }
    if (end[0] > prog.getSpm()) {
      InFlightDiagnostic d = prog.emitOpError("scratchpad buffers take ")
                             << end[0] << " bytes, past the " << prog.getSpm()
                             << " its tiling reserved";
      for (auto a : prog.getProgram().getOps<AllocOp>())
        if (!slot(a))
          d.attachNote(a.getLoc()) << "'" << a.getName().value_or("") << "': "
                                   << allocatedBytes(a.getType()) << " bytes at " << *a.getOffset();
      return d;
    }
    if (uint64_t(end[1]) > t.shm_bytes())
      return prog.emitOpError("shared-memory buffers end at byte ")
             << end[1] << " (after " << shmBase << " bytes of the function's intermediates), target '"
             << t.name() << "' has " << t.shm_bytes();
    return success();
  }
};

} // namespace
