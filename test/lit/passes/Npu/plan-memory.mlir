// RUN: rbln-opt %s --split-input-file --npu-plan-memory="target=tiny use-shm=false" | FileCheck %s
// RUN: rbln-opt %s --split-input-file --npu-plan-memory=target=tiny | FileCheck %s --check-prefix=SHM

// Weights are packed in program order at 64-byte alignment. Scratch buffers
// share memory when their live ranges (views included) do not overlap: %t0
// dies after the second kernel, so %t2 reuses its offset; %t1 is still live
// through its view when %t2 is written, so it keeps its own space. The weight
// pool belongs to the module: a constant with the same bytes in another entry
// function (@other, as prefill and decode share weights) takes the same offset.
// CHECK: module attributes {rbln.weights_bytes = 192 : i64}
// CHECK-LABEL: func.func @plan
// CHECK-SAME: rbln.scratch_bytes = 128 : i64
// CHECK: npu.constant {{.*}} {offset = 0 : i64} : memref<3xf32
// CHECK: npu.constant {{.*}} {offset = 64 : i64} : memref<4xf32
// CHECK: %[[T0:.*]] = npu.alloc {offset = 0 : i64} : memref<4xf32
// CHECK: %[[T1:.*]] = npu.alloc {offset = 64 : i64} : memref<4xf32
// CHECK: %[[T2:.*]] = npu.alloc {offset = 0 : i64} : memref<4xf32
// With shared memory the same plan is made there: the allocs and their views
// take #npu.space<shm>, the DRAM arena is empty.
// SHM-LABEL: func.func @plan
// SHM-SAME: rbln.scratch_bytes = 0 : i64, rbln.shm_scratch_bytes = 128 : i64
// SHM: npu.alloc {offset = 0 : i64} : memref<4xf32, #npu.space<shm>>
// SHM: npu.alloc {offset = 64 : i64} : memref<4xf32, #npu.space<shm>>
// SHM: npu.view %{{.*}} : memref<4xf32, #npu.space<shm>> to memref<2x2xf32, #npu.space<shm>>
// SHM: npu.alloc {offset = 0 : i64} : memref<4xf32, #npu.space<shm>>
// SHM: npu.view %arg1 : memref<4xf32, #npu.space<dram>> to memref<2x2xf32, #npu.space<dram>>
func.func @plan(%x: memref<4xf32, #npu.space<dram>>, %y: memref<4xf32, #npu.space<dram>>) {
  %c0 = npu.constant dense<1.0> : tensor<3xf32> : memref<3xf32, #npu.space<dram>>
  %c1 = npu.constant dense<2.0> : tensor<4xf32> : memref<4xf32, #npu.space<dram>>
  %t0 = npu.alloc : memref<4xf32, #npu.space<dram>>
  npu.elementwise <add> ins(%x, %c1) outs(%t0) : memref<4xf32, #npu.space<dram>>, memref<4xf32, #npu.space<dram>> -> memref<4xf32, #npu.space<dram>>
  %t1 = npu.alloc : memref<4xf32, #npu.space<dram>>
  npu.elementwise <relu> ins(%t0) outs(%t1) : memref<4xf32, #npu.space<dram>> -> memref<4xf32, #npu.space<dram>>
  %v1 = npu.view %t1 : memref<4xf32, #npu.space<dram>> to memref<2x2xf32, #npu.space<dram>>
  %t2 = npu.alloc : memref<4xf32, #npu.space<dram>>
  npu.elementwise <tanh> ins(%t1) outs(%t2) : memref<4xf32, #npu.space<dram>> -> memref<4xf32, #npu.space<dram>>
  %v2 = npu.view %t2 : memref<4xf32, #npu.space<dram>> to memref<2x2xf32, #npu.space<dram>>
  %w = npu.view %y : memref<4xf32, #npu.space<dram>> to memref<2x2xf32, #npu.space<dram>>
  npu.elementwise <add> ins(%v1, %v2) outs(%w) : memref<2x2xf32, #npu.space<dram>>, memref<2x2xf32, #npu.space<dram>> -> memref<2x2xf32, #npu.space<dram>>
  return
}

// CHECK-LABEL: func.func @other
// CHECK: npu.constant {{.*}} {offset = 64 : i64} : memref<4xf32
// CHECK: npu.constant {{.*}} {offset = 128 : i64} : memref<4xf32
func.func @other(%x: memref<4xf32, #npu.space<dram>>) {
  %c1 = npu.constant dense<2.0> : tensor<4xf32> : memref<4xf32, #npu.space<dram>>
  %c2 = npu.constant dense<3.0> : tensor<4xf32> : memref<4xf32, #npu.space<dram>>
  npu.elementwise <add> ins(%c1, %c2) outs(%x) : memref<4xf32, #npu.space<dram>>, memref<4xf32, #npu.space<dram>> -> memref<4xf32, #npu.space<dram>>
  return
}

// -----

// tiny has 1 MiB of shared memory; a 768 KiB buffer fits, a second one live at the
// same time does not and goes to the DRAM arena; once the first is dead
// the third takes its place in SHM.
// SHM-LABEL: func.func @spill
// SHM-SAME: rbln.scratch_bytes = 786432 : i64, rbln.shm_scratch_bytes = 786432 : i64
// SHM: npu.alloc {offset = 0 : i64} : memref<196608xf32, #npu.space<shm>>
// SHM: npu.alloc {offset = 0 : i64} : memref<196608xf32, #npu.space<dram>>
// SHM: npu.alloc {offset = 0 : i64} : memref<196608xf32, #npu.space<shm>>
func.func @spill(%x: memref<196608xf32, #npu.space<dram>>, %y: memref<196608xf32, #npu.space<dram>>) {
  %a = npu.alloc : memref<196608xf32, #npu.space<dram>>
  npu.elementwise <relu> ins(%x) outs(%a) : memref<196608xf32, #npu.space<dram>> -> memref<196608xf32, #npu.space<dram>>
  %b = npu.alloc : memref<196608xf32, #npu.space<dram>>
  npu.elementwise <relu> ins(%a) outs(%b) : memref<196608xf32, #npu.space<dram>> -> memref<196608xf32, #npu.space<dram>>
  %c = npu.alloc : memref<196608xf32, #npu.space<dram>>
  npu.elementwise <tanh> ins(%b) outs(%c) : memref<196608xf32, #npu.space<dram>> -> memref<196608xf32, #npu.space<dram>>
  npu.elementwise <relu> ins(%c) outs(%y) : memref<196608xf32, #npu.space<dram>> -> memref<196608xf32, #npu.space<dram>>
  return
}
