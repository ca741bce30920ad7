#ifndef RBLN_NPU_PASSES
#define RBLN_NPU_PASSES
include "mlir/Pass/PassBase.td"

def NpuTilePartition : Pass<"npu-tile-partition", "mlir::ModuleOp"> {
  let summary = "Choose every kernel's tile sizes from the target description";
  let description = [{
    For each kernel, enumerates tile shapes that fit the NE scratchpad with
    double-buffered operands (and, for matmul, double-buffered f32
    accumulators and bias), estimates each one's time from the target's
    tensor, vector and DRAM rates and the number of NEs it keeps busy, and
    records the best as the kernel's `tile` attribute. A kernel for which no
    tile fits is an error naming its ONNX node.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"\"",
           "target name or file (default: the module's rbln.target, else atom)">,
    Option<"kvPartitionLen", "kv-partition-len", "int64_t", "0",
           "KV tile length of attention kernels (0: chosen from the target)">
  ];
}

def NpuPlanMemory : Pass<"npu-plan-memory", "mlir::ModuleOp"> {
  let summary = "Place DRAM buffers: weight pool offsets and a scratch arena with liveness";
  let description = [{
    Gives every `npu.constant` a 64-byte aligned offset in the weight pool, in
    program order, and every `npu.alloc` an offset in the scratch arena:
    buffers whose live ranges (first to last kernel that touches them, views
    included) do not overlap share memory (first-fit). Records the arena
    size as `rbln.scratch_bytes` and the pool size as `rbln.weights_bytes` on
    the function.
  }];
}
#endif
