// RUN: rbln-opt %s --split-input-file --npu-allocate-registers | FileCheck %s

// Registers after the program's DRAM arguments (r4: %x's address), lowest
// first; a value's register is free after its last use. An op reading one
// register takes it over for its result (%d reuses %i's r5); one reading
// two takes a fresh one (%a), and the address from two register indices
// needs a scratch register for the second's product.
// CHECK-LABEL: func.func @reuse
// CHECK: %[[I:.*]] = npu.cp.load_index %{{.*}} {npu.regs = #npu.regs<r5>}
// CHECK-NEXT: %[[N:.*]] = npu.cp.const 8 {npu.regs = #npu.regs<r6>}
// CHECK-NEXT: %[[D:.*]] = npu.cp.div %[[I]], 4 {npu.regs = #npu.regs<r5>}
// CHECK-NEXT: npu.cp.address %{{.*}}[%[[D]] : !npu.reg, %[[N]] : !npu.reg] {npu.regs = #npu.regs<r7 scratch r8>}
// CHECK: npu.cp.const 1 {npu.regs = #npu.regs<r5>}
func.func @reuse(%in: memref<8x8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%x = %in : memref<8x8xi64, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    npu.distribute %item, %iter on %ne items = 1 {
      %i = npu.cp.load_index %x[%item, %c0] : memref<8x8xi64, #npu.space<dram>>
      %n = npu.cp.const 8
      %d = npu.cp.div %i, 4
      %a = npu.cp.address %x[%d : !npu.reg, %n : !npu.reg] : memref<8x8xi64, #npu.space<dram>>
      npu.cp.check_range %a, %a <IndexOutOfRange>
      %k = npu.cp.const 1
      npu.cp.check_range %k, %k <IndexOutOfRange>
    }
  }
  return
}

// -----

// Steps of other NEs run between an NE's steps: a value used after an
// npu.end_step (or in a loop holding one) gets a register per NE for the
// whole distribute; one that dies inside its step does not. An scf.if's
// branches start from the same registers.
// CHECK-LABEL: func.func @across_steps
// CHECK: %[[P:.*]] = npu.cp.load_index {{.*}} {npu.regs = #npu.regs<r5, r6>}
// CHECK-NEXT: %[[T:.*]] = npu.cp.const 3 {npu.regs = #npu.regs<r7>}
// CHECK: npu.cp.const 4 {npu.regs = #npu.regs<r7>}
// CHECK: } else {
// CHECK-NEXT: npu.cp.const 5 {npu.regs = #npu.regs<r7>}
// CHECK: npu.cp.from_index %{{.*}} {npu.regs = #npu.regs<r7>}
func.func @across_steps(%in: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <paged_attention> ne = 2 spm = 1024 ins(%x = %in : memref<8xi64, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %c1 = arith.constant 1 : index
    npu.distribute %item, %iter on %ne items = 4 {
      %p = npu.cp.load_index %x[%item] : memref<8xi64, #npu.space<dram>>
      %t = npu.cp.const 3
      npu.cp.check_range %t, %t <IndexOutOfRange>
      %first = arith.cmpi eq, %iter, %c0 : index
      scf.if %first {
        %u = npu.cp.const 4
        npu.cp.check_range %u, %p <IndexOutOfRange>
      } else {
        %u = npu.cp.const 5
        npu.cp.check_range %u, %p <IndexOutOfRange>
      }
      npu.end_step
      scf.for %j = %c0 to %c2 step %c1 {
        %lim = npu.cp.from_index %j
        npu.cp.check_range %lim, %p <IndexOutOfRange>
        npu.end_step
      }
    }
  }
  return
}

// -----

// A branch runs once: a value whose last use is inside it is free there
// after that use (%a's r5 goes to %b in the then-branch, where %a is last
// read; at once in the else-branch, which does not read it). A loop body
// runs again: %c stays live through it, so the loop's value takes r6.
// CHECK-LABEL: func.func @branch_frees
// CHECK: %[[A:.*]] = npu.cp.const 7 {npu.regs = #npu.regs<r5>}
// CHECK: npu.cp.check_range %[[A]], %[[A]]
// CHECK-NEXT: npu.cp.const 1 {npu.regs = #npu.regs<r5>}
// CHECK: } else {
// CHECK-NEXT: npu.cp.const 2 {npu.regs = #npu.regs<r5>}
// CHECK: %[[C:.*]] = npu.cp.const 9 {npu.regs = #npu.regs<r5>}
// CHECK: scf.for
// CHECK-NEXT: npu.cp.const 3 {npu.regs = #npu.regs<r6>}
func.func @branch_frees(%in: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%x = %in : memref<8xi64, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    npu.distribute %item, %iter on %ne items = 2 {
      %a = npu.cp.const 7
      %first = arith.cmpi eq, %iter, %c0 : index
      scf.if %first {
        npu.cp.check_range %a, %a <IndexOutOfRange>
        %b = npu.cp.const 1
        npu.cp.check_range %b, %b <IndexOutOfRange>
      } else {
        %b = npu.cp.const 2
        npu.cp.check_range %b, %b <IndexOutOfRange>
      }
      %c = npu.cp.const 9
      scf.for %i = %c0 to %c2 step %c1 {
        %d = npu.cp.const 3
        npu.cp.check_range %d, %c <IndexOutOfRange>
      }
    }
  }
  return
}
