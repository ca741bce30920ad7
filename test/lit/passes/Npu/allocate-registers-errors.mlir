// RUN: rbln-opt %s --split-input-file --npu-allocate-registers --verify-diagnostics

// 32 registers: r0 reads zero, r1..r3 are fixed, r4 holds %x's address;
// 27 values live at once fit (r5..r31), the 28th does not.
func.func @too_many(%in: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%x = %in : memref<8xi64, #npu.space<dram>>) {
    %r0 = npu.cp.const 0
    %r1 = npu.cp.const 1
    %r2 = npu.cp.const 2
    %r3 = npu.cp.const 3
    %r4 = npu.cp.const 4
    %r5 = npu.cp.const 5
    %r6 = npu.cp.const 6
    %r7 = npu.cp.const 7
    %r8 = npu.cp.const 8
    %r9 = npu.cp.const 9
    %r10 = npu.cp.const 10
    %r11 = npu.cp.const 11
    %r12 = npu.cp.const 12
    %r13 = npu.cp.const 13
    %r14 = npu.cp.const 14
    %r15 = npu.cp.const 15
    %r16 = npu.cp.const 16
    %r17 = npu.cp.const 17
    %r18 = npu.cp.const 18
    %r19 = npu.cp.const 19
    %r20 = npu.cp.const 20
    %r21 = npu.cp.const 21
    %r22 = npu.cp.const 22
    %r23 = npu.cp.const 23
    %r24 = npu.cp.const 24
    %r25 = npu.cp.const 25
    %r26 = npu.cp.const 26
    // expected-error @+1 {{needs more command-processor registers than the 32 the command processor has: r5..r31 all hold live values (0 of them per-NE copies}}
    %r27 = npu.cp.const 27
    npu.distribute %item, %iter on %ne items = 1 {
      npu.cp.check_range %r0, %r1 <IndexOutOfRange>
      npu.cp.check_range %r2, %r3 <IndexOutOfRange>
      npu.cp.check_range %r4, %r5 <IndexOutOfRange>
      npu.cp.check_range %r6, %r7 <IndexOutOfRange>
      npu.cp.check_range %r8, %r9 <IndexOutOfRange>
      npu.cp.check_range %r10, %r11 <IndexOutOfRange>
      npu.cp.check_range %r12, %r13 <IndexOutOfRange>
      npu.cp.check_range %r14, %r15 <IndexOutOfRange>
      npu.cp.check_range %r16, %r17 <IndexOutOfRange>
      npu.cp.check_range %r18, %r19 <IndexOutOfRange>
      npu.cp.check_range %r20, %r21 <IndexOutOfRange>
      npu.cp.check_range %r22, %r23 <IndexOutOfRange>
      npu.cp.check_range %r24, %r25 <IndexOutOfRange>
      npu.cp.check_range %r26, %r27 <IndexOutOfRange>
    }
  }
  return
}

// -----

// A value per NE across steps: 16 NEs x 2 such values do not fit.
func.func @per_ne(%in: memref<64xi64, #npu.space<dram>>) {
  npu.tile_program <paged_attention> ne = 16 spm = 1024 ins(%x = %in : memref<64xi64, #npu.space<dram>>) {
    npu.distribute %item, %iter on %ne items = 16 {
      %a = npu.cp.load_index %x[%item] : memref<64xi64, #npu.space<dram>>
      // expected-error @+2 {{r5..r31 all hold live values (16 of them per-NE copies of values that live across npu.end_step; r1..r4 hold the base addresses)}}
      // expected-remark @+1 {{lives across npu.end_step: a register on each of the 16 NEs}}
      %b = npu.cp.load_index %x[%iter] : memref<64xi64, #npu.space<dram>>
      npu.end_step
      npu.cp.check_range %a, %b <IndexOutOfRange>
    }
  }
  return
}

// -----

func.func @bad_register(%in: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%x = %in : memref<8xi64, #npu.space<dram>>) {
    // expected-error @+1 {{r32 is not an allocatable register (r1..r31)}}
    %r = npu.cp.const 1 {npu.regs = #npu.regs<r32>}
  }
  return
}
