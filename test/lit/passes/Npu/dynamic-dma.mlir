// RUN: rbln-opt %s --split-input-file --npu-dynamic-dma | FileCheck %s

// A DMA indexed by run-time values on its DRAM side: right before it, the
// CP forms the address of the element at the register indices (the other
// indices 0), and the DMA reads or writes `at` that register with the
// register indices replaced by 0 — its static offsets count from there.
// CHECK-LABEL: func.func @paged_rows
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[BLK:.*]] = npu.cp.load_index
// CHECK-NEXT: %[[A:.*]] = npu.cp.address %{{.*}}[%[[BLK]] : !npu.reg, %[[C0]], %[[C0]], %[[C0]]]
// CHECK-NEXT: npu.dma load %[[KC:.*]][%[[C0]], %{{.*}}, %c3, %[[C0]]] -> %k[%[[C0]]] at(%[[A]]) sizes [2, 8]
// Both register indices go into the address; an SPM -> DRAM store too.
// CHECK: %[[S:.*]] = npu.cp.load_index
// CHECK-NEXT: %[[A2:.*]] = npu.cp.address %[[KC]][%[[BLK]] : !npu.reg, %[[C0]], %[[S]] : !npu.reg, %[[C0]]]
// CHECK-NEXT: npu.dma store %k[%[[C0]]] -> %[[KC]][%[[C0]], %[[C0]], %[[C0]], %[[C0]]] at(%[[A2]])
// A DMA already at an address is left alone.
// CHECK-NEXT: %[[A3:.*]] = npu.cp.address
// CHECK-NEXT: npu.dma load %[[KC]][%[[C0]], %[[C0]], %[[C0]], %[[C0]]] -> %k[%[[C0]]] at(%[[A3]])
// CHECK-NOT: npu.cp.address
func.func @paged_rows(%cache: memref<?x2x4x8xf32, #npu.space<dram>>, %tab: memref<4xi32, #npu.space<dram>>) {
  npu.tile_program <paged_attention> ne = 1 spm = 1024 ins(%kc = %cache : memref<?x2x4x8xf32, #npu.space<dram>>, %t = %tab : memref<4xi32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %k = npu.alloc {name = "k", offset = 0 : i64} : memref<64xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      %blk = npu.cp.load_index %t[%item] : memref<4xi32, #npu.space<dram>>
      npu.dma load %kc[%blk : !npu.reg, %c1, %c3, %c0] -> %k[%c0] sizes [2, 8] strides [8, 1] -> [8, 1] on %ne : memref<?x2x4x8xf32, #npu.space<dram>> -> memref<64xf32, #npu.space<spm>>
      %s = npu.cp.load_index %t[%c1] : memref<4xi32, #npu.space<dram>>
      npu.dma store %k[%c0] -> %kc[%blk : !npu.reg, %c0, %s : !npu.reg, %c0] sizes [2, 8] strides [8, 1] -> [32, 1] on %ne : memref<64xf32, #npu.space<spm>> -> memref<?x2x4x8xf32, #npu.space<dram>>
      %a = npu.cp.address %kc[%blk : !npu.reg, %c0, %s : !npu.reg, %c0] : memref<?x2x4x8xf32, #npu.space<dram>>
      npu.dma load %kc[%c0, %c0, %c0, %c0] -> %k[%c0] at(%a) sizes [2, 8] strides [8, 1] -> [8, 1] on %ne : memref<?x2x4x8xf32, #npu.space<dram>> -> memref<64xf32, #npu.space<spm>>
    }
  }
  return
}
