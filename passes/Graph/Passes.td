#ifndef RBLN_GRAPH_PASSES
#define RBLN_GRAPH_PASSES
include "mlir/Pass/PassBase.td"

def GraphFuseMatmulEpilogue : Pass<"graph-fuse-matmul-epilogue", "mlir::func::FuncOp"> {
  let summary = "Fold a bias Add and an activation into the matmul that feeds them";
  let description = [{
    Rewrites `add(matmul(a, b), c)` (either operand order, `c` broadcastable
    to the product) into `matmul(a, b) bias(c)`, and `relu|sigmoid|tanh` of a
    matmul without an activation into the matmul's `activation`, when the
    matmul has no other use. The NPU then applies them to the accumulator
    tile in SPM instead of a round trip through DRAM. Fused ops carry a fused
    location of every ONNX node they came from.
  }];
  let dependentDialects = ["::rbln::graph::GraphDialect"];
}
#endif
