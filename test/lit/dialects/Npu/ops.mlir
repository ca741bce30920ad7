// RUN: rbln-opt %s | rbln-opt | FileCheck %s

// CHECK-LABEL: func.func @kernels
func.func @kernels(%x: memref<4x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // CHECK: %[[W:.*]] = npu.constant dense<2.000000e+00> : tensor<8x8xf16> {offset = 0 : i64} : memref<8x8xf16, #npu.space<dram>>
  %w = npu.constant dense<2.0> : tensor<8x8xf16> {offset = 0 : i64} : memref<8x8xf16, #npu.space<dram>>
  // CHECK: %[[T:.*]] = npu.alloc {offset = 64 : i64} : memref<4x8xf16, #npu.space<dram>>
  %t = npu.alloc {offset = 64 : i64} : memref<4x8xf16, #npu.space<dram>>
  // CHECK: npu.matmul ins(%{{.*}}, %[[W]]) outs(%[[T]]) {activation = #npu.activation<tanh>, compute_type = f16, tiling = #npu.tiling<[4, 8, 8], ne = 2, spm = 1024>}
  npu.matmul ins(%x, %w) outs(%t) {activation = #npu.activation<tanh>, compute_type = f16, tiling = #npu.tiling<[4, 8, 8], ne = 2, spm = 1024>} : memref<4x8xf32, #npu.space<dram>>, memref<8x8xf16, #npu.space<dram>> -> memref<4x8xf16, #npu.space<dram>>
  // CHECK: npu.elementwise <add> ins(%[[T]], %{{.*}}) outs(%{{.*}})
  npu.elementwise <add> ins(%t, %x) outs(%y) : memref<4x8xf16, #npu.space<dram>>, memref<4x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  // CHECK: %[[V:.*]] = npu.view %{{.*}} : memref<4x8xf32, #npu.space<dram>> to memref<32xf32, #npu.space<dram>>
  %v = npu.view %y : memref<4x8xf32, #npu.space<dram>> to memref<32xf32, #npu.space<dram>>
  // CHECK: npu.elementwise <copy> ins(%{{.*}}) outs(%{{.*}}) {perm = array<i64: 1, 0>}
  %tt = npu.alloc : memref<8x4xf32, #npu.space<dram>>
  npu.elementwise <copy> ins(%x) outs(%tt) {perm = array<i64: 1, 0>} : memref<4x8xf32, #npu.space<dram>> -> memref<8x4xf32, #npu.space<dram>>
  // CHECK: npu.softmax ins(%{{.*}}) outs(%{{.*}}) {tiling = #npu.tiling<[2], ne = 2, spm = 256>}
  npu.softmax ins(%x) outs(%y) {tiling = #npu.tiling<[2], ne = 2, spm = 256, splits = 1, kv = streamed>} : memref<4x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// CHECK-LABEL: func.func @windows_and_gather
func.func @windows_and_gather(%t: memref<100x8xf32, #npu.space<dram>>, %i: memref<2x5xi64, #npu.space<dram>>, %o: memref<2x5x8xf32, #npu.space<dram>>) {
  // CHECK: npu.gather ins(%{{.*}}[%{{.*}}]) outs(%{{.*}}) {tiling = #npu.tiling<[4], ne = 2, spm = 256>} : memref<100x8xf32, #npu.space<dram>>, memref<2x5xi64, #npu.space<dram>> -> memref<2x5x8xf32, #npu.space<dram>>
  npu.gather ins(%t[%i]) outs(%o) {tiling = #npu.tiling<[4], ne = 2, spm = 256>} : memref<100x8xf32, #npu.space<dram>>, memref<2x5xi64, #npu.space<dram>> -> memref<2x5x8xf32, #npu.space<dram>>
  // CHECK: npu.view %{{.*}} : memref<100x8xf32, #npu.space<dram>> to memref<5x8xf32, strided<[16, 1], offset: 8>, #npu.space<dram>>
  %w = npu.view %t : memref<100x8xf32, #npu.space<dram>> to memref<5x8xf32, strided<[16, 1], offset: 8>, #npu.space<dram>>
  %c = npu.alloc : memref<5x8xf32, #npu.space<dram>>
  // CHECK: npu.elementwise <copy> ins(%{{.*}}) outs(%{{.*}}) : memref<5x8xf32, strided<[16, 1], offset: 8>, #npu.space<dram>> -> memref<5x8xf32, #npu.space<dram>>
  npu.elementwise <copy> ins(%w) outs(%c) : memref<5x8xf32, strided<[16, 1], offset: 8>, #npu.space<dram>> -> memref<5x8xf32, #npu.space<dram>>
  // CHECK: npu.elementwise <select>
  npu.elementwise <select> ins(%c, %c, %c) outs(%c) : memref<5x8xf32, #npu.space<dram>>, memref<5x8xf32, #npu.space<dram>>, memref<5x8xf32, #npu.space<dram>> -> memref<5x8xf32, #npu.space<dram>>
  return
}
