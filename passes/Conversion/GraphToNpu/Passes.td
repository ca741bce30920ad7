#ifndef RBLN_GRAPH_TO_NPU_PASSES
#define RBLN_GRAPH_TO_NPU_PASSES
include "mlir/Pass/PassBase.td"

def ConvertGraphToNpu : Pass<"convert-graph-to-npu", "mlir::ModuleOp"> {
  let summary = "Bufferize graph ops into NPU kernels on DRAM buffers";
  let description = [{
    `@main(tensors) -> tensors` becomes `@main(input buffers, output buffers)`
    in destination-passing style: every graph op becomes an npu kernel writing
    into a fresh `npu.alloc` (or straight into an output buffer when it
    produces a result), reshapes become `npu.view`, constants become
    `npu.constant` in the weight pool. Intermediates and weights are stored in
    `compute-type`; model inputs and outputs keep their ONNX element type and
    the kernels' DMA converts on the way in and out. A matmul of FP8
    activations by FP8 weights (a QDQ model's) computes in the target's FP8
    mode when it has one, else in `compute-type` (the DMA widens).
  }];
  let options = [
    Option<"computeType", "compute-type", "std::string", "\"f32\"",
           "element type kernels compute in and intermediates are stored in: f32, f16 or bf16">,
    Option<"target", "target", "std::string", "\"\"",
           "target name or file (default: the module's rbln.target, else atom): whether its "
           "tensor engine has an FP8 mode">
  ];
  let dependentDialects = ["::rbln::npu::NpuDialect", "::mlir::memref::MemRefDialect"];
}
#endif
