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
#include "passes/Conversion/NpuToIsa/ProgramBuilder.h"

#include "llvm/ADT/TypeSwitch.h"

namespace rbln {
#define GEN_PASS_DEF_CONVERTNPUTONPUISA
#include "passes/Conversion/NpuToIsa/Passes.h.inc"
} // namespace rbln

using namespace mlir;
using namespace rbln;
using namespace rbln::npu_to_isa;

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
