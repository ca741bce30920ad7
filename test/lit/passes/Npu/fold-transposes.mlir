// RUN: rbln-opt %s --split-input-file --npu-fold-transposes | FileCheck %s
// RUN: rbln-opt %s --split-input-file --npu-fold-transposes --npu-plan-memory=target=tiny --npu-tile-partition=target=tiny --npu-materialize-tiles --npu-allocate-scratchpad=target=tiny --convert-npu-to-npuisa=target=tiny | FileCheck %s --check-prefix=ISA

// The head split before attention ([1, 8, 2, 4] -> [1, 2, 8, 4]) and the merge
// after it are copy kernels; folded, q, k and v are strided views of the
// projections' buffers (rows of 4 elements, 8 apart: the other head sits
// between them) and the kernel writes its rows straight into the merged
// buffer. No copy kernel is left.
// CHECK-LABEL: func.func @heads
// CHECK-NOT: npu.elementwise
// CHECK: %[[Q:.*]] = npu.view %arg0 : memref<1x8x2x4xf32, #npu.space<dram>> to memref<1x2x8x4xf32, strided<[64, 4, 8, 1]>, #npu.space<dram>>
// CHECK: %[[K:.*]] = npu.view %arg1 {{.*}} to memref<1x2x8x4xf32, strided<[64, 4, 8, 1]>, #npu.space<dram>>
// CHECK: %[[V:.*]] = npu.view %arg2 {{.*}} to memref<1x2x8x4xf32, strided<[64, 4, 8, 1]>, #npu.space<dram>>
// CHECK: %[[Y:.*]] = npu.alloc : memref<1x8x2x4xf32, #npu.space<dram>>
// CHECK: %[[O:.*]] = npu.view %[[Y]] : memref<1x8x2x4xf32, #npu.space<dram>> to memref<1x2x8x4xf32, strided<[64, 4, 8, 1]>, #npu.space<dram>>
// CHECK: npu.flash_attention ins(%[[Q]], %[[K]], %[[V]] consts %{{.*}}) outs(%[[O]])
// CHECK-NOT: npu.elementwise
// CHECK: npu.matmul ins(%{{.*}}, %{{.*}}) outs(%arg3)
// The kernel's Q load reads 8 rows of 4 at a row stride of 8 elements, and
// its O store writes them at that stride (tiny: one query tile per head).
// ISA-LABEL: func.func @heads
// ISA-DAG: npuisa.desc {{[0-9]+}} : f32 -> f32 sizes [8, 4] src_strides [8, 1] dst_strides [4, 1]
// ISA-DAG: npuisa.desc {{[0-9]+}} : f32 -> f32 sizes [8, 4] src_strides [4, 1] dst_strides [8, 1]
// ISA-NOT: perm
func.func @heads(%q: memref<1x8x2x4xf32, #npu.space<dram>>, %k: memref<1x8x2x4xf32, #npu.space<dram>>,
                 %v: memref<1x8x2x4xf32, #npu.space<dram>>, %out: memref<1x8x4xf32, #npu.space<dram>>) {
  %consts = npu.constant dense<[0.0, 0xFF800000]> : tensor<2xf32> : memref<2xf32, #npu.space<dram>>
  %w = npu.constant dense<1.0> : tensor<8x4xf32> : memref<8x4xf32, #npu.space<dram>>
  %qt = npu.alloc : memref<1x2x8x4xf32, #npu.space<dram>>
  npu.elementwise <copy> ins(%q) outs(%qt) {perm = array<i64: 0, 2, 1, 3>} : memref<1x8x2x4xf32, #npu.space<dram>> -> memref<1x2x8x4xf32, #npu.space<dram>>
  %kt = npu.alloc : memref<1x2x8x4xf32, #npu.space<dram>>
  npu.elementwise <copy> ins(%k) outs(%kt) {perm = array<i64: 0, 2, 1, 3>} : memref<1x8x2x4xf32, #npu.space<dram>> -> memref<1x2x8x4xf32, #npu.space<dram>>
  %vt = npu.alloc : memref<1x2x8x4xf32, #npu.space<dram>>
  npu.elementwise <copy> ins(%v) outs(%vt) {perm = array<i64: 0, 2, 1, 3>} : memref<1x8x2x4xf32, #npu.space<dram>> -> memref<1x2x8x4xf32, #npu.space<dram>>
  %o = npu.alloc : memref<1x2x8x4xf32, #npu.space<dram>>
  npu.flash_attention ins(%qt, %kt, %vt consts %consts) outs(%o) {causal = false, causal_offset = 0 : i64, compute_type = f32, scale = 5.000000e-01 : f32, softcap = 0.000000e+00 : f32} : memref<1x2x8x4xf32, #npu.space<dram>>, memref<1x2x8x4xf32, #npu.space<dram>>, memref<1x2x8x4xf32, #npu.space<dram>>, memref<2xf32, #npu.space<dram>> -> memref<1x2x8x4xf32, #npu.space<dram>>
  %y = npu.alloc : memref<1x8x2x4xf32, #npu.space<dram>>
  npu.elementwise <copy> ins(%o) outs(%y) {perm = array<i64: 0, 2, 1, 3>} : memref<1x2x8x4xf32, #npu.space<dram>> -> memref<1x8x2x4xf32, #npu.space<dram>>
  %m = npu.view %y : memref<1x8x2x4xf32, #npu.space<dram>> to memref<1x8x8xf32, #npu.space<dram>>
  npu.matmul ins(%m, %w) outs(%out) {compute_type = f32} : memref<1x8x8xf32, #npu.space<dram>>, memref<8x4xf32, #npu.space<dram>> -> memref<1x8x4xf32, #npu.space<dram>>
  return
}

