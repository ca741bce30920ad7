#ifndef RBLN_NPU_TO_ISA_PASSES
#define RBLN_NPU_TO_ISA_PASSES
include "mlir/Pass/PassBase.td"

def ConvertNpuToNpuIsa : Pass<"convert-npu-to-npuisa", "mlir::ModuleOp"> {
  let summary = "Expand each tiled kernel into DMA, tensor and vector commands";
  let description = [{
    Lays out each kernel's scratchpad buffers, spreads its tiles over the NEs
    round-robin, and emits per tile the neural DMA loads (with casts to the
    compute type), tensor-engine matmul steps or vector-engine ops, and the
    store, ordered by semaphores so that loads of the next tile overlap the
    compute of the current one (double buffering). Commands are emitted in
    step order across NEs so that bounded engine queues never deadlock.
    Addresses are a base register (argument block, weight pool, scratch
    arena) plus an offset. Kernels are separated by barriers. Requires
    npu-tile-partition and npu-plan-memory.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"\"",
           "target name or file (default: the module's rbln.target, else atom)">
  ];
  let dependentDialects = ["::rbln::npuisa::NpuIsaDialect"];
}
#endif
