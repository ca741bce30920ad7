// RUN: rbln-opt %s --split-input-file --npu-allocate-registers --convert-npu-to-npuisa=target=tiny | FileCheck %s

// A tile program expands mechanically. Buffers get their addresses in
// operand order (argument block words 0 and 1 into r4, r5); each NE has its
// own instance of each semaphore (tiny's 2 NEs: NE0 s0 "load", s1 "done";
// NE1 s2, s3); the 3 items go round-robin — item 0 on NE0, item 1 on NE1,
// item 2 on NE0 as its iteration 1 — and each engine op becomes one
// instruction whose offsets, sizes and wait counts are the index arithmetic
// evaluated for that item. A wait count <= 0 is no wait. Scratchpad offsets
// are the alloc's plus the indices times the layout's strides, in bytes.
// CHECK-LABEL: func.func @prog
// CHECK: npuisa.desc 0 : f32 -> f32 sizes [8, 16]
// CHECK: npuisa.ld.i64 rd = r4, space = dram, ra = r1, imm = 0
// CHECK: npuisa.ld.i64 rd = r5, space = dram, ra = r1, imm = 8
// item 0, NE0: rows 0-7, no wait on the first load.
// CHECK: npuisa.dma.neural[0] dspace = spm, dreg = r0, doff = 64, sspace = dram, sreg = r4, soff = 0, desc = 0 signal(s0)
// CHECK-NEXT: npuisa.v.exp[0] dst = 64, src = 64, rows = 8, cols = 16 wait(s0 >= 1)
// CHECK-NEXT: npuisa.v.mul[0] dst = 64, src0 = 64, src1 = 0, rows = 8, cols = 16, bcast = imm, scalar = 2.000000e+00
// CHECK-NEXT: npuisa.dma.neural[1] dspace = dram, dreg = r5, doff = 0, sspace = spm, sreg = r0, soff = 64, desc = 0 signal(s1)
// item 1, NE1: rows 8-15 (byte 512), NE1's queues and semaphores.
// CHECK-NEXT: npuisa.dma.neural[2] {{.*}}soff = 512, desc = 0 signal(s2)
// CHECK-NEXT: npuisa.v.exp[1] {{.*}} wait(s2 >= 1)
// CHECK-NEXT: npuisa.v.mul[1]
// CHECK-NEXT: npuisa.dma.neural[3] {{.*}}doff = 512, {{.*}} signal(s3)
// item 2, NE0's iteration 1: its load waits for NE0's first store and
// reads rows 16-23 into the second half of the buffer.
// CHECK-NEXT: npuisa.dma.neural[0] {{.*}}doff = 576, {{.*}}soff = 1024, desc = 0 wait(s1 >= 1) signal(s0)
// CHECK-NEXT: npuisa.v.exp[0] dst = 576, src = 576, {{.*}} wait(s0 >= 2)
// CHECK-NEXT: npuisa.v.mul[0]
// CHECK-NEXT: npuisa.dma.neural[1] {{.*}}doff = 1024, {{.*}}soff = 576, desc = 0 signal(s1)
// CHECK-NEXT: npuisa.barrier
// CHECK-NEXT: npuisa.halt
// CHECK-NOT: npu.
func.func @prog(%x: memref<24x16xf32, #npu.space<dram>>, %y: memref<24x16xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 2 spm = 1152 ins(%in = %x : memref<24x16xf32, #npu.space<dram>>, %out = %y : memref<24x16xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c8 = arith.constant 8 : index
    %load = npu.semaphore "load"
    %done = npu.semaphore "done"
    %t = npu.alloc {name = "t", offset = 64 : i64} : memref<2x8x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 3 {
      %r0 = arith.muli %item, %c8 : index
      %b = arith.remsi %iter, %c2 : index
      %n = arith.addi %iter, %c1 : index
      npu.dma load %in[%r0, %c0] -> %t[%b, %c0, %c0] sizes [8, 16] strides [16, 1] -> [16, 1] on %ne wait(%done >= %iter) signal(%load) : memref<24x16xf32, #npu.space<dram>> -> memref<2x8x16xf32, #npu.space<spm>>
      npu.vec <v.exp> %t[%b, %c0, %c0] = %t[%b, %c0, %c0] [8, 16] on %ne wait(%load >= %n) : memref<2x8x16xf32, #npu.space<spm>>, memref<2x8x16xf32, #npu.space<spm>>
      npu.vec <v.mul> %t[%b, %c0, %c0] = %t[%b, %c0, %c0] [8, 16] bcast imm scalar 2.0 on %ne : memref<2x8x16xf32, #npu.space<spm>>, memref<2x8x16xf32, #npu.space<spm>>
      npu.dma store %t[%b, %c0, %c0] -> %out[%r0, %c0] sizes [8, 16] strides [16, 1] -> [16, 1] on %ne signal(%done) : memref<2x8x16xf32, #npu.space<spm>> -> memref<24x16xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// Run-time values get command-processor registers when the program is
// expanded: after the buffers' addresses (r4-r6), lowest free first; a value
// frees its register at its last use in its block, before the using op's
// result takes one, so the index, the wrapped row and the row's address all
// live in r8 while the bound keeps r7 and the wrap's scratch is r9. The
// DMA's base register is the address's.
// CHECK-LABEL: func.func @dynamic
// CHECK: npuisa.ld.i64 rd = r4, space = dram, ra = r1, imm = 0
// CHECK: npuisa.ld.i64 rd = r5, space = dram, ra = r1, imm = 8
// CHECK: npuisa.ld.i64 rd = r6, space = dram, ra = r1, imm = 16
// CHECK-NEXT: npuisa.li rd = r7, imm = 100
// item 0 (NE0), index 1 of the i32 indices: byte 4.
// CHECK-NEXT: npuisa.ld.i32 rd = r8, space = dram, ra = r5, imm = 4
// CHECK-NEXT: npuisa.shr rd = r9, ra = r8, rb = r0, imm = 63
// CHECK-NEXT: npuisa.mul rd = r9, ra = r9, rb = r0, imm = 100
// CHECK-NEXT: npuisa.add rd = r8, ra = r8, rb = r9, imm = 0
// CHECK-NEXT: npuisa.bge ra = r8, rb = r0, target = [[OK1:L[0-9]+]]
// CHECK-NEXT: npuisa.trap code = 1
// CHECK-NEXT: npuisa.label [[OK1]]
// CHECK-NEXT: npuisa.blt ra = r8, rb = r7, target = [[OK2:L[0-9]+]]
// CHECK-NEXT: npuisa.trap code = 1
// CHECK-NEXT: npuisa.label [[OK2]]
// A row is 8 f32: 32 bytes.
// CHECK-NEXT: npuisa.mul rd = r8, ra = r8, rb = r0, imm = 32
// CHECK-NEXT: npuisa.add rd = r8, ra = r8, rb = r4, imm = 0
// CHECK-NEXT: npuisa.dma.neural[0] dspace = spm, dreg = r0, doff = 0, sspace = dram, sreg = r8, soff = 0, desc = 0 signal(s0)
// item 1 (NE1) reads index 2 (byte 8) into the same registers.
// CHECK-NEXT: npuisa.ld.i32 rd = r8, space = dram, ra = r5, imm = 8
func.func @dynamic(%table: memref<100x8xf32, #npu.space<dram>>, %idx: memref<4xi32, #npu.space<dram>>, %out: memref<2x8xf32, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 2 spm = 1024 ins(%t = %table : memref<100x8xf32, #npu.space<dram>>, %i = %idx : memref<4xi32, #npu.space<dram>>, %o = %out : memref<2x8xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %ld = npu.semaphore "ld"
    %rows = npu.alloc {offset = 0 : i64} : memref<8xf32, #npu.space<spm>>
    %bound = npu.cp.const 100
    npu.distribute %item, %iter on %ne items = 2 {
      %q = arith.addi %item, %c1 : index
      %v = npu.cp.load_index %i[%q] : memref<4xi32, #npu.space<dram>>
      %w = npu.cp.wrap_index %v, 100
      npu.cp.check_range %w, %bound <IndexOutOfRange>
      %a = npu.cp.address %t[%w : !npu.reg, %c0] : memref<100x8xf32, #npu.space<dram>>
      npu.dma load %t[%c0, %c0] -> %rows[%c0] at(%a) sizes [8] strides [1] -> [1] on %ne signal(%ld) : memref<100x8xf32, #npu.space<dram>> -> memref<8xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

// A paged store (as a KV cache write does it): the position's block id is
// read from the block table at a column the CP computes (position / 4: a
// shift, then scaled by the i32 entry's 4 bytes: a shift), and the cache
// address of slot position % 4 (a mask) is base + block * 256 bytes + slot *
// 32 bytes + head 1 * 128 bytes. The block count is the cache argument's
// run-time leading dimension, from the argument block (word 3 + 2). A value
// with one register operand frees it for its result (col -> blk, pos ->
// slot); an address reading two registers takes a fresh one, and so does
// its temporary (the block count and bound, used by every item, live until
// the distribute ends).
// CHECK-LABEL: func.func @paged
// CHECK: npuisa.ld.i64 rd = r4, space = dram, ra = r1, imm = 0
// CHECK-NEXT: npuisa.ld.i64 rd = r5, space = dram, ra = r1, imm = 8
// CHECK-NEXT: npuisa.ld.i64 rd = r6, space = dram, ra = r1, imm = 16
// CHECK-NEXT: npuisa.ld.i64 rd = r7, space = dram, ra = r1, imm = 40
// CHECK-NEXT: npuisa.li rd = r8, imm = 12
// CHECK-NEXT: npuisa.ld.i64 rd = r9, space = dram, ra = r4, imm = 8
// CHECK-NEXT: npuisa.bge ra = r9, rb = r0, target = [[A:L[0-9]+]]
// CHECK-NEXT: npuisa.trap code = 2
// CHECK-NEXT: npuisa.label [[A]]
// CHECK-NEXT: npuisa.blt ra = r9, rb = r8, target = [[B:L[0-9]+]]
// CHECK-NEXT: npuisa.trap code = 2
// CHECK-NEXT: npuisa.label [[B]]
// CHECK-NEXT: npuisa.shr rd = r10, ra = r9, rb = r0, imm = 2
// CHECK-NEXT: npuisa.shl rd = r10, ra = r10, rb = r0, imm = 2
// CHECK-NEXT: npuisa.add rd = r10, ra = r10, rb = r5, imm = 0
// CHECK-NEXT: npuisa.ld.i32 rd = r10, space = dram, ra = r10, imm = 0
// CHECK-NEXT: npuisa.bge ra = r10, rb = r0, target = [[C:L[0-9]+]]
// CHECK-NEXT: npuisa.trap code = 3
// CHECK-NEXT: npuisa.label [[C]]
// CHECK-NEXT: npuisa.blt ra = r10, rb = r7, target = [[D:L[0-9]+]]
// CHECK-NEXT: npuisa.trap code = 3
// CHECK-NEXT: npuisa.label [[D]]
// CHECK-NEXT: npuisa.and rd = r9, ra = r9, rb = r0, imm = 3
// CHECK-NEXT: npuisa.mul rd = r11, ra = r10, rb = r0, imm = 256
// CHECK-NEXT: npuisa.add rd = r11, ra = r11, rb = r6, imm = 0
// CHECK-NEXT: npuisa.mul rd = r12, ra = r9, rb = r0, imm = 32
// CHECK-NEXT: npuisa.add rd = r11, ra = r11, rb = r12, imm = 0
// CHECK-NEXT: npuisa.add rd = r11, ra = r11, rb = r0, imm = 128
// CHECK-NEXT: npuisa.dma.neural[1] dspace = dram, dreg = r11, doff = 0, sspace = spm, sreg = r0, soff = 0, desc = 0 signal(s0)
func.func @paged(%pos: memref<1x2xi64, #npu.space<dram>>, %tab: memref<1x3xi32, #npu.space<dram>>, %kc: memref<?x2x4x8xf32, #npu.space<dram>>) {
  npu.tile_program <kv_cache_write> ne = 1 spm = 1024 ins(%p = %pos : memref<1x2xi64, #npu.space<dram>>, %t = %tab : memref<1x3xi32, #npu.space<dram>>, %c = %kc : memref<?x2x4x8xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %st = npu.semaphore "st"
    %row = npu.alloc {offset = 0 : i64} : memref<8xf32, #npu.space<spm>>
    %n = npu.cp.dim %c : memref<?x2x4x8xf32, #npu.space<dram>>
    %max = npu.cp.const 12
    npu.distribute %item, %iter on %ne items = 1 {
      %q = npu.cp.load_index %p[%c0, %c1] : memref<1x2xi64, #npu.space<dram>>
      npu.cp.check_range %q, %max <PositionOutOfRange>
      %col = npu.cp.div %q, 4
      %blk = npu.cp.load_index %t[%c0, %col : !npu.reg] : memref<1x3xi32, #npu.space<dram>>
      npu.cp.check_range %blk, %n <KvBlockOutOfRange>
      %slot = npu.cp.rem %q, 4
      %a = npu.cp.address %c[%blk : !npu.reg, %c1, %slot : !npu.reg, %c0] : memref<?x2x4x8xf32, #npu.space<dram>>
      npu.dma store %row[%c0] -> %c[%c0, %c0, %c0, %c0] at(%a) sizes [8] strides [1] -> [1] on %ne signal(%st) : memref<8xf32, #npu.space<spm>> -> memref<?x2x4x8xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// A distribute cut into steps (npu.end_step): item i (3 items, 2 NEs) loads
// once, then runs i + 1 softmax steps, one step each; its store is deferred
// to the NE's next item's first step (npu.issue_deferred) or, for the NE's
// last item, to a step of its own. Steps go out round-robin: step s of
// every NE before step s + 1 of any. NE0 (s0 "ld", s1 "sm") has items 0 and
// 2: [load] [softmax] [load, store of item 0] [softmax] [softmax] [softmax]
// [store of item 2]; NE1 (s2, s3) has item 1: [load] [softmax] [softmax]
// [store]. npu.sem_count counts the NE's signals so far: the stores wait for
// 1 softmax (item 0), 2 (item 1), 1 + 3 (item 2). The causal diagonal
// 2j - 1 masks a 2 x 4 tile for -1 and 1, not for 3 (no column > row + 3):
// then the step's waits go with v.softmax_step.
// CHECK-LABEL: func.func @steps
// CHECK: npuisa.dma.neural[0] {{.*}} signal(s0)
// CHECK-NEXT: npuisa.dma.neural[2] {{.*}} signal(s2)
// CHECK-NEXT: npuisa.v.mask_upper[0] {{.*}} diag = -1, {{.*}} lower = 0 wait(s0 >= 1)
// CHECK-NEXT: npuisa.v.softmax_step[0] s = 0, stats = 1024, rows = 2, cols = 4, scale = 5.000000e-01 signal(s1)
// CHECK-NEXT: npuisa.v.mask_upper[1] {{.*}} diag = -1, {{.*}} wait(s2 >= 1)
// CHECK-NEXT: npuisa.v.softmax_step[1] {{.*}} signal(s3)
// CHECK-NEXT: npuisa.dma.neural[0] {{.*}} signal(s0)
// CHECK-NEXT: npuisa.dma.neural[1] dspace = dram, {{.*}} wait(s1 >= 1)
// CHECK-NEXT: npuisa.v.mask_upper[1] {{.*}} diag = 1, {{.*}} wait(s2 >= 1)
// CHECK-NEXT: npuisa.v.softmax_step[1] {{.*}} signal(s3)
// CHECK-NEXT: npuisa.v.mask_upper[0] {{.*}} diag = -1, {{.*}} wait(s0 >= 1)
// CHECK-NEXT: npuisa.v.softmax_step[0] {{.*}} signal(s1)
// CHECK-NEXT: npuisa.dma.neural[3] dspace = dram, {{.*}} wait(s3 >= 2)
// CHECK-NEXT: npuisa.v.mask_upper[0] {{.*}} diag = 1, {{.*}} wait(s0 >= 1)
// CHECK-NEXT: npuisa.v.softmax_step[0] {{.*}} signal(s1)
// CHECK-NEXT: npuisa.v.softmax_step[0] {{.*}} wait(s0 >= 1) signal(s1)
// CHECK-NEXT: npuisa.dma.neural[1] dspace = dram, {{.*}} wait(s1 >= 4)
// CHECK-NEXT: npuisa.barrier
func.func @steps(%in: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <flash_attention> ne = 2 spm = 4096 ins(%x = %in : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %ld = npu.semaphore "ld"
    %sm = npu.semaphore "sm"
    %buf = npu.alloc {offset = 0 : i64} : memref<8xf32, #npu.space<spm>>
    %st = npu.alloc {offset = 1024 : i64} : memref<24xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 3 {
      %n = arith.addi %item, %c1 : index
      npu.dma load %x[%c0] -> %buf[%c0] sizes [8] strides [1] -> [1] on %ne signal(%ld) : memref<64xf32, #npu.space<dram>> -> memref<8xf32, #npu.space<spm>>
      npu.issue_deferred
      npu.end_step
      scf.for %j = %c0 to %n step %c1 {
        %j2 = arith.muli %j, %c2 : index
        %d = arith.subi %j2, %c1 : index
        npu.softmax_step %buf[%c0] stats %st[%c0] [2, 4] scale 5.000000e-01 causal(%d) on %ne wait(%ld >= %c1) signal(%sm) : memref<8xf32, #npu.space<spm>>, memref<24xf32, #npu.space<spm>>
        npu.end_step
      }
      npu.deferred {
        %k = npu.sem_count %sm
        npu.dma store %buf[%c0] -> %x[%c0] sizes [8] strides [1] -> [1] on %ne wait(%sm >= %k) : memref<8xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
      }
    }
  }
  return
}

// -----

// A window's lower edge: with window(w) scores with column < row + w are
// masked, only when one is in the tile (2 rows: w = -1 masks nothing, w = 0
// masks row 1's column 0).
// CHECK-LABEL: func.func @window
// CHECK: npuisa.v.softmax_step[0] {{.*}} wait(s0 >= 1)
// CHECK-NEXT: npuisa.v.mask_upper[1] {{.*}} diag = 0, {{.*}} lower = 1 wait(s1 >= 1)
// CHECK-NEXT: npuisa.v.softmax_step[1]
func.func @window(%in: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <flash_attention> ne = 2 spm = 4096 ins(%x = %in : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %go = npu.semaphore "go"
    %buf = npu.alloc {offset = 0 : i64} : memref<8xf32, #npu.space<spm>>
    %st = npu.alloc {offset = 1024 : i64} : memref<24xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 2 {
      %w = arith.subi %item, %c1 : index
      npu.softmax_step %buf[%c0] stats %st[%c0] [2, 4] scale 1.000000e+00 window(%w) on %ne wait(%go >= %c1) : memref<8xf32, #npu.space<spm>>, memref<24xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

// Run-time skips and values that outlive a step (paged attention's shape).
// Each item reads its position into a register that lives across its steps:
// a register per NE (r6 on NE0, r7 on NE1; r4 and r5 hold the buffers' addresses), not one the other NE's steps
// between could overwrite. A partition step runs when lim < pos; skipped,
// an empty command on each engine and queue the body signals from gives
// the same signal (uncounted), so the next wait counts one per partition
// either way. `keep_empty` keeps NE1's empty partition step: the item ends
// stay in one round.
// CHECK-LABEL: func.func @skip_and_pin
// CHECK: npuisa.ld.i64 rd = r6, space = dram, ra = r5, imm = 0
// CHECK-NEXT: npuisa.ld.i64 rd = r7, space = dram, ra = r5, imm = 8
// CHECK-NEXT: npuisa.li rd = [[LIM:r[0-9]+]], imm = 3
// CHECK-NEXT: npuisa.bge ra = [[LIM]], rb = r6, target = [[SKIP:L[0-9]+]]
// CHECK-NEXT: npuisa.ld.i64 rd = [[I:r[0-9]+]], space = dram, ra = r5, imm = 0
// CHECK-NEXT: npuisa.bge ra = [[I]], rb = r0, target = [[OK1:L[0-9]+]]
// CHECK-NEXT: npuisa.trap code = 1
// CHECK-NEXT: npuisa.label [[OK1]]
// CHECK-NEXT: npuisa.blt ra = [[I]], rb = r6, target = [[OK2:L[0-9]+]]
// CHECK-NEXT: npuisa.trap code = 1
// CHECK-NEXT: npuisa.label [[OK2]]
// CHECK-NEXT: npuisa.dma.neural[0] {{.*}} signal(s0)
// CHECK-NEXT: npuisa.v.mask_upper[0] {{.*}} rdiag = r6, flat = 1
// CHECK-NEXT: npuisa.v.softmax_step[0] {{.*}} signal(s1)
// CHECK-NEXT: npuisa.jmp target = [[END:L[0-9]+]]
// CHECK-NEXT: npuisa.label [[SKIP]]
// CHECK-NEXT: npuisa.dma.neural[0] {{.*}} desc = [[EMPTY:[0-9]+]] signal(s0)
// CHECK-NEXT: npuisa.v.copy[0] dst = 0, src = 0, rows = 0, cols = 0 signal(s1)
// CHECK-NEXT: npuisa.label [[END]]
// CHECK-NEXT: npuisa.dma.neural[1] {{.*}} wait(s1 >= 1)
// CHECK-NEXT: npuisa.dma.neural[3] {{.*}} desc = 0{{$}}
// CHECK-NEXT: npuisa.barrier
func.func @skip_and_pin(%in: memref<64xf32, #npu.space<dram>>, %p: memref<2xi64, #npu.space<dram>>) {
  npu.tile_program <paged_attention> ne = 2 spm = 4096 ins(%x = %in : memref<64xf32, #npu.space<dram>>, %pos = %p : memref<2xi64, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %ld = npu.semaphore "ld"
    %sm = npu.semaphore "sm"
    %buf = npu.alloc {offset = 0 : i64} : memref<8xf32, #npu.space<spm>>
    %st = npu.alloc {offset = 1024 : i64} : memref<24xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 2 {
      %r = npu.cp.load_index %pos[%item] : memref<2xi64, #npu.space<dram>>
      npu.end_step keep_empty
      %first = arith.cmpi eq, %item, %c0 : index
      scf.if %first {
        %lim = npu.cp.from_index %c3
        npu.cp.if_less %lim, %r {
          %i = npu.cp.load_index %pos[%c0] : memref<2xi64, #npu.space<dram>>
          npu.cp.check_range %i, %r <IndexOutOfRange>
          npu.dma load %x[%c0] -> %buf[%c0] sizes [8] strides [1] -> [1] on %ne signal(%ld) : memref<64xf32, #npu.space<dram>> -> memref<8xf32, #npu.space<spm>>
          npu.softmax_step %buf[%c0] stats %st[%c0] [2, 4] scale 5.000000e-01 causal(%c0) shift(%r) shared_position on %ne signal(%sm) : memref<8xf32, #npu.space<spm>>, memref<24xf32, #npu.space<spm>>
        }
      }
      npu.end_step keep_empty
      %n = npu.sem_count %sm
      npu.dma store %buf[%c0] -> %x[%c0] sizes [8] strides [1] -> [1] on %ne wait(%sm >= %n) : memref<8xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
    }
  }
  return
}