// -----

// Left alone: a transposed copy another kernel also reads, a transpose of
// the innermost dim (K given as K^T: rows would not be contiguous), and an
// attention result read by a second kernel.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: npu.elementwise <copy>
func.func @kept(%q: memref<1x8x2x4xf32, #npu.space<dram>>, %kT: memref<1x2x4x8xf32, #npu.space<dram>>,
                %v: memref<1x2x8x4xf32, #npu.space<dram>>, %r: memref<1x2x8x4xf32, #npu.space<dram>>,
                %r2: memref<1x8x2x4xf32, #npu.space<dram>>) {
  %consts = npu.constant dense<[0.0, 0xFF800000]> : tensor<2xf32> : memref<2xf32, #npu.space<dram>>
  %qt = npu.alloc : memref<1x2x8x4xf32, #npu.space<dram>>
  npu.elementwise <copy> ins(%q) outs(%qt) {perm = array<i64: 0, 2, 1, 3>} : memref<1x8x2x4xf32, #npu.space<dram>> -> memref<1x2x8x4xf32, #npu.space<dram>>
  %k = npu.alloc : memref<1x2x8x4xf32, #npu.space<dram>>
  npu.elementwise <copy> ins(%kT) outs(%k) {perm = array<i64: 0, 1, 3, 2>} : memref<1x2x4x8xf32, #npu.space<dram>> -> memref<1x2x8x4xf32, #npu.space<dram>>
  %o = npu.alloc : memref<1x2x8x4xf32, #npu.space<dram>>
  npu.flash_attention ins(%qt, %k, %v consts %consts) outs(%o) {causal = false, causal_offset = 0 : i64, compute_type = f32, scale = 5.000000e-01 : f32, softcap = 0.000000e+00 : f32} : memref<1x2x8x4xf32, #npu.space<dram>>, memref<1x2x8x4xf32, #npu.space<dram>>, memref<1x2x8x4xf32, #npu.space<dram>>, memref<2xf32, #npu.space<dram>> -> memref<1x2x8x4xf32, #npu.space<dram>>
  npu.elementwise <add> ins(%o, %qt) outs(%r) : memref<1x2x8x4xf32, #npu.space<dram>>, memref<1x2x8x4xf32, #npu.space<dram>> -> memref<1x2x8x4xf32, #npu.space<dram>>
  npu.elementwise <copy> ins(%o) outs(%r2) {perm = array<i64: 0, 2, 1, 3>} : memref<1x2x8x4xf32, #npu.space<dram>> -> memref<1x8x2x4xf32, #npu.space<dram>>
  return
}
