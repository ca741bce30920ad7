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

// A tile program round-trips: named buffers, semaphores and scratchpad
// buffers, a stepped distribute with its five arguments, waits and signals,
// mixed static/dynamic sizes and strides, a conditional step.
// CHECK-LABEL: func.func @tile_program
// CHECK: npu.tile_program <matmul> ne = 2 spm = 4096 ins(%[[IN:.*]] = %arg0 : memref<8x16xf32, #npu.space<dram>>) attributes {reuse = #npu.reuse<tiled>} {
// CHECK: %ld = npu.semaphore "ld"
// CHECK: %t = npu.alloc {name = "t", offset = 64 : i64} : memref<2x128xf32, #npu.space<spm>>
// CHECK: npu.distribute %item, %iter on %ne items = 3 steps = 2 (%k, %step) {
// CHECK: npu.dma load %[[IN]][%item, %c0] -> %t[%k, %c0] sizes [%step, 16] strides [16, 1] -> [%step, 1] on %ne wait(%ld >= %iter) signal(%ld) : memref<8x16xf32, #npu.space<dram>> -> memref<2x128xf32, #npu.space<spm>>
// CHECK: scf.if
// CHECK-NEXT: npu.vec <vred.sum> %t[%k, %c0] = %t[%k, %c0] [2, 16] on %ne :
// CHECK: npu.mm %t[%c0, %c0] = %t[%c0, %c0] x %t[%k, %c0] [2, 2, 2] accumulate(%true) on %ne {transpose_b = true}
func.func @tile_program(%x: memref<8x16xf32, #npu.space<dram>>) {
  npu.tile_program <matmul> ne = 2 spm = 4096 ins(%in = %x : memref<8x16xf32, #npu.space<dram>>) attributes {reuse = #npu.reuse<tiled>} {
    %c0 = arith.constant 0 : index
    %true = arith.constant true
    %ld = npu.semaphore "ld"
    %t = npu.alloc {name = "t", offset = 64 : i64} : memref<2x128xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 3 steps = 2 (%k, %step) {
      npu.dma load %in[%item, %c0] -> %t[%k, %c0] sizes [%step, 16] strides [16, 1] -> [%step, 1] on %ne wait(%ld >= %iter) signal(%ld) : memref<8x16xf32, #npu.space<dram>> -> memref<2x128xf32, #npu.space<spm>>
      %first = arith.cmpi eq, %k, %c0 : index
      scf.if %first {
        npu.vec <vred.sum> %t[%k, %c0] = %t[%k, %c0] [2, 16] on %ne : memref<2x128xf32, #npu.space<spm>>, memref<2x128xf32, #npu.space<spm>>
      }
      npu.mm %t[%c0, %c0] = %t[%c0, %c0] x %t[%k, %c0] [2, 2, 2] accumulate(%true) on %ne {transpose_b = true} : memref<2x128xf32, #npu.space<spm>>, memref<2x128xf32, #npu.space<spm>>, memref<2x128xf32, #npu.space<spm>>
    }
  }
  return
}
