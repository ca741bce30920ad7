//===- NpuToIsa.cpp - Kernel expansion into instructions ------------------===//
//
// Matmul, elementwise, softmax, row and gather kernels arrive as tile
// programs (npu-materialize-tiles) and are expanded mechanically
// (TileProgram.cpp). The attention kernels and the KV cache write are still
// expanded here by their
// lowerings (passes/Kernels/<Kernel>.cpp) into command streams: DMA, tensor
// and vector commands on the NEs, CP scalar code for run-time addresses.
//
// Semaphores are counters: a wait names the absolute count it needs, which
// is known at compile time because kernels are separated by barriers.
//
//===----------------------------------------------------------------------===//
#include "passes/Conversion/NpuToIsa/Passes.h"
#include "passes/Kernels/ProgramBuilder.h"

#include "llvm/ADT/TypeSwitch.h"

namespace rbln {
#define GEN_PASS_DEF_CONVERTNPUTONPUISA
#include "passes/Conversion/NpuToIsa/Passes.h.inc"
} // namespace rbln

using namespace mlir;
using namespace rbln;
using namespace rbln::npu_to_isa;

void ProgramBuilder::materialize() {
  std::vector<bool> target(program.size() + 1, false);
  for (const Emitted &e : program) {
    const isa::InstSpec &s = e.inst.spec();
    for (unsigned i = 0; i < s.numFields; ++i)
      if (s.fields[i].kind == isa::FieldKind::Label) {
        int64_t t = e.inst[i];
        assert(t >= 0 && size_t(t) <= program.size() && "a branch out of the function");
        target[size_t(t)] = true;
      }
  }
  auto labelOf = [&](int64_t pc) { return b.getStringAttr("L" + std::to_string(pc)); };
  for (size_t i = 0; i <= program.size(); ++i) {
    Location at = i < program.size() ? program[i].loc : fn.getLoc();
    if (target[i])
      npuisa::LabelOp::create(b, at, labelOf(int64_t(i)));
    if (i < program.size())
      npuisa::createInst(b, at, program[i].inst, labelOf);
  }
  program.clear();
}

namespace {

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
        if (llvm::isa<SoftmaxOp, RowsOp, ElementwiseOp, MatmulOp, GatherOp, KvCacheWriteOp, FlashAttentionOp,
                      PagedAttentionOp>(op)) {
          op.emitOpError("is expanded from its tile program: run npu-materialize-tiles first");
          return signalPassFailure();
        }
        if (llvm::isa<TileProgramOp>(op))
          kernels.push_back(&op);
        if (auto tl = op.getAttrOfType<TilingAttr>("tiling"))
          spm = std::max(spm, tl.getSpm());
        if (auto prog = dyn_cast<TileProgramOp>(op))
          spm = std::max(spm, int64_t(prog.getSpm()));
      }
      Operation *ret = body.getTerminator();
      p.b.setInsertionPoint(ret);
      for (Operation *k : kernels) {
        if (failed(lowerTileProgram(p, cast<TileProgramOp>(k))))
          return signalPassFailure();
      }
      p.loc = fn.getLoc();
      p.emit(Inst(Opcode::Halt));
      p.materialize();
      // The descriptor table goes first, in id order.
      OpBuilder db(&body, body.begin());
      for (auto [id, k] : llvm::enumerate(p.descs)) {
        auto ty = [&](DType d) { return npuisa::typeOf(&getContext(), d); };
        npuisa::DescOp::create(db, fn.getLoc(), db.getI64IntegerAttr(int64_t(id)),
                               TypeAttr::get(ty(k.src)), TypeAttr::get(ty(k.dst)),
                               db.getDenseI64ArrayAttr(k.sizes), db.getDenseI64ArrayAttr(k.ss),
                               db.getDenseI64ArrayAttr(k.ds), db.getBoolAttr(k.saturate));
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
