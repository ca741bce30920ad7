// RUN: rbln-opt %s --split-input-file --npu-multi-buffer | FileCheck %s
// RUN: rbln-opt %s --split-input-file --npu-multi-buffer=buffers=3 --npu-insert-sync | FileCheck %s --check-prefix=THREE

// A kernel written one item at a time: x is loaded, worked on and stored
// (three engines) so it gets two copies, 64-byte aligned (6 floats: a copy
// every 16), every access indexed by the NE's item count mod 2; t is the
// vector engine's alone and keeps one copy; nothing uses u. None stays
// item-local.
// CHECK-LABEL: func.func @copies
// CHECK: %x = npu.alloc {name = "x"} : memref<2x6xf32, strided<[16, 1]>, #npu.space<spm>>
// CHECK: %t = npu.alloc {name = "t"} : memref<6xf32, #npu.space<spm>>
// CHECK: %u = npu.alloc {name = "u"} : memref<6xf32, #npu.space<spm>>
// CHECK: npu.distribute %item, %iter on %ne items = 4 {
// CHECK-NEXT: %[[SLOT:.*]] = arith.remsi %iter, %c2
// CHECK: npu.dma load %{{.*}} -> %x[%[[SLOT]], %c0] sizes [6]
// CHECK-NEXT: npu.vec <v.exp> %t[%c0] = %x[%[[SLOT]], %c0] [1, 6]
// CHECK-NEXT: npu.vec <v.add> %x[%[[SLOT]], %c0] = %x[%[[SLOT]], %c0], %t[%c0] [1, 6]
// CHECK-NEXT: npu.dma store %x[%[[SLOT]], %c0] -> %{{.*}} sizes [6]
// CHECK-NOT: item_local
// With three copies the load reuses a copy once the store three items back
// is done: iter + 1 - 3.
// THREE-LABEL: func.func @copies
// THREE: %x = npu.alloc {name = "x"} : memref<3x6xf32, strided<[16, 1]>, #npu.space<spm>>
// THREE: %[[SLOT:.*]] = arith.remsi %iter, %c3
// THREE: %[[BACK:.*]] = arith.subi %iter, %c2
// THREE-NEXT: npu.dma load %{{.*}} -> %x[%[[SLOT]], %c0] {{.*}} wait(%store >= %[[BACK]]) signal(%load)
func.func @copies(%a: memref<24xf32, #npu.space<dram>>, %b: memref<24xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 2 spm = 1024 ins(%in = %a : memref<24xf32, #npu.space<dram>>, %out = %b : memref<24xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c6 = arith.constant 6 : index
    %x = npu.alloc {name = "x", item_local} : memref<6xf32, #npu.space<spm>>
    %t = npu.alloc {name = "t", item_local} : memref<6xf32, #npu.space<spm>>
    %u = npu.alloc {name = "u", item_local} : memref<6xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 4 {
      %off = arith.muli %item, %c6 : index
      npu.dma load %in[%off] -> %x[%c0] sizes [6] strides [1] -> [1] on %ne : memref<24xf32, #npu.space<dram>> -> memref<6xf32, #npu.space<spm>>
      npu.vec <v.exp> %t[%c0] = %x[%c0] [1, 6] on %ne : memref<6xf32, #npu.space<spm>>, memref<6xf32, #npu.space<spm>>
      npu.vec <v.add> %x[%c0] = %x[%c0], %t[%c0] [1, 6] on %ne : memref<6xf32, #npu.space<spm>>, memref<6xf32, #npu.space<spm>>, memref<6xf32, #npu.space<spm>>
      npu.dma store %x[%c0] -> %out[%off] sizes [6] strides [1] -> [1] on %ne : memref<6xf32, #npu.space<spm>> -> memref<24xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// An item cut into 2 steps: the operand tile a is filled afresh each step
// (step_local: copies by the NE's step count), the accumulator each item
// (item_local: copies by its item count). With three buffers both get three.
// CHECK-LABEL: func.func @steps
// CHECK: %a = npu.alloc {name = "a"} : memref<2x16xf32, #npu.space<spm>>
// CHECK: %acc = npu.alloc {name = "acc"} : memref<2x16xf32, #npu.space<spm>>
// CHECK: npu.distribute %item, %iter on %ne items = 4 steps = 2 (%k, %step) {
// CHECK-NEXT: %[[T:.*]] = arith.remsi %iter, %c2
// CHECK-NEXT: %[[S:.*]] = arith.remsi %step, %c2
// CHECK: npu.dma load %{{.*}} -> %a[%[[S]], %c0]
// CHECK-NEXT: npu.mm %acc[%[[T]], %c0] = %a[%[[S]], %c0] x %a[%[[S]], %c0]
// CHECK: npu.dma store %acc[%[[T]], %c0]
// CHECK-NOT: step_local
// THREE-LABEL: func.func @steps
// THREE: %a = npu.alloc {name = "a"} : memref<3x16xf32, #npu.space<spm>>
// THREE: %acc = npu.alloc {name = "acc"} : memref<3x16xf32, #npu.space<spm>>
// THREE: %[[S:.*]] = arith.remsi %step, %c3
// THREE: %[[BACK:.*]] = arith.subi %step, %c2
// THREE-NEXT: npu.dma load %{{.*}} -> %a[%[[S]], %c0] {{.*}} wait(%mm >= %[[BACK]]) signal(%load)
func.func @steps(%x: memref<64xf32, #npu.space<dram>>, %y: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <matmul> ne = 1 spm = 4096 ins(%in = %x : memref<64xf32, #npu.space<dram>>, %out = %y : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %true = arith.constant true
    %a = npu.alloc {name = "a", step_local} : memref<16xf32, #npu.space<spm>>
    %acc = npu.alloc {name = "acc", item_local} : memref<16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 4 steps = 2 (%k, %step) {
      npu.dma load %in[%c0] -> %a[%c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<16xf32, #npu.space<spm>>
      npu.mm %acc[%c0] = %a[%c0] x %a[%c0] [4, 4, 4] accumulate(%true) on %ne : memref<16xf32, #npu.space<spm>>, memref<16xf32, #npu.space<spm>>, memref<16xf32, #npu.space<spm>>
      %last = arith.cmpi eq, %k, %c1 : index
      scf.if %last {
        npu.dma store %acc[%c0] -> %out[%c0] sizes [16] strides [1] -> [1] on %ne : memref<16xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
      }
    }
  }
  return
}
