// RUN: rbln-opt %s --split-input-file --npu-materialize-tiles --npu-multi-buffer --npu-insert-sync --verify-diagnostics | FileCheck %s
// RUN: rbln-opt %s --split-input-file --npu-materialize-tiles --npu-multi-buffer --npu-insert-sync --verify-diagnostics | rbln-opt --split-input-file | FileCheck %s

// The softmax, elementwise, row and KV-cache-write kernels are materialized
// one item at a time, without copies of their per-item buffers or waits and
// signals; npu-multi-buffer and npu-insert-sync (their own cases:
// multi-buffer.mlir, insert-sync.mlir) add them, and the checks below show
// the result. The other kernels write their own.

// Softmax over 20 rows of 64 in tiles of 8 rows on 2 NEs: 3 work items (the
// last one 4 rows, so the tile's rows are min(8, 20 - r0)); the x tile
// double buffered (a leading 2 indexed by the iteration mod 2, each copy
// 64-byte aligned; npu-allocate-scratchpad gives the buffers their offsets),
// the row max and sum (the vector engine's alone) once. The load waits until
// the store of the tile two iterations back has freed its buffer, the vector
// work for its load, the store for the vector work.
// CHECK-LABEL: func.func @softmax
// CHECK: npu.tile_program <softmax> ne = 2 spm = 4352 ins(%[[IN:.*]] = %{{.*}} : memref<20x64xf32, #npu.space<dram>>, %[[OUT:.*]] = %{{.*}} : memref<20x64xf32, #npu.space<dram>>)
// CHECK: %load = npu.semaphore "load"
// CHECK: %vec = npu.semaphore "vec"
// CHECK: %store = npu.semaphore "store"
// CHECK: %x = npu.alloc {name = "x"} : memref<2x8x64xf32, #npu.space<spm>>
// CHECK: %max = npu.alloc {name = "max"} : memref<8xf32, #npu.space<spm>>
// CHECK: %sum = npu.alloc {name = "sum"} : memref<8xf32, #npu.space<spm>>
// CHECK: npu.distribute %item, %iter on %ne items = 3 {
// CHECK: %[[BUF:.*]] = arith.remsi %iter, %c2
// CHECK: %[[R0:.*]] = arith.muli %item, %c8
// CHECK: %[[LEFT:.*]] = arith.subi %c20, %[[R0]]
// CHECK: %[[ROWS:.*]] = arith.minsi %[[LEFT]], %c8
// CHECK: %[[PREV:.*]] = arith.subi %iter, %c1
// CHECK: npu.dma load %[[IN]][%[[R0]], %c0] -> %x[%[[BUF]], %c0, %c0] sizes [%[[ROWS]], 64] strides [64, 1] -> [64, 1] on %ne wait(%store >= %[[PREV]]) signal(%load)
// CHECK: %[[NEXT:.*]] = arith.addi %iter, %c1
// CHECK: npu.vec <vred.max> %max[%c0] = %x[%[[BUF]], %c0, %c0] [%[[ROWS]], 64] on %ne wait(%load >= %[[NEXT]])
// CHECK: npu.vec <v.sub> %x[{{.*}}] = %x[{{.*}}], %max[{{.*}}] [%[[ROWS]], 64] bcast col on %ne
// CHECK: npu.vec <v.exp>
// CHECK: npu.vec <vred.sum> %sum
// CHECK: npu.vec <v.div> {{.*}} bcast col on %ne signal(%vec)
// CHECK: npu.dma store %x[%[[BUF]], %c0, %c0] -> %[[OUT]][%[[R0]], %c0] {{.*}} wait(%vec >= %[[NEXT]]) signal(%store)
// CHECK-NOT: npu.softmax
func.func @softmax(%x: memref<20x64xf32, #npu.space<dram>>, %y: memref<20x64xf32, #npu.space<dram>>) {
  npu.softmax ins(%x) outs(%y) {tiling = #npu.tiling<[8], ne = 2, spm = 4352>} : memref<20x64xf32, #npu.space<dram>> -> memref<20x64xf32, #npu.space<dram>>
  return
}

// -----

// A softmax over a 3-D buffer reads it as [rows, len] through a view; whole
// tiles need no min.
// CHECK-LABEL: func.func @softmax3d
// CHECK: %[[V:.*]] = npu.view %arg0 : memref<2x8x32xf16, #npu.space<dram>> to memref<16x32xf16, #npu.space<dram>>
// CHECK: npu.tile_program <softmax> ne = 2 spm = {{[0-9]+}} ins(%{{.*}} = %[[V]]
// CHECK-NOT: arith.minsi
// CHECK: npu.dma load {{.*}} sizes [8, 32]
func.func @softmax3d(%x: memref<2x8x32xf16, #npu.space<dram>>, %y: memref<2x8x32xf16, #npu.space<dram>>) {
  npu.softmax ins(%x) outs(%y) {tiling = #npu.tiling<[8], ne = 2, spm = 8192>} : memref<2x8x32xf16, #npu.space<dram>> -> memref<2x8x32xf16, #npu.space<dram>>
  return
}

// -----

// RMSNorm with a residual: scale is loaded once per NE that has rows (a loop
// of one item per NE, on the store queue: its signal is `store`, the main
// loop's store's `store_2`), the residual's rows beside the input's (the
// loads are one run: the input's waits for the store that last read x, the
// residual's signals); the first vector op waits for both loads and, on an
// NE's first iteration only, for the scale (the NE's items of the first
// loop — 1 — at iteration 0, else 0: no wait).
// CHECK-LABEL: func.func @rms
// CHECK: npu.tile_program <normalization> ne = 2 spm = {{[0-9]+}} ins(%[[IN:[^ ]*]] = {{.*}}, %[[OUT:[^ ]*]] = {{.*}}, %[[SCALE:[^ ]*]] = {{.*}}, %[[RES:[^ ]*]] = {{.*}})
// CHECK: %store = npu.semaphore "store"
// CHECK-NEXT: %load = npu.semaphore "load"
// CHECK-NEXT: %vec = npu.semaphore "vec"
// CHECK-NEXT: %store_2 = npu.semaphore "store_2"
// CHECK: %scale = npu.alloc {name = "scale"
// CHECK: %residual = npu.alloc {name = "residual"
// CHECK: npu.distribute %item, %iter on %ne items = 2 {
// CHECK-NEXT: npu.dma store %[[SCALE]][%c0] -> %scale[%c0] sizes [32] strides [1] -> [1] on %ne signal(%store)
// CHECK-NEXT: }
// CHECK: npu.distribute %item, %iter on %ne items = 2 {
// CHECK: npu.dma load %[[IN]]{{.*}} wait(%store_2 >= %{{.*}}) :
// CHECK-NEXT: npu.dma load %[[RES]]{{.*}} on %ne signal(%load)
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %iter, %c0
// CHECK: %[[PW:.*]] = arith.select %[[FIRST]], %c1, %c0
// CHECK: npu.vec <v.add> %x{{.*}}, %residual{{.*}} wait(%load >= %{{.*}}, %store >= %[[PW]])
// CHECK: npu.vec <v.rsqrt> %var
// CHECK: npu.vec <v.mul> {{.*}}, %scale[%c0] [8, 32] bcast row on %ne signal(%vec)
// CHECK: npu.dma store %x{{.*}} -> %[[OUT]]{{.*}} wait(%vec >= %{{.*}}) signal(%store_2)
func.func @rms(%x: memref<16x32xf32, #npu.space<dram>>, %s: memref<32xf32, #npu.space<dram>>, %r: memref<16x32xf32, #npu.space<dram>>, %y: memref<16x32xf32, #npu.space<dram>>) {
  npu.rows <rms_norm> ins(%x scale %s residual %r) outs(%y) {epsilon = 1.0e-05 : f32, tiling = #npu.tiling<[8], ne = 2, spm = 16384>} : memref<16x32xf32, #npu.space<dram>>, memref<32xf32, #npu.space<dram>> residual memref<16x32xf32, #npu.space<dram>> -> memref<16x32xf32, #npu.space<dram>>
  return
}

// -----

// A mean stores one value per row: a 1-D DMA from the row statistics. The
// load reuses x's copy once the vector work two items back read it; the
// vector work waits for its load and for the store that last read its
// statistics' copy.
// CHECK-LABEL: func.func @mean
// CHECK: npu.tile_program <reduction>
// CHECK: npu.dma load {{.*}} -> %x{{.*}} wait(%vec >= %{{.*}}) signal(%load)
// CHECK: npu.vec <vred.sum> %stat{{.*}} wait(%load >= %{{.*}}, %store >= %{{.*}})
// CHECK: npu.vec <v.mul> %stat[{{.*}}] = %stat[{{.*}}] [8, 1] bcast imm scalar 3.125000e-02 on %ne signal(%vec)
// CHECK: npu.dma store %stat[%{{.*}}, %c0] -> %{{.*}}[%{{.*}}] sizes [8] strides [1] -> [1]
func.func @mean(%x: memref<16x32xf32, #npu.space<dram>>, %y: memref<16xf32, #npu.space<dram>>) {
  npu.rows <mean> ins(%x) outs(%y) {tiling = #npu.tiling<[8], ne = 2, spm = 16384>} : memref<16x32xf32, #npu.space<dram>> -> memref<16xf32, #npu.space<dram>>
  return
}

// -----

// An elementwise add of a [6, 32] buffer and a [32] row: every operand is
// bound as a 4-D view over the output's index space, the row with stride 0
// where it broadcasts, so a tile is the same indices in each; the row loads
// once per tile and the add reads it with a row broadcast. Tiles of 3
// rows: items 0 and 1 are row blocks 0 and 1 of the one (b0, b1); the vector op waits for both loads and
// for the store that last used its output buffer.
// CHECK-LABEL: func.func @add_row
// CHECK: %[[ROW:.*]] = npu.view %arg1 : memref<32xf32, #npu.space<dram>> to memref<1x1x6x32xf32, strided<[0, 0, 0, 1]>, #npu.space<dram>>
// CHECK: npu.tile_program <elementwise> ne = 2 spm = {{[0-9]+}} ins(%[[A:[^ ]*]] = %{{.*}} : memref<1x1x6x32xf32, strided<[0, 0, 32, 1]>, #npu.space<dram>>, %[[B:[^ ]*]] = %[[ROW]] : {{.*}}, %[[C:[^ ]*]] = %{{.*}} : memref<1x1x6x32xf32, strided<[0, 0, 32, 1]>, #npu.space<dram>>)
// CHECK: %in0 = npu.alloc {name = "in0"} : memref<2x96xf32, #npu.space<spm>>
// CHECK: %in1 = npu.alloc
// CHECK: %out = npu.alloc
// CHECK: npu.distribute %item, %iter on %ne items = 2 {
// CHECK: %[[RB:.*]] = arith.remsi %item, %c2
// CHECK: %[[B0:.*]] = arith.divsi %item, %c2
// CHECK: %[[R0:.*]] = arith.muli %[[RB]], %c3
// CHECK: npu.dma load %[[A]][%[[B0]], %c0, %[[R0]], %c0] -> %in0[%[[BUF:.*]], %c0] sizes [3, 32] strides [32, 1] -> [32, 1] on %ne wait(%vec >= %{{.*}}) :
// CHECK: npu.dma load %[[B]][%[[B0]], %c0, %[[R0]], %c0] -> %in1[%[[BUF]], %c0] sizes [32] strides [1] -> [1] on %ne signal(%load)
// CHECK: npu.vec <v.add> %out[%[[BUF]], %c0] = %in0[%[[BUF]], %c0], %in1[%[[BUF]], %c0] [3, 32] bcast row on %ne wait(%load >= %{{.*}}, %store >= %{{.*}}) signal(%vec)
// CHECK: npu.dma store %out[%[[BUF]], %c0] -> %[[C]][%[[B0]], %c0, %[[R0]], %c0] sizes [3, 32] strides [32, 1] -> [32, 1] on %ne wait(%vec >= %{{.*}}) signal(%store)
func.func @add_row(%x: memref<6x32xf32, #npu.space<dram>>, %r: memref<32xf32, #npu.space<dram>>, %y: memref<6x32xf32, #npu.space<dram>>) {
  npu.elementwise <add> ins(%x, %r) outs(%y) {tiling = #npu.tiling<[3, 32], ne = 2, spm = 8192>} : memref<6x32xf32, #npu.space<dram>>, memref<32xf32, #npu.space<dram>> -> memref<6x32xf32, #npu.space<dram>>
  return
}

// -----

// A copy stores the loaded tile (no vector work); a cast is the DMA's. The
// contiguous [4, 40] is one run of 160 elements, in tiles of 24: the last
// is min(24, 160 - c0) wide, and the scratchpad's row stride is that width.
// CHECK-LABEL: func.func @cast
// CHECK: npu.tile_program <copy> {{.*}}memref<1x1x1x160xf32, strided<[0, 0, 0, 1]>, #npu.space<dram>>
// CHECK-NOT: npu.vec
// CHECK: npu.distribute %item, %iter on %ne items = 7 {
// CHECK: %[[CT:.*]] = arith.minsi %{{.*}}, %c24
// CHECK: npu.dma load {{.*}} sizes [1, %[[CT]]] strides [0, 1] -> [%[[CT]], 1] on %ne {{.*}}signal(%load) : {{.*}} -> memref<2x96xf32, #npu.space<spm>>
// CHECK: npu.dma store {{.*}} sizes [1, %[[CT]]] strides [%[[CT]], 1] -> [0, 1] on %ne wait(%load >= %{{.*}}) signal(%store) : memref<2x96xf32, #npu.space<spm>> -> memref<1x1x1x160xf16, strided<[0, 0, 0, 1]>, #npu.space<dram>>
func.func @cast(%x: memref<4x40xf32, #npu.space<dram>>, %y: memref<4x40xf16, #npu.space<dram>>) {
  npu.elementwise <copy> ins(%x) outs(%y) {tiling = #npu.tiling<[4, 24], ne = 2, spm = 8192>} : memref<4x40xf32, #npu.space<dram>> -> memref<4x40xf16, #npu.space<dram>>
  return
}

// -----

// A 16x32 @ 32x24 matmul in f16 with a row bias and relu, tiles 8x24x16 on
// 2 NEs: 2 output tiles of 2 k-steps each, issued at step granularity
// (`steps = 2`: the body sees the step within the item, %k, and the NE's
// step count, %step). Operands are flat runs of elements. The kernel is
// written one step at a time: the A and B tiles are step-local (two copies
// by %step mod 2), the f32 accumulator and bias item-local (two copies by
// %iter mod 2). The bias is loaded on the first k-step (on the store queue,
// behind the previous tile's store, which already waited for the epilogue
// that last read its copy: no wait of its own); the epilogue and store run
// on the last (scf.if on %k, decided per item at expansion). The loads of a
// step wait for the product two steps back (their copy), the product for
// its step's loads and for the store that last read its accumulator copy
// (the output tile two back: a count of items); the epilogue for the
// product of its step and the bias of its tile.
// CHECK-LABEL: func.func @mm
// CHECK: npu.tile_program <matmul> ne = 2 spm = 65536 ins(%[[X:[^ ]*]] = %{{.*}} : memref<512xf16, #npu.space<dram>>, %[[W:[^ ]*]] = %{{.*}} : memref<768xf16, #npu.space<dram>>, %[[Y:[^ ]*]] = %{{.*}} : memref<384xf32, #npu.space<dram>>, %[[B:[^ ]*]] = %arg2 : memref<24xf32, #npu.space<dram>>) attributes {reuse = #npu.reuse<tiled>}
// CHECK: %a = npu.alloc {name = "a"} : memref<2x128xf16, #npu.space<spm>>
// CHECK: %b = npu.alloc {name = "b"} : memref<2x384xf16, #npu.space<spm>>
// CHECK: %acc = npu.alloc {name = "acc"} : memref<2x192xf32, #npu.space<spm>>
// CHECK: %bias = npu.alloc {name = "bias"} : memref<2x24xf32, strided<[32, 1]>, #npu.space<spm>>
// CHECK: npu.distribute %item, %iter on %ne items = 2 steps = 2 (%k, %step) {
// CHECK-NEXT: %[[T:.*]] = arith.remsi %iter, %c2
// CHECK-NEXT: %[[S:.*]] = arith.remsi %step, %c2
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %k, %c0
// CHECK: scf.if %[[FIRST]] {
// CHECK-NEXT: npu.dma store %[[B]][%c0] -> %bias[%[[T]], %c0] sizes [24] strides [1] -> [1] on %ne signal(%store) :
// CHECK: %[[SPREV:.*]] = arith.subi %step, %c1
// CHECK-NEXT: npu.dma load %[[X]][%{{.*}}] -> %a[%[[S]], %c0] sizes [8, 16] strides [32, 1] -> [16, 1] on %ne wait(%mm >= %[[SPREV]]) :
// CHECK: npu.dma load %[[W]][%{{.*}}] -> %b[%[[S]], %c0] sizes [16, 24] strides [24, 1] -> [24, 1] on %ne signal(%load)
// CHECK: %[[MORE:.*]] = arith.cmpi sgt, %k, %c0
// CHECK: %[[SNEXT:.*]] = arith.addi %step, %c1
// CHECK-NEXT: %[[TPREV:.*]] = arith.subi %iter, %c1
// CHECK-NEXT: npu.mm %acc[%[[T]], %c0] = %a[%[[S]], %c0] x %b[%[[S]], %c0] [8, 24, 16] accumulate(%[[MORE]]) on %ne wait(%load >= %[[SNEXT]], %store_2 >= %[[TPREV]]) signal(%mm)
// CHECK: %[[LAST:.*]] = arith.cmpi eq, %k, %c1
// CHECK-NEXT: %[[TNEXT:.*]] = arith.addi %iter, %c1
// CHECK-NEXT: scf.if %[[LAST]] {
// CHECK-NEXT: npu.vec <v.add> %acc[%[[T]], %c0] = %acc[%[[T]], %c0], %bias[%[[T]], %c0] [8, 24] bcast row on %ne wait(%store >= %[[TNEXT]], %mm >= %[[SNEXT]])
// CHECK-NEXT: npu.vec <v.relu> {{.*}} signal(%vec)
// CHECK-NEXT: npu.dma store %acc[%[[T]], %c0] -> %[[Y]][%{{.*}}] sizes [8, 24] strides [24, 1] -> [24, 1] on %ne wait(%vec >= %[[TNEXT]]) signal(%store_2)
func.func @mm(%x: memref<16x32xf16, #npu.space<dram>>, %w: memref<32x24xf16, #npu.space<dram>>, %bias: memref<24xf32, #npu.space<dram>>, %y: memref<16x24xf32, #npu.space<dram>>) {
  npu.matmul ins(%x, %w bias %bias) outs(%y) {activation = #npu.activation<relu>, compute_type = f16, reuse = #npu.reuse<tiled>, tiling = #npu.tiling<[8, 24, 16], ne = 2, spm = 65536>} : memref<16x32xf16, #npu.space<dram>>, memref<32x24xf16, #npu.space<dram>>, memref<24xf32, #npu.space<dram>> -> memref<16x24xf32, #npu.space<dram>>
  return
}

// -----

// A gather is a dynamic DMA: per row the command processor loads the index
// (a run-time value, !npu.reg), counts a negative one from the end, traps
// outside [0, 100), forms the row's address, and the row's DMA reads from
// it (`at`). Ten indices in tiles of 4 rows: the row loop's bound is the
// tile's rows; only the tile's last row signals the store.
// CHECK-LABEL: func.func @gather
// CHECK: npu.tile_program <gather> ne = 2 spm = 1024 ins(%[[T:[^ ]*]] = %arg0 : memref<100x16xf16, #npu.space<dram>>, %[[I:[^ ]*]] = %{{.*}} : memref<10xi64, #npu.space<dram>>, %[[O:[^ ]*]] = %{{.*}} : memref<160xf16, #npu.space<dram>>)
// CHECK: %rows = npu.alloc {name = "rows"} : memref<2x64xf16, #npu.space<spm>>
// CHECK: %[[BOUND:.*]] = npu.cp.const 100
// CHECK: npu.distribute %item, %iter on %ne items = 3 {
// CHECK: %[[RT:.*]] = arith.minsi %{{.*}}, %c4
// CHECK: scf.for %[[R:.*]] = %c0 to %[[RT]] step %c1 {
// CHECK: %[[IDX:.*]] = npu.cp.load_index %[[I]][%{{.*}}] : memref<10xi64, #npu.space<dram>>
// CHECK: %[[ROW:.*]] = npu.cp.wrap_index %[[IDX]], 100
// CHECK: npu.cp.check_range %[[ROW]], %[[BOUND]] <IndexOutOfRange>
// CHECK: scf.if
// CHECK-NEXT: npu.dma load %[[T]][%[[ROW]] : !npu.reg, %c0] -> %rows[%{{.*}}, %{{.*}}] sizes [16] strides [1] -> [1] on %ne wait(%store >= %{{.*}}) signal(%load)
// CHECK: } else {
// CHECK-NEXT: npu.dma load %[[T]][%[[ROW]] : !npu.reg, %c0] -> %rows[%{{.*}}, %{{.*}}] sizes [16] strides [1] -> [1] on %ne wait(%store >= %{{.*}}) :
// CHECK: npu.dma store %rows[%{{.*}}, %c0] -> %[[O]][%{{.*}}] sizes [%{{.*}}] strides [1] -> [1] on %ne wait(%load >= %{{.*}}) signal(%store)
func.func @gather(%t: memref<100x16xf16, #npu.space<dram>>, %i: memref<2x5xi64, #npu.space<dram>>, %y: memref<2x5x16xf16, #npu.space<dram>>) {
  npu.gather ins(%t[%i]) outs(%y) {tiling = #npu.tiling<[4], ne = 2, spm = 1024>} : memref<100x16xf16, #npu.space<dram>>, memref<2x5xi64, #npu.space<dram>> -> memref<2x5x16xf16, #npu.space<dram>>
  return
}

// -----

func.func @untiled(%x: memref<16x32xf32, #npu.space<dram>>, %y: memref<16x32xf32, #npu.space<dram>>) {
  // expected-error @+1 {{has no tiling (run npu-tile-partition)}}
  npu.softmax ins(%x) outs(%y) : memref<16x32xf32, #npu.space<dram>> -> memref<16x32xf32, #npu.space<dram>>
  return
}

// -----

// A KV cache write: one token per item (2 sequences x 3 tokens over 2 NEs),
// its K and V rows (both heads, f16) loaded into one of two buffers; the
// loads wait until the stores of the item two back are done (the V store
// signals for both: one queue, in order), the stores for the loads.
// The CP reads the token's position, checks it against 4 blocks x 4 slots,
// reads the block id from the sequence's table at position / 4, checks it
// against the cache's run-time block count, and forms the slot's address in
// each cache, where the stores write the rows as f32 (head stride 4 x 8 / 4
// x 4 elements).
// CHECK-LABEL: func.func @kv_cache_write
// CHECK: npu.tile_program <kv_cache_write> ne = 2 spm = 256 ins(%[[K:[^ ]*]] = %arg0 : {{.*}}, %[[V:[^ ]*]] = %arg1 : {{.*}}, %[[P:[^ ]*]] = %arg2 : {{.*}}, %[[T:[^ ]*]] = %arg3 : {{.*}}, %[[KC:[^ ]*]] = %arg4 : {{.*}}, %[[VC:[^ ]*]] = %arg5 : {{.*}})
// CHECK: %k = npu.alloc {name = "k"} : memref<2x16xf16, strided<[32, 1]>, #npu.space<spm>>
// CHECK: %v = npu.alloc {name = "v"} : memref<2x8xf16, strided<[32, 1]>, #npu.space<spm>>
// CHECK: %[[N:.*]] = npu.cp.dim %[[KC]]
// CHECK: %[[MAX:.*]] = npu.cp.const 16
// CHECK: npu.distribute %item, %iter on %ne items = 6 {
// CHECK: %[[BUF:.*]] = arith.remsi %iter, %c2
// CHECK: %[[B:.*]] = arith.divsi %item, %c3
// CHECK: %[[S:.*]] = arith.remsi %item, %c3
// CHECK: %[[PREV:.*]] = arith.subi %iter, %c1
// CHECK-NEXT: npu.dma load %[[K]][%[[B]], %c0, %[[S]], %c0] -> %k[%[[BUF]], %c0] sizes [2, 8] strides [24, 1] -> [8, 1] on %ne wait(%store >= %[[PREV]]) :
// CHECK-NEXT: npu.dma load %[[V]][%[[B]], %c0, %[[S]], %c0] -> %v[%[[BUF]], %c0] sizes [2, 4] strides [12, 1] -> [4, 1] on %ne signal(%load) :
// CHECK-NEXT: %[[POS:.*]] = npu.cp.load_index %[[P]][%[[B]], %[[S]]]
// CHECK-NEXT: npu.cp.check_range %[[POS]], %[[MAX]] <PositionOutOfRange>
// CHECK-NEXT: %[[COL:.*]] = npu.cp.div %[[POS]], 4
// CHECK-NEXT: %[[BLK:.*]] = npu.cp.load_index %[[T]][%[[B]], %[[COL]] : !npu.reg]
// CHECK-NEXT: npu.cp.check_range %[[BLK]], %[[N]] <KvBlockOutOfRange>
// CHECK-NEXT: %[[SLOT:.*]] = npu.cp.rem %[[POS]], 4
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %iter, %c1
// CHECK-NEXT: npu.dma store %k[%[[BUF]], %c0] -> %[[KC]][%[[BLK]] : !npu.reg, %c0, %[[SLOT]] : !npu.reg, %c0] sizes [2, 8] strides [8, 1] -> [32, 1] on %ne wait(%load >= %[[NEXT]]) : memref<2x16xf16, {{.*}}> -> memref<?x2x4x8xf32, #npu.space<dram>>
// CHECK-NEXT: npu.dma store %v[%[[BUF]], %c0] -> %[[VC]][%[[BLK]] : !npu.reg, %c0, %[[SLOT]] : !npu.reg, %c0] sizes [2, 4] strides [4, 1] -> [16, 1] on %ne signal(%store) :
func.func @kv_cache_write(%k: memref<2x2x3x8xf16, #npu.space<dram>>, %v: memref<2x2x3x4xf16, #npu.space<dram>>, %pos: memref<2x3xi64, #npu.space<dram>>, %tab: memref<2x4xi32, #npu.space<dram>>, %kc: memref<?x2x4x8xf32, #npu.space<dram>>, %vc: memref<?x2x4x4xf32, #npu.space<dram>>) {
  npu.kv_cache_write ins(%k, %v positions %pos blocks %tab) outs(%kc, %vc) {tiling = #npu.tiling<[1], ne = 2, spm = 256>} : memref<2x2x3x8xf16, #npu.space<dram>>, memref<2x2x3x4xf16, #npu.space<dram>>, memref<2x3xi64, #npu.space<dram>>, memref<2x4xi32, #npu.space<dram>> -> memref<?x2x4x8xf32, #npu.space<dram>>, memref<?x2x4x4xf32, #npu.space<dram>>
  return
}

// -----

// Flash attention, 2 query heads over 1 KV head, 6 causal queries in tiles
// of 4 rows, 4-row K/V tiles streamed, f16 compute, softcap 30, a window of
// 3: work items are (head, query tile) — 4 over 2 NEs. Per item: the query
// tile (its buffer free once the S of the NE's item before last is done:
// the mm1 count less the last item's tiles), m = -inf and l = 0, the first
// tile's K/V and S = Q K^T before the last item's deferred tail; per
// further tile the next S, then the softmax of this one: scale and softcap
// as vector ops, npu.softmax_step with the causal diagonal q0 - k0 and the
// window's lower edge q0 - 2 - k0, P cast to f16, O rescaled by alpha from
// the second tile on, O += P V. The last tile's softmax, O / l and the
// store are deferred.
// CHECK-LABEL: func.func @flash
// CHECK: npu.tile_program <flash_attention> ne = 2 spm = 8192 ins(%[[Q:[^ ]*]] = %arg0 : {{.*}}, %[[K:[^ ]*]] = %arg1 : {{.*}}, %[[V:[^ ]*]] = %arg2 : {{.*}}, %[[C:[^ ]*]] = %arg3 : {{.*}}, %[[O:[^ ]*]] = %arg4 : {{.*}})
// CHECK: %q = npu.alloc {name = "q"} : memref<2x32xf16, #npu.space<spm>>
// CHECK: %p = npu.alloc {name = "p"} : memref<2x16xf16, strided<[32, 1]>, #npu.space<spm>>
// CHECK: npu.distribute %item, %iter on %ne items = 4 {
// CHECK: %[[CNT:.*]] = npu.sem_count %mm1
// CHECK-NEXT: %[[FREE:.*]] = arith.subi %[[CNT]], %{{.*}}
// CHECK-NEXT: %[[GE2:.*]] = arith.cmpi sge, %iter, %c2
// CHECK-NEXT: %[[W:.*]] = arith.select %[[GE2]], %[[FREE]], %c0
// CHECK-NEXT: npu.dma load %[[Q]][{{.*}}] -> %q[{{.*}}] sizes [%{{.*}}, 8] strides [8, 1] -> [8, 1] on %ne wait(%mm1 >= %[[W]]) signal(%query) : memref<1x2x6x8xf32, #npu.space<dram>> -> memref<2x32xf16,
// CHECK-NEXT: npu.vec <v.copy> %stats[{{.*}}] = %neg_inf[%c0]
// CHECK-NEXT: npu.vec <v.copy> %stats[{{.*}}] = %zeros[%c0]
// CHECK-NEXT: %[[T0:.*]] = npu.sem_count %mm1
// CHECK: npu.mm %s[{{.*}}] = %q[{{.*}}] x %k[{{.*}}] {{.*}} signal(%mm1) {transpose_b = true}
// CHECK: npu.issue_deferred
// CHECK-NEXT: npu.end_step
// CHECK: scf.for
// CHECK: npu.mm %s[{{.*}} signal(%mm1)
// CHECK: npu.vec <v.mul> %s[{{.*}}] bcast imm scalar 5.000000e-01 on %ne wait(%mm1 >= {{.*}}, %mm2 >= {{.*}})
// CHECK-NEXT: npu.vec <v.mul> %s[{{.*}}] bcast imm scalar 0.0333333351
// CHECK-NEXT: npu.vec <v.tanh>
// CHECK-NEXT: npu.vec <v.mul> %s[{{.*}}] bcast imm scalar 3.000000e+01
// CHECK: scf.if
// CHECK-NEXT: npu.softmax_step %s[{{.*}}] stats %stats[{{.*}}] scale 1.000000e+00 causal(%{{.*}}) window(%{{.*}}) on %ne :
// CHECK-NEXT: npu.vec <v.cast> %p[{{.*}}] = %s[{{.*}}] on %ne :
// CHECK-NEXT: npu.vec <v.mul> %o[{{.*}}] = %o[{{.*}}], %stats[{{.*}}] {{.*}} bcast col on %ne wait(%mm2 >= {{.*}}) signal(%softmax)
// CHECK: } else {
// CHECK-NEXT: npu.softmax_step
// CHECK-NEXT: npu.vec <v.cast> {{.*}} signal(%softmax)
// CHECK: npu.mm %o[{{.*}}] = %p[{{.*}}] x %v[{{.*}}] {{.*}} signal(%mm2)
// CHECK-NEXT: npu.end_step
// CHECK: npu.deferred {
// CHECK: npu.vec <v.cmp.eq> %z[%c0] = %stats[{{.*}}] bcast imm on %ne wait(%mm2 >= %{{.*}}, %query >= %{{.*}})
// CHECK-NEXT: npu.vec <v.recip> %t[%c0]
// CHECK-NEXT: npu.vec <v.sel> %t[%c0] = %z[%c0]
// CHECK-NEXT: npu.vec <v.mul> %o[{{.*}}] = %o[{{.*}}], %t[%c0] {{.*}} bcast col on %ne signal(%normalize)
// CHECK-NEXT: npu.dma store %o[{{.*}}] -> %[[O]][{{.*}}] {{.*}} wait(%normalize >= %{{.*}}) signal(%store)
func.func @flash(%q: memref<1x2x6x8xf32, #npu.space<dram>>, %k: memref<1x1x6x8xf32, #npu.space<dram>>, %v: memref<1x1x6x8xf32, #npu.space<dram>>, %c: memref<2xf32, #npu.space<dram>>, %o: memref<1x2x6x8xf32, #npu.space<dram>>) {
  npu.flash_attention ins(%q, %k, %v consts %c) outs(%o) {causal = true, causal_offset = 0 : i64, compute_type = f16, scale = 0.5 : f32, softcap = 30.0 : f32, window = 3 : i64, tiling = #npu.tiling<[4, 4], ne = 2, spm = 8192>} : memref<1x2x6x8xf32, #npu.space<dram>>, memref<1x1x6x8xf32, #npu.space<dram>>, memref<1x1x6x8xf32, #npu.space<dram>>, memref<2xf32, #npu.space<dram>> -> memref<1x2x6x8xf32, #npu.space<dram>>
  return
}

// -----

// A quantize (QuantizeLinear): x / scale, rounded, plus the zero point, the
// store saturating to uint8. The per-tensor scale and zero point are one
// value for each row of a tile: loaded as such and read with a column
// broadcast, not spread over the tile by the DMA.
// CHECK-LABEL: func.func @quantize
// CHECK: npu.dma load %{{.*}} -> %in0[%[[BUF:[^,]*]], %c0] sizes [1, 96] strides [0, 1] -> [96, 1]
// CHECK: npu.dma load %{{.*}} -> %in1[%[[BUF]], %c0] sizes [1] strides [0] -> [1]
// CHECK: npu.dma load %{{.*}} -> %in2[%[[BUF]], %c0] sizes [1] strides [0] -> [1] on %ne signal(%load)
// CHECK: npu.vec <v.div> %out[%[[BUF]], %c0] = %in0[%[[BUF]], %c0], %in1[%[[BUF]], %c0] [1, 96] bcast col
// CHECK: npu.vec <v.round> %out[%[[BUF]], %c0] = %out[%[[BUF]], %c0] [1, 96]
// CHECK: npu.vec <v.add> %out[%[[BUF]], %c0] = %out[%[[BUF]], %c0], %in2[%[[BUF]], %c0] [1, 96] bcast col
// CHECK: npu.dma store %out[%[[BUF]], %c0] -> {{.*}} : memref<2x96xf32, #npu.space<spm>> -> memref<1x1x1x192xui8
func.func @quantize(%x: memref<6x32xf32, #npu.space<dram>>, %s: memref<f32, #npu.space<dram>>, %z: memref<f32, #npu.space<dram>>, %y: memref<6x32xui8, #npu.space<dram>>) {
  npu.elementwise <quantize> ins(%x, %s, %z) outs(%y) {tiling = #npu.tiling<[1, 96], ne = 2, spm = 8192>} : memref<6x32xf32, #npu.space<dram>>, memref<f32, #npu.space<dram>>, memref<f32, #npu.space<dram>> -> memref<6x32xui8, #npu.space<dram>>
  return
}
