// RUN: rbln-opt %s --split-input-file --convert-graph-to-npu | FileCheck %s
// RUN: rbln-opt %s --split-input-file --convert-graph-to-npu=compute-type=f16 | FileCheck %s --check-prefix=F16

// Destination passing: results become output buffers that the last kernel
// writes; intermediates are allocs; reshape is a view.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: memref<2x3xf32, #npu.space<dram>> {rbln.name = "x"}, %[[Y:.*]]: memref<4x2xf32, #npu.space<dram>> {rbln.name = "y", rbln.output})
// CHECK: %[[W:.*]] = npu.constant dense<5.000000e-01> : tensor<3x4xf32> : memref<3x4xf32, #npu.space<dram>>
// CHECK: %[[T:.*]] = npu.alloc : memref<2x4xf32, #npu.space<dram>>
// CHECK: npu.matmul ins(%[[X]], %[[W]]) outs(%[[T]]) {compute_type = f32}
// CHECK: %[[V:.*]] = npu.view %[[T]] : memref<2x4xf32, #npu.space<dram>> to memref<8xf32, #npu.space<dram>>
// CHECK: %[[R:.*]] = npu.alloc : memref<8xf32, #npu.space<dram>>
// CHECK: npu.elementwise <relu> ins(%[[V]]) outs(%[[R]])
// CHECK: %[[S:.*]] = npu.alloc : memref<8xf32, #npu.space<dram>>
// CHECK: npu.elementwise <add> ins(%[[R]], %[[V]]) outs(%[[S]])
// CHECK: %[[SV:.*]] = npu.view %[[S]] : memref<8xf32, #npu.space<dram>> to memref<2x4xf32, #npu.space<dram>>
// CHECK: %[[SM:.*]] = npu.alloc : memref<2x4xf32, #npu.space<dram>>
// CHECK: npu.softmax ins(%[[SV]]) outs(%[[SM]])
// CHECK: npu.elementwise <copy> ins(%[[SM]]) outs(%[[Y]]) {perm = array<i64: 1, 0>}
// CHECK-NEXT: return
// F16-LABEL: func.func @main
// F16: npu.constant dense_resource<{{.*}}> : tensor<3x4xf16> : memref<3x4xf16, #npu.space<dram>>
// F16: npu.alloc : memref<2x4xf16, #npu.space<dram>>
// F16: npu.matmul {{.*}}compute_type = f16
// F16: npu.elementwise <copy> ins(%{{.*}}) outs(%{{.*}}) {perm = array<i64: 1, 0>} : memref<2x4xf16, #npu.space<dram>> -> memref<4x2xf32, #npu.space<dram>>
func.func @main(%x: tensor<2x3xf32> {rbln.name = "x"}) -> (tensor<4x2xf32> {rbln.name = "y"}) {
  %w = graph.constant dense<0.5> : tensor<3x4xf32>
  %0 = graph.matmul %x, %w : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %1 = graph.reshape %0 : (tensor<2x4xf32>) -> tensor<8xf32>
  %2 = graph.relu %1 : tensor<8xf32>
  %3 = graph.add %2, %1 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %4 = graph.reshape %3 : (tensor<8xf32>) -> tensor<2x4xf32>
  %5 = graph.softmax %4 axis = 1 : tensor<2x4xf32>
  %y = graph.transpose %5 perm = [1, 0] : (tensor<2x4xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// A result that is an input, or the same value twice, is copied.
// CHECK-LABEL: func.func @passthrough
// CHECK-SAME: (%[[A:.*]]: memref<4xf32, #npu.space<dram>>, %[[O1:.*]]: memref<4xf32, #npu.space<dram>> {rbln.output}, %[[O2:.*]]: memref<4xf32, #npu.space<dram>> {rbln.output}, %[[O3:.*]]: memref<4xf32, #npu.space<dram>> {rbln.output})
// CHECK: npu.elementwise <relu> ins(%[[A]]) outs(%[[O1]])
// CHECK: npu.elementwise <copy> ins(%[[O1]]) outs(%[[O2]])
// CHECK: npu.elementwise <copy> ins(%[[A]]) outs(%[[O3]])
func.func @passthrough(%a: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0 = graph.relu %a : tensor<4xf32>
  return %0, %0, %a : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// A max and a min over the same rows (DynamicQuantizeLinear's range) are
// one row kernel, one pass over x; a sum of the same rows stays its own.
// CHECK-LABEL: func.func @range
// CHECK: npu.rows <max_min> ins(%{{.*}}) outs(%{{.*}}, %{{.*}}) : memref<4x48xf32, #npu.space<dram>> -> memref<4xf32, #npu.space<dram>>, memref<4xf32, #npu.space<dram>>
// CHECK-NOT: npu.rows <min>
// CHECK: npu.rows <sum>
func.func @range(%x: tensor<4x48xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0 = graph.reduce <max> %x axes = [1] {keepdims = false} : (tensor<4x48xf32>) -> tensor<4xf32>
  %1 = graph.reduce <min> %x axes = [1] {keepdims = false} : (tensor<4x48xf32>) -> tensor<4xf32>
  %2 = graph.reduce <sum> %x axes = [1] {keepdims = false} : (tensor<4x48xf32>) -> tensor<4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
