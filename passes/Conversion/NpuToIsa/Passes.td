#ifndef RBLN_NPU_TO_ISA_PASSES
#define RBLN_NPU_TO_ISA_PASSES
include "mlir/Pass/PassBase.td"

def ConvertNpuToNpuIsa : Pass<"convert-npu-to-npuisa", "mlir::ModuleOp"> {
  let summary = "Expand each tile program into command-processor, DMA, tensor and vector instructions";
  let description = [{
    Mechanical: each `npu.tile_program`'s buffers get their addresses in
    operand order (a base register — argument block, weight pool, scratch
    arena — plus an offset), its semaphores a per-NE id each, its
    scratchpad buffers their offsets; each `npu.distribute` runs its body
    once per work item (round-robin over the NEs, or cut into per-NE steps
    issued round-robin), evaluating the index arithmetic, and each engine op
    becomes one instruction with its waits and signal, each `!npu.reg` op CP
    instructions on the registers npu-allocate-registers gave it. Programs
    are separated by barriers. Requires npu-materialize-tiles and
    npu-allocate-registers.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"\"",
           "target name or file (default: the module's rbln.target, else atom)">
  ];
  let dependentDialects = ["::rbln::npuisa::NpuIsaDialect"];
}
#endif
