// RUN: rbln-opt %s --pass-pipeline='builtin.module(rbln-compile{target=tiny compute-type=f16})' | FileCheck %s
// RUN: rbln-opt %s --pass-pipeline='builtin.module(rbln-to-npu{target=tiny opt-level=0})' | FileCheck %s --check-prefix=O0

// The named pipeline is what rbln-compile runs: graph fusion, lowering to
// tiled kernels, expansion to instructions.
// CHECK-LABEL: func.func @main
// CHECK: npuisa.desc 0 : f32 -> f16
// CHECK: npuisa.mm[0] {{.*}}in = f16
// CHECK: npuisa.v.relu[0]
// CHECK: npuisa.halt
// At -O0 the relu is not fused: two kernels.
// O0: npu.tile_program <matmul>
// O0: npu.mm
// O0: npu.tile_program <elementwise>
// O0: npu.vec <v.relu>
func.func @main(%x: tensor<3x20xf32> {rbln.name = "x"}) -> (tensor<3x10xf32> {rbln.name = "y"}) {
  %w = graph.constant dense<0.25> : tensor<20x10xf32>
  %0 = graph.matmul %x, %w : (tensor<3x20xf32>, tensor<20x10xf32>) -> tensor<3x10xf32>
  %1 = graph.relu %0 : tensor<3x10xf32>
  return %1 : tensor<3x10xf32>
}
