// RUN: rbln-opt %s --split-input-file --npu-insert-sync | FileCheck %s

// A double-buffered tile (copy iter mod 2) loaded, worked on by the vector
// engine with a scratch row only it uses, and stored. The vector run waits
// for its item's load and signals at its last op; the store waits for it;
// the load reuses copy iter mod 2 once the store of the item two back is
// done (which implies that item's vector work: no wait on it). The scratch
// row needs nothing (one engine).
// CHECK-LABEL: func.func @pipeline
// CHECK: %load = npu.semaphore "load"
// CHECK-NEXT: %vec = npu.semaphore "vec"
// CHECK-NEXT: %store = npu.semaphore "store"
// CHECK: npu.distribute
// CHECK: %[[PREV:.*]] = arith.subi %iter, %c1
// CHECK-NEXT: npu.dma load {{.*}} on %ne wait(%store >= %[[PREV]]) signal(%load)
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %iter, %c1
// CHECK-NEXT: npu.vec <v.exp> {{.*}} on %ne wait(%load >= %[[NEXT]]) :
// CHECK-NEXT: npu.vec <v.add> {{.*}} on %ne signal(%vec) :
// CHECK-NEXT: npu.dma store {{.*}} on %ne wait(%vec >= %[[NEXT]]) signal(%store)
func.func @pipeline(%a: memref<64xf32, #npu.space<dram>>, %b: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 2 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>, %out = %b : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c16 = arith.constant 16 : index
    %x = npu.alloc {name = "x"} : memref<2x16xf32, #npu.space<spm>>
    %t = npu.alloc {name = "t"} : memref<16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 4 {
      %off = arith.muli %item, %c16 : index
      %buf = arith.remsi %iter, %c2 : index
      npu.dma load %in[%off] -> %x[%buf, %c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<2x16xf32, #npu.space<spm>>
      npu.vec <v.exp> %t[%c0] = %x[%buf, %c0] [1, 16] on %ne : memref<16xf32, #npu.space<spm>>, memref<2x16xf32, #npu.space<spm>>
      npu.vec <v.add> %x[%buf, %c0] = %x[%buf, %c0], %t[%c0] [1, 16] on %ne : memref<2x16xf32, #npu.space<spm>>, memref<2x16xf32, #npu.space<spm>>, memref<16xf32, #npu.space<spm>>
      npu.dma store %x[%buf, %c0] -> %out[%off] sizes [16] strides [1] -> [1] on %ne : memref<2x16xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// One buffer for every item: a load waits for the store of the item just
// before (count: the item's own index).
// CHECK-LABEL: func.func @single_buffer
// CHECK: npu.dma load {{.*}} on %ne wait(%store >= %iter) signal(%load)
// CHECK: npu.dma store {{.*}} on %ne wait(%load >= %{{.*}}) signal(%store)
func.func @single_buffer(%a: memref<64xf32, #npu.space<dram>>, %b: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <copy> ne = 1 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>, %out = %b : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c16 = arith.constant 16 : index
    %x = npu.alloc {name = "x"} : memref<16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 4 {
      %off = arith.muli %item, %c16 : index
      npu.dma load %in[%off] -> %x[%c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<16xf32, #npu.space<spm>>
      npu.dma store %x[%c0] -> %out[%off] sizes [16] strides [1] -> [1] on %ne : memref<16xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// Two loads, a tensor-engine product of them, the store of the result: the
// loads are one run (the last signals), the product waits for it and for
// the store that last read its accumulator copy — two waits, in the runs'
// order.
// CHECK-LABEL: func.func @product
// CHECK: %load = npu.semaphore "load"
// CHECK-NEXT: %mm = npu.semaphore "mm"
// CHECK-NEXT: %store = npu.semaphore "store"
// CHECK: npu.dma load %{{.*}} -> %a[{{.*}}] {{.*}} on %ne wait(%mm >= %[[PREV:[^)]*]]) :
// CHECK-NEXT: npu.dma load %{{.*}} -> %b[{{.*}}] {{.*}} on %ne signal(%load)
// CHECK: npu.mm {{.*}} on %ne wait(%load >= %[[NEXT:.*]], %store >= %[[PREV]]) signal(%mm)
// CHECK-NEXT: npu.dma store {{.*}} on %ne wait(%mm >= %[[NEXT]]) signal(%store)
func.func @product(%x: memref<4x8x8xf32, #npu.space<dram>>, %y: memref<4x8x8xf32, #npu.space<dram>>) {
  npu.tile_program <matmul> ne = 1 spm = 4096 ins(%in = %x : memref<4x8x8xf32, #npu.space<dram>>, %out = %y : memref<4x8x8xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %false = arith.constant false
    %a = npu.alloc {name = "a"} : memref<2x64xf32, #npu.space<spm>>
    %b = npu.alloc {name = "b"} : memref<2x64xf32, #npu.space<spm>>
    %acc = npu.alloc {name = "acc"} : memref<2x64xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 4 {
      %buf = arith.remsi %iter, %c2 : index
      npu.dma load %in[%item, %c0, %c0] -> %a[%buf, %c0] sizes [8, 8] strides [8, 1] -> [8, 1] on %ne : memref<4x8x8xf32, #npu.space<dram>> -> memref<2x64xf32, #npu.space<spm>>
      npu.dma load %in[%item, %c0, %c0] -> %b[%buf, %c0] sizes [8, 8] strides [8, 1] -> [8, 1] on %ne : memref<4x8x8xf32, #npu.space<dram>> -> memref<2x64xf32, #npu.space<spm>>
      npu.mm %acc[%buf, %c0] = %a[%buf, %c0] x %b[%buf, %c0] [8, 8, 8] accumulate(%false) on %ne : memref<2x64xf32, #npu.space<spm>>, memref<2x64xf32, #npu.space<spm>>, memref<2x64xf32, #npu.space<spm>>
      npu.dma store %acc[%buf, %c0] -> %out[%item, %c0, %c0] sizes [8, 8] strides [8, 1] -> [8, 1] on %ne : memref<2x64xf32, #npu.space<spm>> -> memref<4x8x8xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// A program that orders any of its commands is left as written.
// CHECK-LABEL: func.func @written
// CHECK: npu.dma load {{.*}} on %ne signal(%s) :
// CHECK-NEXT: npu.dma store {{.*}} on %ne :
func.func @written(%a: memref<64xf32, #npu.space<dram>>, %b: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <copy> ne = 1 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>, %out = %b : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %s = npu.semaphore "s"
    %x = npu.alloc {name = "x"} : memref<16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      npu.dma load %in[%c0] -> %x[%c0] sizes [16] strides [1] -> [1] on %ne signal(%s) : memref<64xf32, #npu.space<dram>> -> memref<16xf32, #npu.space<spm>>
      npu.dma store %x[%c0] -> %out[%c0] sizes [16] strides [1] -> [1] on %ne : memref<16xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// A table filled by an earlier distribute (3 items over 2 NEs, on the store
// queue) and read by the vector work of a later one: the NE's first item
// waits for all its items of the earlier loop — (3 + 1 - ne) / 2, i.e. 2 on
// NE 0 and 1 on NE 1 — and later items follow it on the vector engine.
// CHECK-LABEL: func.func @earlier_loop
// CHECK: %store = npu.semaphore "store"
// CHECK: npu.distribute %item, %iter on %ne items = 3 {
// CHECK-NEXT: npu.dma store {{.*}} -> %w[{{.*}}] {{.*}} on %ne signal(%store)
// CHECK: npu.distribute %item, %iter on %ne items = 4 {
// CHECK: %[[LEFT:.*]] = arith.subi %c4, %ne
// CHECK-NEXT: %[[MINE:.*]] = arith.divsi %[[LEFT]], %c2
// CHECK-NEXT: %[[FIRST:.*]] = arith.cmpi eq, %iter, %c0
// CHECK-NEXT: %[[N:.*]] = arith.select %[[FIRST]], %[[MINE]], %c0
// CHECK-NEXT: npu.vec <v.add> {{.*}} wait(%load >= %{{.*}}, %store >= %[[N]])
func.func @earlier_loop(%a: memref<64xf32, #npu.space<dram>>, %b: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <normalization> ne = 2 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>, %out = %b : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %w = npu.alloc {name = "w"} : memref<3x16xf32, #npu.space<spm>>
    %x = npu.alloc {name = "x"} : memref<2x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 3 {
      npu.dma store %in[%c0] -> %w[%item, %c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<3x16xf32, #npu.space<spm>>
    }
    npu.distribute %item, %iter on %ne items = 4 {
      %buf = arith.remsi %iter, %c2 : index
      npu.dma load %in[%c0] -> %x[%buf, %c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<2x16xf32, #npu.space<spm>>
      npu.vec <v.add> %x[%buf, %c0] = %x[%buf, %c0], %w[%c0, %c0] [1, 16] on %ne : memref<2x16xf32, #npu.space<spm>>, memref<2x16xf32, #npu.space<spm>>, memref<3x16xf32, #npu.space<spm>>
      npu.dma store %x[%buf, %c0] -> %out[%c0] sizes [16] strides [1] -> [1] on %ne : memref<2x16xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// A loop of one engine's commands (a row per iteration, as an embedding
// lookup gathers them; it runs at least once per item) is part of that
// engine's run: its first iteration waits, and only its last signals (a version of the command with the
// signal, one without), so the count stays one per item.
// CHECK-LABEL: func.func @rows_loop
// CHECK: %[[PREV:.*]] = arith.subi %iter, %c1
// CHECK-NEXT: scf.for %[[R:.*]] = %c0 to %[[N:.*]] step %c1 {
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[R]], %c0
// CHECK-NEXT: %[[W:.*]] = arith.select %[[FIRST]], %[[PREV]], %c0
// CHECK-NEXT: %[[END:.*]] = arith.subi %[[N]], %c1
// CHECK-NEXT: %[[LAST:.*]] = arith.cmpi eq, %[[R]], %[[END]]
// CHECK-NEXT: scf.if %[[LAST]] {
// CHECK-NEXT: npu.dma load {{.*}} wait(%store >= %[[W]]) signal(%load)
// CHECK-NEXT: } else {
// CHECK-NEXT: npu.dma load {{.*}} wait(%store >= %[[W]]) :
// CHECK: npu.dma store {{.*}} wait(%load >= %{{.*}}) signal(%store)
func.func @rows_loop(%a: memref<64xf32, #npu.space<dram>>, %b: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>, %out = %b : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %rows = npu.alloc {name = "rows"} : memref<2x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 4 {
      %buf = arith.remsi %iter, %c2 : index
      %more = arith.addi %item, %c1 : index
      %n = arith.minsi %more, %c4 : index
      scf.for %r = %c0 to %n step %c1 {
        %at = arith.muli %r, %c4 : index
        npu.dma load %in[%at] -> %rows[%buf, %at] sizes [4] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<2x16xf32, #npu.space<spm>>
      }
      npu.dma store %rows[%buf, %c0] -> %out[%c0] sizes [16] strides [1] -> [1] on %ne : memref<2x16xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// An item of 3 steps (a k-loop): a residual starts the accumulator on the
// first step, an operand tile (a copy per step, %step mod 2) is loaded and
// multiplied on every step, the accumulator (a copy per item, %iter mod 2)
// stored on the last. Every-step runs count steps, first- and last-step
// runs count items: the loads wait for the product two steps back, the
// product for its step's load, the store for the product of its step, the
// residual for the store of the item two back. The product's need on that
// store is implied: it follows its step's load, which follows the residual
// on the load queue.
// CHECK-LABEL: func.func @steps
// CHECK: %load = npu.semaphore "load"
// CHECK-NEXT: %mm = npu.semaphore "mm"
// CHECK-NEXT: %store = npu.semaphore "store"
// CHECK: npu.distribute %item, %iter on %ne items = 4 steps = 3 (%k, %step) {
// CHECK: %[[TPREV:.*]] = arith.subi %iter, %c1
// CHECK-NEXT: scf.if
// CHECK-NEXT: npu.dma load %{{.*}} -> %acc[{{.*}}] {{.*}} on %ne wait(%store >= %[[TPREV]]) :
// CHECK: %[[SPREV:.*]] = arith.subi %step, %c1
// CHECK-NEXT: npu.dma load %{{.*}} -> %a[{{.*}}] {{.*}} on %ne wait(%mm >= %[[SPREV]]) signal(%load)
// CHECK-NEXT: %[[SNEXT:.*]] = arith.addi %step, %c1
// CHECK-NEXT: npu.mm {{.*}} on %ne wait(%load >= %[[SNEXT]]) signal(%mm)
// CHECK: scf.if
// CHECK-NEXT: npu.dma store {{.*}} on %ne wait(%mm >= %[[SNEXT]]) signal(%store)
func.func @steps(%x: memref<64xf32, #npu.space<dram>>, %r: memref<64xf32, #npu.space<dram>>, %y: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <matmul> ne = 1 spm = 4096 ins(%in = %x : memref<64xf32, #npu.space<dram>>, %res = %r : memref<64xf32, #npu.space<dram>>, %out = %y : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %true = arith.constant true
    %a = npu.alloc {name = "a"} : memref<2x16xf32, #npu.space<spm>>
    %acc = npu.alloc {name = "acc"} : memref<2x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 4 steps = 3 (%k, %step) {
      %t = arith.remsi %iter, %c2 : index
      %s = arith.remsi %step, %c2 : index
      %first = arith.cmpi eq, %k, %c0 : index
      scf.if %first {
        npu.dma load %res[%c0] -> %acc[%t, %c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<2x16xf32, #npu.space<spm>>
      }
      npu.dma load %in[%c0] -> %a[%s, %c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<2x16xf32, #npu.space<spm>>
      npu.mm %acc[%t, %c0] = %a[%s, %c0] x %a[%s, %c0] [4, 4, 4] accumulate(%true) on %ne : memref<2x16xf32, #npu.space<spm>>, memref<2x16xf32, #npu.space<spm>>, memref<2x16xf32, #npu.space<spm>>
      %c2_0 = arith.constant 2 : index
      %last = arith.cmpi eq, %k, %c2_0 : index
      scf.if %last {
        npu.dma store %acc[%t, %c0] -> %out[%c0] sizes [16] strides [1] -> [1] on %ne : memref<2x16xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
      }
    }
  }
  return
}
