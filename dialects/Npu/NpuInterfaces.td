//===- NpuInterfaces.td - What the npu dialect's passes ask of ops -*- tablegen -*-===//
#ifndef RBLN_NPU_INTERFACES
#define RBLN_NPU_INTERFACES

include "mlir/IR/OpBase.td"

def Npu_EngineOpInterface : OpInterface<"EngineOp"> {
  let cppNamespace = "::rbln::npu";
  let description = [{
    A command one of an NE's engines runs (`npu.dma` on its load or store
    queue, `npu.vec` and `npu.softmax_step` on the vector engine, `npu.mm`
    on the tensor engine): the engine, its waits and signal, and the
    scratchpad tiles it reads and writes. npu-multi-buffer and
    npu-insert-sync reason about commands only through it.
  }];
  let methods = [
    InterfaceMethod<"the engine (or DMA queue) that runs the command",
                    "::rbln::npu::Engine", "getEngine">,
    InterfaceMethod<"the scratchpad tiles the command reads and writes, each with its indices",
                    "void", "getTileAccesses",
                    (ins "::llvm::SmallVectorImpl<::rbln::npu::TileAccess> &":$accesses)>,
    InterfaceMethod<"the semaphores it waits on", "::mlir::MutableOperandRange",
                    "getWaitSemsMutable", (ins), [{}],
                    [{ return $_op.getWaitSemsMutable(); }]>,
    InterfaceMethod<"the counts it waits for, one per semaphore", "::mlir::MutableOperandRange",
                    "getWaitCountsMutable", (ins), [{}],
                    [{ return $_op.getWaitCountsMutable(); }]>,
    InterfaceMethod<"the semaphore it signals when done (at most one)",
                    "::mlir::MutableOperandRange", "getSignalMutable", (ins), [{}],
                    [{ return $_op.getSignalMutable(); }]>,
  ];
  let extraClassDeclaration = [{
    /// Whether it carries any wait or signal.
    bool isOrdered() {
      return !getWaitSemsMutable().empty() || !getSignalMutable().empty();
    }
  }];
}

#endif
